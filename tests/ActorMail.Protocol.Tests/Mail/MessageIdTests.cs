using ActorMail.Protocol.Mail;

namespace ActorMail.Protocol.Tests.Mail;

public sealed class MessageIdTests
{
    [Theory]
    [InlineData("1700000000.M123456P4242Q17.mx.test,S=1234")]
    [InlineData("1700000000.M123456P4242Q17.a\\057b\\072c,S=1")]
    [InlineData("1700000000.M1P2.dovecot-host,S=123,W=130")]
    [InlineData("0123456789abcdef0123456789abcdef01234567")]
    [InlineData("a")]
    public void Maildir_unique_names_and_hashed_uids_are_ids(string id)
    {
        Assert.True(MessageId.IsValid(id));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("../cur/x")]
    [InlineData("a/b")]
    [InlineData("a..b")]
    [InlineData(".hidden")]
    [InlineData("-a")]
    [InlineData("1700000000.M1P2.host,S=1:2,S")]
    [InlineData("a b")]
    [InlineData("a%2fb")]
    [InlineData("a\u0000")]
    [InlineData("ä")]
    public void Anything_that_could_leave_the_folder_or_is_not_a_name_is_refused(string? id)
    {
        Assert.False(MessageId.IsValid(id));
    }

    [Fact]
    public void At_most_70_characters()
    {
        Assert.True(MessageId.IsValid(new string('a', 70)));
        Assert.False(MessageId.IsValid(new string('a', 71)));
    }

    [Theory]
    [InlineData("1700000000.M123456P42Q7.host,S=10", "1700000000.M123456P42Q7.host,S=10")]
    [InlineData("1700000000.M123456P42Q7.host,S=10:2,S", "1700000000.M123456P42Q7.host,S=10")]
    public void The_uid_of_a_file_is_its_unique_part_and_a_valid_id(string fileName, string uid)
    {
        Assert.Equal(uid, MaildirName.Uid(fileName));
        Assert.True(MessageId.IsValid(MaildirName.Uid(fileName)));
    }

    [Fact]
    public void A_name_too_long_for_a_uid_becomes_40_hex_digits_that_are_a_valid_id()
    {
        var name = "1700000000.M123456P42Q7." + new string('h', 80) + ",S=10";
        var uid = MaildirName.Uid(name);
        Assert.Equal(40, uid.Length);
        Assert.True(MessageId.IsValid(uid));
        Assert.Equal(uid, MaildirName.Uid(name + ":2,S"));
    }
}
