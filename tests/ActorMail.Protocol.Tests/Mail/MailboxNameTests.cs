using ActorMail.Protocol.Mail;

namespace ActorMail.Protocol.Tests.Mail;

public class MailboxNameTests
{
    [Theory]
    [InlineData("alice")]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("bob.smith")]
    [InlineData("bob_smith")]
    [InlineData("bob-smith")]
    [InlineData("a1.b2_c3-d4")]
    [InlineData("a.")]
    public void SafeNamesAreValid(string name)
    {
        Assert.True(MailboxName.IsValid(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a..b")]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("/etc")]
    [InlineData("a\\b")]
    [InlineData("a\0b")]
    [InlineData("a\tb")]
    [InlineData("a\nb")]
    [InlineData("a\u007fb")]
    [InlineData("Alice")]
    [InlineData("aLICE")]
    [InlineData(".hidden")]
    [InlineData("-dash")]
    [InlineData("_under")]
    [InlineData("a b")]
    [InlineData("a:b")]
    [InlineData("a@b")]
    [InlineData("\u00e9")]
    [InlineData("caf\u00e9")]
    public void UnsafeNamesAreInvalid(string? name)
    {
        Assert.False(MailboxName.IsValid(name));
    }

    // A name typed at the POP3 user prompt may be a password typed there by mistake: only a name
    // that could be a mailbox reaches the log.
    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("u001", "u001")]
    [InlineData("Alice", "<invalid>")]
    [InlineData("S3cret!pass", "<invalid>")]
    [InlineData("alice bob", "<invalid>")]
    [InlineData("../etc", "<invalid>")]
    [InlineData("", "<invalid>")]
    [InlineData(null, "<invalid>")]
    public void ForLogShowsOnlyNamesThatFitTheGrammar(string? name, string logged)
    {
        Assert.Equal(logged, MailboxName.ForLog(name));
    }

    [Theory]
    [InlineData(63, true)]
    [InlineData(64, true)]
    [InlineData(65, false)]
    public void NamesUpTo64OctetsAreValid(int length, bool valid)
    {
        Assert.Equal(valid, MailboxName.IsValid(new string('m', length)));
    }
}
