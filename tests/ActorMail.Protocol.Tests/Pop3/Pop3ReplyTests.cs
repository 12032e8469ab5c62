using System.Reflection;
using ActorMail.Protocol.Pop3;

namespace ActorMail.Protocol.Tests.Pop3;

public class Pop3ReplyTests
{
    [Theory]
    [InlineData(true, "text", null, "+OK text\r\n")]
    [InlineData(false, "text", null, "-ERR text\r\n")]
    [InlineData(false, "text", "IN-USE", "-ERR [IN-USE] text\r\n")]
    [InlineData(false, "Maildrop cannot be opened now", "SYS/TEMP", "-ERR [SYS/TEMP] Maildrop cannot be opened now\r\n")]
    [InlineData(true, "", null, "+OK\r\n")]
    [InlineData(false, "", null, "-ERR\r\n")]
    [InlineData(false, "", "AUTH", "-ERR [AUTH]\r\n")]
    public void OneLineReplyRendersStatusCodeAndText(bool ok, string text, string? code, string wire)
    {
        Assert.Equal(wire, new Pop3Reply(ok, text, code).Render());
    }

    [Fact]
    public void MultiLineReplyDotStuffsEveryLineStartingWithADotAndEndsWithDotCrlf()
    {
        var reply = new Pop3Reply(true, "follows", Lines: ["a", ".b", "..", ".", "", "c.", " .d"]);

        Assert.Equal("+OK follows\r\na\r\n..b\r\n...\r\n..\r\n\r\nc.\r\n .d\r\n.\r\n", reply.Render());
    }

    [Fact]
    public void MultiLineReplyWhoseFirstLineIsADotStuffsIt()
    {
        var reply = new Pop3Reply(true, string.Empty, Lines: [".", "x"]);

        Assert.Equal("+OK\r\n..\r\nx\r\n.\r\n", reply.Render());
    }

    [Fact]
    public void MultiLineReplyWithoutLinesStillEndsWithTheDot()
    {
        Assert.Equal("+OK 0 messages (0 octets)\r\n.\r\n", new Pop3Reply(true, "0 messages (0 octets)", Lines: []).Render());
    }

    [Fact]
    public void OneLineReplyHasNoTerminatingDot()
    {
        Assert.Equal("+OK 1 10\r\n", new Pop3Reply(true, "1 10", Lines: null).Render());
    }

    [Fact]
    public void ToStringIsTheRenderingWithoutTheFinalCrlf()
    {
        Assert.Equal("-ERR [AUTH] No", new Pop3Reply(false, "No", "AUTH").ToString());
    }

    [Fact]
    public void CapabilitiesAreExactlyTheOnesTheServerImplements()
    {
        Assert.Equal(
            ["TOP", "USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "IMPLEMENTATION ActorMail"],
            Pop3Replies.Capabilities);
    }

    [Fact]
    public void CapaRendersTheCapabilitiesAsAMultiLineReply()
    {
        Assert.Equal(
            "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION ActorMail\r\n.\r\n",
            Pop3Replies.Capa.Render());
    }

    public static TheoryData<string, Pop3Reply, string> Replies => new()
    {
        { "Greeting", Pop3Replies.Greeting, "+OK ActorMail POP3 server ready\r\n" },
        { "UserAccepted", Pop3Replies.UserAccepted, "+OK Send PASS\r\n" },
        { "SignOff", Pop3Replies.SignOff, "+OK ActorMail POP3 server signing off\r\n" },
        { "Noop", Pop3Replies.Noop, "+OK\r\n" },
        { "AuthFailed", Pop3Replies.AuthFailed, "-ERR [AUTH] Invalid user name or password\r\n" },
        { "TooManyAuthFailures", Pop3Replies.TooManyAuthFailures, "-ERR [AUTH] Too many failed sign-ins, closing connection\r\n" },
        { "InUse", Pop3Replies.InUse, "-ERR [IN-USE] Maildrop is in use by another session\r\n" },
        { "MaildropUnavailable", Pop3Replies.MaildropUnavailable, "-ERR [SYS/TEMP] Maildrop cannot be opened now\r\n" },
        { "CommitFailed", Pop3Replies.CommitFailed, "-ERR [SYS/TEMP] Some deleted messages were not removed\r\n" },
        { "TooManyConnections", Pop3Replies.TooManyConnections, "-ERR [SYS/TEMP] Too many connections, try again later\r\n" },
        { "ShuttingDown", Pop3Replies.ShuttingDown, "-ERR [SYS/TEMP] Server shutting down, closing connection\r\n" },
        { "IdleTimeout", Pop3Replies.IdleTimeout, "-ERR Idle timeout, closing connection\r\n" },
        { "TooManyErrors", Pop3Replies.TooManyErrors, "-ERR Too many errors, closing connection\r\n" },
        { "NeedUser", Pop3Replies.NeedUser, "-ERR Send USER first\r\n" },
        { "NoSuchMessage", Pop3Replies.NoSuchMessage, "-ERR No such message\r\n" },
        { "AlreadyDeleted", Pop3Replies.AlreadyDeleted(2), "-ERR Message 2 already deleted\r\n" },
        { "WrongState", Pop3Replies.WrongState("RETR", "AUTHORIZATION"), "-ERR RETR not allowed in the AUTHORIZATION state\r\n" },
        { "Opened", Pop3Replies.Opened(3, 60), "+OK Maildrop has 3 messages (60 octets)\r\n" },
        { "Stat", Pop3Replies.Stat(3, 60), "+OK 3 60\r\n" },
        { "ListOne", Pop3Replies.ListOne(2, 20), "+OK 2 20\r\n" },
        { "ListAll", Pop3Replies.ListAll(2, 30), "+OK 2 messages (30 octets)\r\n" },
        { "UidlOne", Pop3Replies.UidlOne(3, "u3"), "+OK 3 u3\r\n" },
        { "UidlAll", Pop3Replies.UidlAll, "+OK Unique-id listing follows\r\n" },
        { "Deleted", Pop3Replies.Deleted(1), "+OK Message 1 deleted\r\n" },
        { "Retr", Pop3Replies.Retr(10), "+OK 10 octets\r\n" },
        { "Top", Pop3Replies.Top, "+OK Top of message follows\r\n" },
        { "SignOffAfterUpdate", Pop3Replies.SignOffAfterUpdate(1), "+OK ActorMail POP3 server signing off (1 messages left)\r\n" },
    };

    [Theory]
    [MemberData(nameof(Replies))]
    public void EveryReplyRendersAsOnTheWire(string name, Pop3Reply reply, string wire)
    {
        Assert.True(wire == reply.Render(), $"{name}: expected {wire.TrimEnd()}, got {reply}");
    }

    [Fact]
    public void OnlyErrorsCarryAResponseCodeAndOnlyCodesFromRfc2449And3206()
    {
        string[] known = ["IN-USE", "LOGIN-DELAY", "SYS/TEMP", "SYS/PERM", "AUTH"];
        var replies = typeof(Pop3Replies).GetProperties(BindingFlags.Public | BindingFlags.Static)
            .Where(p => p.PropertyType == typeof(Pop3Reply))
            .Select(p => (p.Name, Reply: (Pop3Reply)p.GetValue(null)!))
            .ToList();

        Assert.NotEmpty(replies);
        foreach (var (name, reply) in replies)
        {
            Assert.True(reply.Code is null || (!reply.Ok && known.Contains(reply.Code)), $"{name}: {reply}");
            Assert.True(!reply.Text.Contains('\r') && !reply.Text.Contains('\n'), name);
        }
    }
}
