using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Store;

namespace ActorMail.Protocol.Tests.Store;

public class MaildropTests
{
    private static DropMessage Delivered(int i, string folder = "new/") =>
        new($"{folder}{1_700_000_000 + i}.M{i:D6}P42Q{i}.host,S={100 + i}", $"{1_700_000_000 + i}.M{i:D6}P42Q{i}.host,S={100 + i}", 100 + i);

    public static TheoryData<DropMessage> Entries => new()
    {
        Delivered(1),
        new DropMessage("cur/1700000001.M000001P42Q1.host,S=120:2,S", "1700000001.M000001P42Q1.host,S=120", 120),
        // A UID made from a hash shares nothing with the name.
        new DropMessage("new/" + new string('h', 80), MaildirName.Uid(new string('h', 80)), 7),
        // A name that is not ASCII, with its UID hashed.
        new DropMessage("new/1700000002.M000002P42Q2.hôte,S=9", MaildirName.Uid("1700000002.M000002P42Q2.hôte,S=9"), 9),
        new DropMessage("bare-name", "bare-name", 0),
    };

    [Theory]
    [MemberData(nameof(Entries))]
    public void AMessageComesBackAsItWasAdded(DropMessage message)
    {
        Maildrop drop = [Delivered(0), message, Delivered(2)];

        Assert.Equal(message, drop[1]);
        Assert.Equal(message.FileName, drop.FileNameOf(1));
        Assert.Equal(message.Uid, drop.UidOf(1));
        Assert.Equal(message.Uid, System.Text.Encoding.ASCII.GetString(drop.UidBytes(1)));
        Assert.Equal(message.Size, drop.SizeOf(1));
        Assert.Equal([Delivered(0), message, Delivered(2)], drop.ToList());
    }

    [Fact]
    public void CountAndOctetsCoverEveryMessage()
    {
        var messages = Enumerable.Range(0, 10).Select(i => Delivered(i)).ToList();

        var drop = Maildrop.Of(messages);

        Assert.Equal(10, drop.Count);
        Assert.Equal(messages.Sum(m => m.Size), drop.Octets);
    }

    [Fact]
    public void AnEmptyListingHasNoMessage()
    {
        Assert.Same(Maildrop.Empty, Maildrop.Of([]));
        Assert.Equal(0, Maildrop.Empty.Octets);
        Assert.Empty(Maildrop.Empty);
    }

    [Fact]
    public void NamesThatFillManyBlocksComeBackWhole()
    {
        // About 50 octets a name: 5,000 names take four 64 KiB blocks, so some names meet a block's end.
        var messages = Enumerable.Range(0, 5000).Select(i => Delivered(i, i % 3 == 0 ? "cur/" : "new/")).ToList();

        var drop = Maildrop.Of(messages);

        Assert.Equal(messages, drop.ToList());
    }

    [Theory]
    [InlineData("")]
    [InlineData("uid with spaces ünd more")]
    public void AUidOutsideRfc1939IsRefused(string uid)
    {
        Assert.Throws<ArgumentException>(() => Maildrop.Of([new DropMessage("new/x", uid, 1)]));
    }

    [Fact]
    public void AUidOfSeventyOneCharactersIsRefused()
    {
        Assert.Throws<ArgumentException>(() => Maildrop.Of([new DropMessage("new/x", new string('u', 71), 1)]));
    }

    [Fact]
    public void AFileAddedByItsNameGetsTheUidMaildirNameGivesIt()
    {
        var builder = new Maildrop.Builder();
        var longName = new string('h', 80) + ",S=5";
        builder.AddFile("new/", "1700000000.M000001P1Q1.h,S=5", 5);
        builder.AddFile("cur/", "1700000000.M000002P1Q2.h,S=5:2,S", 5);
        builder.AddFile("new/", longName, 5);
        builder.AddFile("new/", "1700000000.M000003P1Q3.hôte,S=5", 5);

        var drop = builder.Build();

        Assert.Equal(
            ["1700000000.M000001P1Q1.h,S=5", "1700000000.M000002P1Q2.h,S=5", MaildirName.Uid(longName), MaildirName.Uid("1700000000.M000003P1Q3.hôte,S=5")],
            Enumerable.Range(0, drop.Count).Select(drop.UidOf));
        Assert.Equal("cur/1700000000.M000002P1Q2.h,S=5:2,S", drop.FileNameOf(1));
        Assert.Equal("new/1700000000.M000003P1Q3.hôte,S=5", drop.FileNameOf(3));
    }

    // Delivery order: the unique part first (so cur/'s flags do not move a message), then the
    // whole name, and new/ before cur/ for the same name.
    [Fact]
    public void AnOrderedListingIsInDeliveryOrder()
    {
        var builder = new Maildrop.Builder();
        builder.AddFile("cur/", "1700000002.M1P1Q3.h:2,S", 1);
        builder.AddFile("new/", "1700000001.M1P1Q2.h", 1);
        builder.AddFile("cur/", "1700000001.M1P1Q1.h:2,", 1);
        builder.AddFile("cur/", "1700000001.M1P1Q2.h", 1);
        builder.AddFile("new/", "1700000001.M1P1Q1.h,S=1", 1);

        var drop = builder.Build(ordered: true);

        Assert.Equal(
            ["cur/1700000001.M1P1Q1.h:2,", "new/1700000001.M1P1Q1.h,S=1", "new/1700000001.M1P1Q2.h", "cur/1700000001.M1P1Q2.h", "cur/1700000002.M1P1Q3.h:2,S"],
            Enumerable.Range(0, drop.Count).Select(drop.FileNameOf));
    }
}
