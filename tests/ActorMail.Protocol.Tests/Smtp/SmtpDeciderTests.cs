using ActorMail.Protocol.Store;
using System.Net;
using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Smtp;

namespace ActorMail.Protocol.Tests.Smtp;

public class SmtpDeciderTests
{
    private const long MaxSize = 1000;
    private const string TooLong = "(a command line over the limit)";
    private const string Malformed = "NOOP \u0001";

    private const SmtpState G = SmtpState.Greeted;
    private const SmtpState R = SmtpState.Ready;
    private const SmtpState M = SmtpState.MailGiven;
    private const SmtpState T = SmtpState.RcptGiven;

    private static SmtpPolicy Policy(int maxBadCommands = 10, int maxRecipients = 3, int maxRefusedRecipients = 100, int maxJunkCommands = 100, params string[] users) => new(
        Hostname: "mx.test",
        MaxMessageSize: MaxSize,
        MaxRecipients: maxRecipients,
        MaxBadCommands: maxBadCommands,
        MaxRefusedRecipients: maxRefusedRecipients,
        MaxJunkCommands: maxJunkCommands,
        LocalDomains: new HashSet<string> { "localhost", "example.test" },
        LocalAddresses: new HashSet<IPAddress> { IPAddress.Parse("127.0.0.1"), IPAddress.IPv6Loopback },
        Users: new HashSet<string>(users.Length > 0 ? users : ["alice", "bob", "carol"]),
        PostmasterMailbox: "root");

    private static SmtpDecision Send(SmtpPolicy policy, SmtpDecision at, string line) =>
        line == TooLong
            ? SmtpDecider.LineTooLong(policy, at.State, at.Data)
            : SmtpDecider.Decide(policy, at.State, at.Data, SmtpParser.Parse(Ascii.Bytes(line)));

    private static SmtpDecision Send(SmtpPolicy policy, SmtpDecision at, params string[] lines) =>
        lines.Aggregate(at, (step, line) => Send(policy, step, line));

    private static readonly string[] PathToRcptGiven = ["EHLO client.test", "MAIL FROM:<sender@remote.test>", "RCPT TO:<alice@localhost>"];

    // Walks a fresh session to the given state with commands that must all succeed.
    private static SmtpDecision Reach(SmtpPolicy policy, SmtpState state)
    {
        var steps = state switch
        {
            G => 0,
            R => 1,
            M => 2,
            T => 3,
            _ => throw new ArgumentOutOfRangeException(nameof(state)),
        };
        var at = SmtpDecider.Connect(policy);
        foreach (var line in PathToRcptGiven.Take(steps))
        {
            at = Send(policy, at, line);
            Assert.False(at.Replies[^1].IsError, $"{line}: {at.Replies[^1]}");
        }

        Assert.Equal(state, at.State);
        return at;
    }

    private static void AssertReply(SmtpDecision decision, int code, string enhanced)
    {
        var reply = Assert.Single(decision.Replies);
        Assert.Equal((code, enhanced), (reply.Code, reply.Enhanced));
    }

    // Every verb (plus an unknown one, a malformed line and an over-long line) in every state
    // a command can arrive in: the reply code, enhanced code, next state and effect.
    // The commands RFC 5321 and its extensions name that this server does not implement (RFC 5321 §4.2.4: 502).
    private static readonly string[] NotImplemented = ["EXPN staff", "STARTTLS", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "BDAT 10 LAST", "TURN", "ETRN example.test"];

    public static TheoryData<SmtpState, string, int, string, SmtpState, SmtpEffect?> EveryCommandInEveryState
    {
        get
        {
            var rows = CommandsWithTheirOwnReply;
            foreach (var line in NotImplemented)
            {
                foreach (var state in new[] { G, R, M, T })
                {
                    rows.Add(state, line, 502, "5.5.1", state, null);
                }
            }

            return rows;
        }
    }

    private static TheoryData<SmtpState, string, int, string, SmtpState, SmtpEffect?> CommandsWithTheirOwnReply => new()
    {
        { G, "HELO client.test", 250, "", R, null },
        { R, "HELO client.test", 250, "", R, null },
        { M, "HELO client.test", 250, "", R, null },
        { T, "HELO client.test", 250, "", R, null },

        { G, "EHLO client.test", 250, "", R, null },
        { R, "EHLO client.test", 250, "", R, null },
        { M, "EHLO client.test", 250, "", R, null },
        { T, "EHLO client.test", 250, "", R, null },

        { G, "MAIL FROM:<x@remote.test>", 503, "5.5.1", G, null },
        { R, "MAIL FROM:<x@remote.test>", 250, "2.1.0", M, null },
        { M, "MAIL FROM:<x@remote.test>", 503, "5.5.1", M, null },
        { T, "MAIL FROM:<x@remote.test>", 503, "5.5.1", T, null },

        { G, "RCPT TO:<bob@localhost>", 503, "5.5.1", G, null },
        { R, "RCPT TO:<bob@localhost>", 503, "5.5.1", R, null },
        { M, "RCPT TO:<bob@localhost>", 250, "2.1.5", T, null },
        { T, "RCPT TO:<bob@localhost>", 250, "2.1.5", T, null },

        { G, "DATA", 503, "5.5.1", G, null },
        { R, "DATA", 503, "5.5.1", R, null },
        { M, "DATA", 503, "5.5.1", M, null },
        { T, "DATA", 354, "", SmtpState.ReceivingData, new SmtpEffect.BeginData() },

        { G, "RSET", 250, "2.0.0", G, null },
        { R, "RSET", 250, "2.0.0", R, null },
        { M, "RSET", 250, "2.0.0", R, null },
        { T, "RSET", 250, "2.0.0", R, null },

        { G, "NOOP", 250, "2.0.0", G, null },
        { R, "NOOP", 250, "2.0.0", R, null },
        { M, "NOOP", 250, "2.0.0", M, null },
        { T, "NOOP", 250, "2.0.0", T, null },

        { G, "VRFY bob", 252, "2.5.0", G, null },
        { R, "VRFY bob", 252, "2.5.0", R, null },
        { M, "VRFY bob", 252, "2.5.0", M, null },
        { T, "VRFY bob", 252, "2.5.0", T, null },

        { G, "HELP", 214, "2.0.0", G, null },
        { R, "HELP", 214, "2.0.0", R, null },
        { M, "HELP", 214, "2.0.0", M, null },
        { T, "HELP", 214, "2.0.0", T, null },

        { G, "QUIT", 221, "2.0.0", SmtpState.Closed, null },
        { R, "QUIT", 221, "2.0.0", SmtpState.Closed, null },
        { M, "QUIT", 221, "2.0.0", SmtpState.Closed, null },
        { T, "QUIT", 221, "2.0.0", SmtpState.Closed, null },

        { G, "FROB", 500, "5.5.2", G, null },
        { R, "FROB", 500, "5.5.2", R, null },
        { M, "FROB", 500, "5.5.2", M, null },
        { T, "FROB", 500, "5.5.2", T, null },

        { G, Malformed, 500, "5.5.2", G, null },
        { R, Malformed, 500, "5.5.2", R, null },
        { M, Malformed, 500, "5.5.2", M, null },
        { T, Malformed, 500, "5.5.2", T, null },

        { G, TooLong, 500, "5.5.6", G, null },
        { R, TooLong, 500, "5.5.6", R, null },
        { M, TooLong, 500, "5.5.6", M, null },
        { T, TooLong, 500, "5.5.6", T, null },
    };

    [Theory]
    [MemberData(nameof(EveryCommandInEveryState))]
    public void EveryCommandInEveryStateGivesTheExpectedReplyStateAndEffect(
        SmtpState state, string line, int code, string enhanced, SmtpState next, SmtpEffect? effect)
    {
        var policy = Policy();
        var at = Reach(policy, state);

        var decision = Send(policy, at, line);

        AssertReply(decision, code, enhanced);
        Assert.Equal(next, decision.State);
        Assert.Equal(effect, decision.Effect);
        Assert.Equal(at.Data.BadCommands + (code >= 400 ? 1 : 0), decision.Data.BadCommands);
    }

    [Fact]
    public void TheTableCoversEveryVerbMalformedAndTooLongInEveryState()
    {
        var rows = EveryCommandInEveryState.Select(row => ((SmtpState)row[0], (string)row[1])).ToList();
        SmtpState[] states = [G, R, M, T];

        foreach (var state in states)
        {
            var lines = rows.Where(r => r.Item1 == state).Select(r => r.Item2).ToList();
            var verbs = lines.Where(l => l != TooLong).Select(l => SmtpParser.Parse(Ascii.Bytes(l)))
                .Where(c => c.Malformed is null).Select(c => c.Verb).ToHashSet();
            Assert.True(verbs.SetEquals(Enum.GetValues<SmtpVerb>()), $"{state}: missing {string.Join(',', Enum.GetValues<SmtpVerb>().Except(verbs))}");
            Assert.Contains(Malformed, lines);
            Assert.Contains(TooLong, lines);
        }
    }

    [Theory]
    [InlineData("EXPN staff", "502 5.5.1 EXPN not implemented")]
    [InlineData("starttls", "502 5.5.1 STARTTLS not implemented")]
    [InlineData("AUTH LOGIN", "502 5.5.1 AUTH not implemented")]
    [InlineData("BDAT 0 LAST", "502 5.5.1 BDAT not implemented")]
    [InlineData("TURN", "502 5.5.1 TURN not implemented")]
    [InlineData("ETRN example.test", "502 5.5.1 ETRN not implemented")]
    public void KnownCommandsThatAreNotImplementedGet502AndTheirName(string line, string reply)
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, R), line);

        Assert.Equal(reply, Assert.Single(decision.Replies).ToString());
    }

    [Fact]
    public void ConnectGreetsWithoutEnhancedCode()
    {
        var decision = SmtpDecider.Connect(Policy());

        Assert.Equal(SmtpState.Greeted, decision.State);
        Assert.Null(decision.Effect);
        Assert.Equal(SmtpConversation.Start, decision.Data);
        Assert.Equal("220 mx.test ESMTP ActorMail ready\r\n", Assert.Single(decision.Replies).Render());
    }

    [Theory]
    [InlineData("HELO")]
    [InlineData("EHLO")]
    [InlineData("HELO   ")]
    [InlineData("EHLO two words")]
    [InlineData("HELO two words")]
    public void HelloNeedsExactlyOneArgument(string line)
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, G), line);

        AssertReply(decision, 501, "5.5.4");
        Assert.Equal(G, decision.State);
        Assert.Null(decision.Data.ClientName);
    }

    [Fact]
    public void EhloListsTheExtensionsAndMarksTheSessionExtended()
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, G), "EHLO client.test");

        var reply = Assert.Single(decision.Replies);
        Assert.Equal(250, reply.Code);
        Assert.Equal(string.Empty, reply.Enhanced);
        Assert.Equal(["mx.test greets client.test", "PIPELINING", $"SIZE {MaxSize}", "8BITMIME", "ENHANCEDSTATUSCODES", "HELP"], reply.Lines);
        Assert.True(decision.Data.Extended);
        Assert.Equal("client.test", decision.Data.ClientName);
    }

    [Fact]
    public void HeloAnswersOneLineAndLeavesTheSessionNotExtended()
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, G), "HELO client.test");

        Assert.Equal("250 mx.test greets client.test\r\n", Assert.Single(decision.Replies).Render());
        Assert.False(decision.Data.Extended);
        Assert.Equal("client.test", decision.Data.ClientName);
    }

    [Fact]
    public void HelloInTheMiddleOfATransactionClearsIt()
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, T), "HELO other.test");

        Assert.Null(decision.Data.Mail);
        Assert.Empty(decision.Data.Recipients);
        Assert.Equal("other.test", decision.Data.ClientName);
    }

    [Theory]
    [InlineData("MAIL FROM:<s@remote.test> SIZE=1000", 250, "2.1.0", M)]
    [InlineData("MAIL FROM:<s@remote.test> SIZE=999", 250, "2.1.0", M)]
    [InlineData("MAIL FROM:<s@remote.test> SIZE=1001", 552, "5.3.4", R)]
    [InlineData("MAIL FROM:<s@remote.test> SIZE=99999999999", 552, "5.3.4", R)]
    [InlineData("MAIL FROM:<s@remote.test> SIZE=99999999999999999999", 552, "5.3.4", R)]
    public void MailWithDeclaredSizeIsRefusedOnlyOverTheLimitAndNotCountedAsBad(string line, int code, string enhanced, SmtpState next)
    {
        var policy = Policy(maxBadCommands: 1);

        var decision = Send(policy, Reach(policy, R), line);

        AssertReply(decision, code, enhanced);
        Assert.Equal(next, decision.State);
        Assert.Equal(0, decision.Data.BadCommands);
        Assert.Null(decision.Effect);
    }

    [Fact]
    public void MailKeepsTheSenderSizeAndBody()
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, R), "MAIL FROM:<Sender@Remote.test> SIZE=512 BODY=8BITMIME");

        Assert.Equal(new MailFromArgs(new("Sender", "Remote.test"), 512, true), decision.Data.Mail);
    }

    [Fact]
    public void MailAcceptsTheNullReversePath()
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, R), "MAIL FROM:<>");

        AssertReply(decision, 250, "2.1.0");
        Assert.True(decision.Data.Mail!.From.IsNull);
    }

    [Theory]
    [InlineData("MAIL FROM:<s@remote.test> SIZE=10")]
    [InlineData("MAIL FROM:<s@remote.test> BODY=8BITMIME")]
    public void MailParametersAfterHeloAreRefused(string line)
    {
        var policy = Policy();
        var helo = Send(policy, Reach(policy, G), "HELO client.test");

        var decision = Send(policy, helo, line);

        AssertReply(decision, 501, "5.5.4");
        Assert.Equal(R, decision.State);
        Assert.Null(decision.Data.Mail);
    }

    [Theory]
    [InlineData("MAIL FROM:s@remote.test", 501, "5.5.4")]
    [InlineData("MAIL TO:<s@remote.test>", 501, "5.5.4")]
    [InlineData("MAIL", 501, "5.5.4")]
    [InlineData("MAIL FROM:<s@@remote.test>", 501, "5.1.7")]
    [InlineData("MAIL FROM:<s@remote..test>", 501, "5.1.7")]
    [InlineData("MAIL FROM:<s@remote.test> SIZE=ten", 501, "5.5.4")]
    [InlineData("MAIL FROM:<s@remote.test> SIZE=999999999999999999999", 501, "5.5.4")]
    [InlineData("MAIL FROM:<s@remote.test> BODY=BINARYMIME", 555, "5.5.4")]
    [InlineData("MAIL FROM:<s@remote.test> SMTPUTF8", 555, "5.5.4")]
    public void BadMailCommandsAreRefusedAndCounted(string line, int code, string enhanced)
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, R), line);

        AssertReply(decision, code, enhanced);
        Assert.Equal(R, decision.State);
        Assert.Equal(1, decision.Data.BadCommands);
    }

    // RFC 6531 §3.7.4.1: without SMTPUTF8 an address with non-ASCII octets is refused 553 5.6.7, not
    // as a syntax error; the client is not at fault, so it is not a bad command.
    [Theory]
    [InlineData(R, "MAIL FROM:<j\u00f6rg@remote.test>", 553, "5.6.7", R)]
    [InlineData(R, "MAIL FROM:<\u00c3\u00b6@remote.test> SIZE=10", 553, "5.6.7", R)]
    [InlineData(M, "RCPT TO:<j\u00f6rg@localhost>", 553, "5.6.7", M)]
    [InlineData(T, "RCPT TO:<alice@l\u00f6calhost>", 553, "5.6.7", T)]
    public void NonAsciiAddressGets553AndIsNotABadCommand(SmtpState state, string line, int code, string enhanced, SmtpState next)
    {
        var policy = Policy(maxBadCommands: 1);
        var at = Reach(policy, state);

        var decision = Send(policy, at, line);

        AssertReply(decision, code, enhanced);
        Assert.Equal(next, decision.State);
        Assert.Equal(0, decision.Data.BadCommands);
        Assert.Equal(at.Data.Recipients, decision.Data.Recipients);
    }

    [Theory]
    [InlineData(G, "MAIL FROM:<j\u00f6rg@remote.test>", 503, "5.5.1")]
    [InlineData(R, "RCPT TO:<j\u00f6rg@localhost>", 503, "5.5.1")]
    [InlineData(R, "MAIL FROM:j\u00f6rg@remote.test", 501, "5.5.4")]
    [InlineData(R, "MAIL FROM:<a@remote.test> X=\u00e9", 555, "5.5.4")]
    [InlineData(R, "MAIL FROM:<a@remote.test> SIZE=1\u00e9", 501, "5.5.4")]
    [InlineData(M, "RCPT TO:<a@localhost> X=\u00e9", 555, "5.5.4")]
    public void EightBitOctetsOutsideAWellPlacedAddressAreTheClientsMistake(SmtpState state, string line, int code, string enhanced)
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, state), line);

        AssertReply(decision, code, enhanced);
        Assert.Equal(1, decision.Data.BadCommands);
    }

    [Theory]
    [InlineData("RCPT TO:<alice@localhost>", 250, "2.1.5", "alice")]
    [InlineData("RCPT TO: <bob@example.test>", 250, "2.1.5", "bob")]
    [InlineData("RCPT TO:<ALICE@Example.TEST>", 250, "2.1.5", "alice")]
    [InlineData("RCPT TO:<Carol@LOCALHOST>", 250, "2.1.5", "carol")]
    [InlineData("RCPT TO:<@relay.test:alice@localhost>", 250, "2.1.5", "alice")]
    [InlineData("RCPT TO:<Postmaster>", 250, "2.1.5", "root")]
    [InlineData("RCPT TO:<postmaster@localhost>", 250, "2.1.5", "root")]
    [InlineData("RCPT TO:<PostMaster@example.test>", 250, "2.1.5", "root")]
    [InlineData("RCPT TO:<dave@localhost>", 550, "5.1.1", null)]
    [InlineData("RCPT TO:<root@localhost>", 550, "5.1.1", null)]
    [InlineData("RCPT TO:<a/b@localhost>", 550, "5.1.1", null)]
    [InlineData("RCPT TO:<\"../etc\"@localhost>", 550, "5.1.1", null)]
    [InlineData("RCPT TO:<\"alice\"@localhost>", 250, "2.1.5", "alice")]
    [InlineData("RCPT TO:<\"Bob\"@localhost>", 250, "2.1.5", "bob")]
    [InlineData("RCPT TO:<\"ca\\rol\"@localhost>", 250, "2.1.5", "carol")]
    [InlineData("RCPT TO:<\"postmaster\"@localhost>", 250, "2.1.5", "root")]
    [InlineData("RCPT TO:<\"alice \"@localhost>", 550, "5.1.1", null)]
    [InlineData("RCPT TO:<alice@elsewhere.test>", 550, "5.7.1", null)]
    [InlineData("RCPT TO:<postmaster@elsewhere.test>", 550, "5.7.1", null)]
    [InlineData("RCPT TO:<alice@[127.0.0.1]>", 250, "2.1.5", "alice")]
    [InlineData("RCPT TO:<Bob@[IPv6:::1]>", 250, "2.1.5", "bob")]
    [InlineData("RCPT TO:<carol@[IPv6:::ffff:127.0.0.1]>", 250, "2.1.5", "carol")]
    [InlineData("RCPT TO:<postmaster@[127.0.0.1]>", 250, "2.1.5", "root")]
    [InlineData("RCPT TO:<dave@[127.0.0.1]>", 550, "5.1.1", null)]
    [InlineData("RCPT TO:<alice@[127.0.0.2]>", 550, "5.7.1", null)]
    [InlineData("RCPT TO:<alice@[127.1]>", 550, "5.7.1", null)]
    [InlineData("RCPT TO:<alice@[192.0.2.1]>", 550, "5.7.1", null)]
    [InlineData("RCPT TO:<alice@[tag:127.0.0.1]>", 550, "5.7.1", null)]
    [InlineData("RCPT TO:<alice@localhost.>", 501, "5.1.3", null)]
    [InlineData("RCPT TO:<../etc@localhost>", 501, "5.1.3", null)]
    [InlineData("RCPT TO:<>", 501, "5.1.3", null)]
    [InlineData("RCPT TO:alice@localhost", 501, "5.5.4", null)]
    [InlineData("RCPT FROM:<alice@localhost>", 501, "5.5.4", null)]
    [InlineData("RCPT TO:<alice@localhost> NOTIFY=NEVER", 555, "5.5.4", null)]
    public void RcptIsRoutedToALocalMailboxOrRefused(string line, int code, string enhanced, string? mailbox)
    {
        var policy = Policy();
        var at = Reach(policy, M);

        var decision = Send(policy, at, line);

        AssertReply(decision, code, enhanced);
        if (mailbox is null)
        {
            Assert.Equal(M, decision.State);
            Assert.Empty(decision.Data.Recipients);
            Assert.Equal(code == 501 || code == 555 ? (1, 0) : (0, 1), (decision.Data.BadCommands, decision.Data.RefusedRecipients));
        }
        else
        {
            Assert.Equal(T, decision.State);
            Assert.Equal(mailbox, Assert.Single(decision.Data.Recipients).Mailbox);
        }
    }

    [Theory]
    [InlineData("RCPT TO:<a/b@localhost>")]
    [InlineData("RCPT TO:<\"../etc\"@localhost>")]
    [InlineData("RCPT TO:<\"a\\\\b\"@localhost>")]
    [InlineData("RCPT TO:<.hidden@localhost>")]
    public void UnsafeLocalPartIsNeverAMailboxEvenIfTheUserListNamesIt(string line)
    {
        var policy = Policy(users: ["a/b", "../etc", "\"../etc\"", "a\\b", "\"a\\\\b\"", ".hidden"]);

        var decision = Send(policy, Reach(policy, M), line);

        Assert.True(decision.Replies[0].IsError);
        Assert.Equal(5, decision.Replies[0].Code / 100);
        Assert.Empty(decision.Data.Recipients);
    }

    [Fact]
    public void RecipientOverTheLimitGets452AndIsNotABadCommand()
    {
        var policy = Policy(maxBadCommands: 1, maxRecipients: 2);
        var at = Reach(policy, M);
        at = Send(policy, at, "RCPT TO:<alice@localhost>");
        at = Send(policy, at, "RCPT TO:<bob@localhost>");
        Assert.Equal(2, at.Data.Recipients.Count);

        var decision = Send(policy, at, "RCPT TO:<carol@localhost>");

        AssertReply(decision, 452, "4.5.3");
        Assert.Equal(T, decision.State);
        Assert.Null(decision.Effect);
        Assert.Equal(0, decision.Data.BadCommands);
        Assert.Equal(["alice", "bob"], decision.Data.Recipients.Select(r => r.Mailbox));
    }

    // A refused recipient is the server's policy, not the client's mistake: it has its own, larger
    // budget per session; the last one allowed gets its reply, then 421 4.7.0 and the close.
    [Theory]
    [InlineData("RCPT TO:<dave@localhost>", 550, "5.1.1")]
    [InlineData("RCPT TO:<alice@elsewhere.test>", 550, "5.7.1")]
    [InlineData("RCPT TO:<j\u00f6rg@localhost>", 553, "5.6.7")]
    public void RefusedRecipientsAreNotBadCommandsAndHaveTheirOwnLimit(string refused, int code, string enhanced)
    {
        var policy = Policy(maxBadCommands: 1, maxRefusedRecipients: 3);
        var at = Reach(policy, M);

        for (var n = 1; n < 3; n++)
        {
            at = Send(policy, at, refused);
            AssertReply(at, code, enhanced);
            Assert.Equal((M, 0, n), (at.State, at.Data.BadCommands, at.Data.RefusedRecipients));
        }

        var last = Send(policy, at, refused);

        Assert.Equal([$"{code} {enhanced}", "421 4.7.0"], last.Replies.Select(r => $"{r.Code} {r.Enhanced}"));
        Assert.Equal(3, last.Data.RefusedRecipients);
        AssertEnds(last);
    }

    // A refused recipient or relay attempt is one Information line in the session's log: the
    // address as given and the reply, nothing of the message.
    [Theory]
    [InlineData("RCPT TO:<dave@localhost>", "Recipient <dave@localhost> refused: 550 5.1.1 No such user here")]
    [InlineData("RCPT TO:<Alice@elsewhere.test>", "Recipient <Alice@elsewhere.test> refused: 550 5.7.1 Relaying denied")]
    [InlineData("RCPT TO:<@relay.test:victim@elsewhere.test>", "Recipient <victim@elsewhere.test> refused: 550 5.7.1 Relaying denied")]
    [InlineData("RCPT TO:<j\u00f6rg@localhost>", "Recipient <j?rg@localhost> refused: 553 5.6.7 Address must be ASCII: SMTPUTF8 is not offered")]
    public void ARefusedRecipientCarriesANoteWithTheAddressAndTheReply(string line, string note)
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, M), line);

        Assert.Equal([note], decision.Notes.Select(n => n.ToString()));
    }

    [Theory]
    [InlineData("RCPT TO:<alice@localhost>")]
    [InlineData("RCPT TO:alice@localhost")]
    [InlineData("RCPT TO:<alice@localhost> NOTIFY=NEVER")]
    [InlineData("NOOP")]
    public void OtherRecipientsAndCommandsCarryNoNote(string line)
    {
        var policy = Policy();

        Assert.Empty(Send(policy, Reach(policy, M), line).Notes);
    }

    [Theory]
    [InlineData(1, 100, 100, "FROB", "Closing after 1 bad commands")]
    [InlineData(10, 1, 100, "RCPT TO:<dave@localhost>", "Closing after 1 refused recipients")]
    [InlineData(10, 100, 1, "NOOP", "Closing after 1 commands that do no work")]
    public void ALimitThatClosesTheSessionIsNoted(int maxBad, int maxRefused, int maxJunk, string line, string closing)
    {
        var policy = Policy(maxBadCommands: maxBad, maxRefusedRecipients: maxRefused, maxJunkCommands: maxJunk);

        var decision = Send(policy, Reach(policy, M), line);

        Assert.Equal(SmtpState.Closed, decision.State);
        Assert.Equal(closing, decision.Notes[^1].ToString());
    }

    [Fact]
    public void ARelayDeliveringToTwoUsersAndElevenGoneOnesReachesData()
    {
        var policy = Policy(maxRecipients: 100);
        var at = Send(policy, Reach(policy, R), "EHLO relay.test", "MAIL FROM:<list@remote.test> SIZE=500 BODY=8BITMIME", "RCPT TO:<alice@localhost>", "RCPT TO:<bob@localhost>");
        for (var i = 0; i < 11; i++)
        {
            at = Send(policy, at, $"RCPT TO:<gone{i}@localhost>");
            AssertReply(at, 550, "5.1.1");
        }

        var data = Send(policy, at, "DATA");

        AssertReply(data, 354, "");
        Assert.Equal(["alice", "bob"], data.Data.Recipients.Select(r => r.Mailbox));
        Assert.Equal((0, 11), (data.Data.BadCommands, data.Data.RefusedRecipients));
    }

    [Fact]
    public void ADeliveredMessageResetsTheBadCommandCountButNotTheRefusedRecipients()
    {
        var policy = Policy(maxBadCommands: 3);
        var at = Send(policy, Reach(policy, R), "FROB", "FROB", "MAIL FROM:<s@remote.test>", "RCPT TO:<dave@localhost>", "RCPT TO:<alice@localhost>", "DATA");
        Assert.Equal((2, 1), (at.Data.BadCommands, at.Data.RefusedRecipients));

        var stored = SmtpDecider.Stored(SmtpDecider.DataEnded(policy, at.Data, new DataOutcome(10, false, false, false)).Data, "Q1");

        Assert.Equal((0, 1), (stored.Data.BadCommands, stored.Data.RefusedRecipients));
        var two = Send(policy, stored, "FROB", "FROB");
        Assert.Equal((R, 2), (two.State, two.Data.BadCommands));
        Assert.Equal(SmtpState.Closed, Send(policy, two, "FROB").State);
    }

    [Theory]
    [InlineData(StoreFailure.Error)]
    [InlineData(StoreFailure.Full)]
    public void AMessageNotStoredResetsNothing(StoreFailure failure)
    {
        var policy = Policy();
        var at = Send(policy, Reach(policy, R), "FROB", "MAIL FROM:<s@remote.test>", "RCPT TO:<alice@localhost>", "DATA");

        var failed = SmtpDecider.StoreFailed(at.Data, failure);

        Assert.Equal(1, failed.Data.BadCommands);
    }

    [Theory]
    [InlineData("RCPT TO:<alice@localhost>", "RCPT TO:<alice@localhost>")]
    [InlineData("RCPT TO:<alice@localhost>", "RCPT TO:<ALICE@example.test>")]
    [InlineData("RCPT TO:<Postmaster>", "RCPT TO:<postmaster@localhost>")]
    public void SameMailboxTwiceGivesOneRecipient(string first, string second)
    {
        var policy = Policy();
        var at = Send(policy, Reach(policy, M), first);

        var decision = Send(policy, at, second);

        AssertReply(decision, 250, "2.1.5");
        Assert.Single(decision.Data.Recipients);
    }

    [Theory]
    [InlineData("STARTTLS", "FOO", "EXPN staff")]
    [InlineData("FOO", TooLong, Malformed)]
    [InlineData("RCPT TO:<nobody@localhost>", "DATA", "MAIL FROM:<bad")]
    public void ThirdBadCommandGetsItsReplyThen421AndCloses(string first, string second, string third)
    {
        var policy = Policy(maxBadCommands: 3);
        var at = Reach(policy, R);

        var one = Send(policy, at, first);
        Assert.Equal((R, 1, null), (one.State, one.Data.BadCommands, one.Effect));
        Assert.Single(one.Replies);

        var two = Send(policy, one, second);
        Assert.Equal((R, 2, null), (two.State, two.Data.BadCommands, two.Effect));
        Assert.Single(two.Replies);

        var three = Send(policy, two, third);
        Assert.Equal(SmtpState.Closed, three.State);
        AssertEnds(three);
        Assert.Equal(2, three.Replies.Count);
        Assert.True(three.Replies[0].Code is 500 or 501 or 502 or 503);
        Assert.Equal((421, "4.7.0"), (three.Replies[1].Code, three.Replies[1].Enhanced));
    }

    [Fact]
    public void DataStartsTheBodyAndKeepsTheTransaction()
    {
        var policy = Policy();
        var at = Reach(policy, T);

        var decision = Send(policy, at, "DATA");

        Assert.Equal("354 End data with <CR><LF>.<CR><LF>\r\n", Assert.Single(decision.Replies).Render());
        Assert.Equal(SmtpState.ReceivingData, decision.State);
        Assert.Equal(new SmtpEffect.BeginData(), decision.Effect);
        Assert.Equal(at.Data, decision.Data);
    }

    [Fact]
    public void DataWithAnArgumentIsRefused()
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, T), "DATA now");

        AssertReply(decision, 501, "5.5.4");
        Assert.Equal(T, decision.State);
    }

    [Fact]
    public void DataEndedCleanlyDeliversWithoutAReplyYet()
    {
        var policy = Policy();
        var data = Send(policy, Reach(policy, T), "DATA").Data;

        var decision = SmtpDecider.DataEnded(policy, data, new DataOutcome(100, false, false, false));

        Assert.Equal(SmtpState.Storing, decision.State);
        Assert.IsType<SmtpEffect.Deliver>(decision.Effect);
        Assert.Empty(decision.Replies);
        Assert.Equal(data, decision.Data with { Delivery = null });
        var delivery = decision.Data.Delivery!;
        Assert.Equal(["alice"], delivery.Awaiting);
        Assert.Empty(delivery.Kept);
        Assert.Equal((null, 100), (delivery.Failure, delivery.Size));
    }

    [Theory]
    [InlineData(true, false, false, 552, "5.3.4")]
    [InlineData(false, true, false, 554, "5.6.0")]
    [InlineData(false, false, true, 550, "5.5.2")]
    [InlineData(true, true, true, 552, "5.3.4")]
    [InlineData(false, true, true, 554, "5.6.0")]
    [InlineData(false, false, false, 554, "5.6.0", true)]
    [InlineData(false, false, true, 554, "5.6.0", true)]
    [InlineData(false, true, true, 554, "5.6.0", true)]
    [InlineData(true, false, false, 552, "5.3.4", true)]
    public void RefusedBodyIsDiscardedAndTheTransactionCleared(bool tooBig, bool lineTooLong, bool bareNewline, int code, string enhanced, bool nul = false)
    {
        var policy = Policy();
        var data = Send(policy, Reach(policy, T), "DATA").Data;

        var decision = SmtpDecider.DataEnded(policy, data, new DataOutcome(5000, tooBig, lineTooLong, bareNewline, nul));

        AssertReply(decision, code, enhanced);
        Assert.Equal(R, decision.State);
        var settle = Assert.IsType<SmtpEffect.Settle>(decision.Effect);
        Assert.Equal((false, 0), (settle.Stored, settle.TakeBack.Length));
        Assert.Null(decision.Data.Mail);
        Assert.Empty(decision.Data.Recipients);
        Assert.Equal("client.test", decision.Data.ClientName);
    }

    // RFC 5321 §4.3.2 lists the only replies to the end of DATA.
    private static readonly int[] EndOfDataCodes = [250, 552, 554, 451, 452, 450, 550];

    [Fact]
    public void EveryReplyToTheEndOfDataIsOneRfc5321Lists()
    {
        var policy = Policy();
        var data = Send(policy, Reach(policy, T), "DATA").Data;
        var flags = new[] { false, true };

        var codes = new List<int>();
        foreach (var tooBig in flags)
        {
            foreach (var lineTooLong in flags)
            {
                foreach (var bareNewline in flags)
                {
                    foreach (var nul in flags)
                    {
                        codes.AddRange(SmtpDecider.DataEnded(policy, data, new DataOutcome(10, tooBig, lineTooLong, bareNewline, nul)).Replies.Select(r => r.Code));
                    }
                }
            }
        }

        codes.AddRange(SmtpDecider.Stored(data, "Q1").Replies.Select(r => r.Code));
        codes.AddRange(Enum.GetValues<StoreFailure>().SelectMany(f => SmtpDecider.StoreFailed(data, f).Replies).Select(r => r.Code));

        Assert.All(codes, code => Assert.Contains(code, EndOfDataCodes));
    }

    [Fact]
    public void ANormalizedBodyIsDeliveredWithOneNote()
    {
        var policy = Policy();
        var data = Send(policy, Reach(policy, T), "DATA").Data;

        var decision = SmtpDecider.DataEnded(policy, data, new DataOutcome(10, false, false, false, Normalized: true));

        Assert.IsType<SmtpEffect.Deliver>(decision.Effect);
        Assert.Equal(["Bare CR or LF in the message body stored as CRLF"], decision.Notes.Select(n => n.ToString()));
        Assert.Empty(SmtpDecider.DataEnded(policy, data, new DataOutcome(10, false, false, false)).Notes);
    }

    [Theory]
    [InlineData(true, false, false, false, "Message refused: 552 5.3.4 Message size exceeds fixed limit of 1000 octets")]
    [InlineData(false, true, false, false, "Message refused: 554 5.6.0 Message line too long, message not stored")]
    [InlineData(false, false, true, false, "Message refused: 550 5.5.2 Bare CR or LF in message body, message not stored")]
    [InlineData(false, false, false, true, "Message refused: 554 5.6.0 NUL octet in message body, message not stored")]
    public void ARefusedBodyIsNotedWithItsReply(bool tooBig, bool lineTooLong, bool bareNewline, bool nul, string note)
    {
        var policy = Policy();
        var data = Send(policy, Reach(policy, T), "DATA").Data;

        var decision = SmtpDecider.DataEnded(policy, data, new DataOutcome(5000, tooBig, lineTooLong, bareNewline, nul));

        Assert.Equal([note], decision.Notes.Select(n => n.ToString()));
    }

    [Fact]
    public void NulInTheBodyIsRefusedWithItsOwnText()
    {
        var policy = Policy();
        var data = Send(policy, Reach(policy, T), "DATA").Data;

        var decision = SmtpDecider.DataEnded(policy, data, new DataOutcome(10, false, false, false, Nul: true));

        Assert.Equal("554 5.6.0 NUL octet in message body, message not stored", Assert.Single(decision.Replies).ToString());
    }

    [Fact]
    public void StoredRepliesWithTheQueueIdAndCountsTheMessage()
    {
        var policy = Policy();
        var data = Send(policy, Reach(policy, T), "DATA").Data with { MessagesAccepted = 2 };

        var decision = SmtpDecider.Stored(data, "Q42");

        Assert.Equal("250 2.0.0 OK: queued as Q42\r\n", Assert.Single(decision.Replies).Render());
        Assert.Equal(R, decision.State);
        Assert.Null(decision.Effect);
        Assert.Equal(3, decision.Data.MessagesAccepted);
        Assert.Null(decision.Data.Mail);
        Assert.Empty(decision.Data.Recipients);
        Assert.Equal("client.test", decision.Data.ClientName);
    }

    [Theory]
    [InlineData(StoreFailure.Error, 451, "4.3.0")]
    [InlineData(StoreFailure.Full, 452, "4.3.1")]
    public void StoreFailureIsATemporaryErrorAndClearsTheTransaction(StoreFailure failure, int code, string enhanced)
    {
        var policy = Policy();
        var data = Send(policy, Reach(policy, T), "DATA").Data;

        var decision = SmtpDecider.StoreFailed(data, failure);

        AssertReply(decision, code, enhanced);
        Assert.Equal(R, decision.State);
        Assert.Null(decision.Effect);
        Assert.Equal(0, decision.Data.MessagesAccepted);
        Assert.Null(decision.Data.Mail);
        Assert.Empty(decision.Data.Recipients);
    }

    [Fact]
    public void IdleClosesWith421()
    {
        var decision = SmtpDecider.Idle(Reach(Policy(), T).Data);

        AssertReply(decision, 421, "4.4.2");
        Assert.Equal(SmtpState.Closed, decision.State);
        AssertEnds(decision);
    }

    [Fact]
    public void ShutdownClosesWith421()
    {
        var decision = SmtpDecider.Shutdown(R, Reach(Policy(), R).Data);

        AssertReply(decision, 421, "4.3.2");
        Assert.Equal(SmtpState.Closed, decision.State);
        AssertEnds(decision);
    }

    [Fact]
    public void QuitSaysByeAndCloses()
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, T), "QUIT");

        Assert.Equal("221 2.0.0 Bye\r\n", Assert.Single(decision.Replies).Render());
        Assert.Equal(SmtpState.Closed, decision.State);
        AssertEnds(decision);
    }

    [Theory]
    [InlineData("QUIT now")]
    [InlineData("RSET all")]
    public void QuitAndRsetTakeNoArgument(string line)
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, T), line);

        AssertReply(decision, 501, "5.5.4");
        Assert.Equal(T, decision.State);
        Assert.Single(decision.Data.Recipients);
    }

    [Fact]
    public void RsetClearsTheTransactionButKeepsTheSession()
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, T), "RSET");

        Assert.Equal(R, decision.State);
        Assert.Null(decision.Data.Mail);
        Assert.Empty(decision.Data.Recipients);
        Assert.Equal("client.test", decision.Data.ClientName);
        Assert.True(decision.Data.Extended);
    }

    [Fact]
    public void RsetThenANewMailTransactionStartsFromScratch()
    {
        var policy = Policy();
        var reset = Send(policy, Reach(policy, T), "RSET");

        var decision = Send(policy, Send(policy, reset, "MAIL FROM:<other@remote.test>"), "DATA");

        AssertReply(decision, 503, "5.5.1");
    }

    [Theory]
    [InlineData("NOOP", 250, "2.0.0", "OK")]
    [InlineData("NOOP with an argument", 250, "2.0.0", "OK")]
    [InlineData("VRFY alice", 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")]
    [InlineData("VRFY nobody", 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")]
    [InlineData("VRFY", 501, "5.5.4", "VRFY needs an argument")]
    [InlineData("HELP", 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT")]
    [InlineData("HELP DATA", 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT")]
    public void NoopVrfyAndHelpReplies(string line, int code, string enhanced, string text)
    {
        var policy = Policy();
        var at = Reach(policy, M);

        var decision = Send(policy, at, line);

        var reply = Assert.Single(decision.Replies);
        Assert.Equal((code, enhanced, text), (reply.Code, reply.Enhanced, reply.Lines[0]));
        Assert.Equal(M, decision.State);
        Assert.Equal(at.Data with { BadCommands = decision.Data.BadCommands, JunkCommands = decision.Data.JunkCommands }, decision.Data);
    }

    // Postfix's smtpd_junk_command_limit: commands that do no work have a budget of their own,
    // counted since the last delivered message; the last one allowed gets its reply, then 421 4.7.0.
    [Theory]
    [InlineData("NOOP", 250, "2.0.0")]
    [InlineData("RSET", 250, "2.0.0")]
    [InlineData("HELP", 214, "2.0.0")]
    [InlineData("VRFY alice", 252, "2.5.0")]
    [InlineData("MAIL FROM:<j\u00f6rg@remote.test>", 553, "5.6.7")]
    public void CommandsThatDoNoWorkHaveTheirOwnLimit(string line, int code, string enhanced)
    {
        var policy = Policy(maxBadCommands: 1, maxJunkCommands: 3);
        var at = Reach(policy, R);

        for (var n = 1; n < 3; n++)
        {
            at = Send(policy, at, line);
            AssertReply(at, code, enhanced);
            Assert.Equal((R, 0, n), (at.State, at.Data.BadCommands, at.Data.JunkCommands));
        }

        var last = Send(policy, at, line);

        Assert.Equal([$"{code} {enhanced}", "421 4.7.0"], last.Replies.Select(r => $"{r.Code} {r.Enhanced}"));
        AssertEnds(last);
    }

    [Fact]
    public void JunkCommandsCountTogetherAndADeliveredMessageResetsThem()
    {
        var policy = Policy(maxJunkCommands: 4);
        var at = Send(policy, Reach(policy, R), "NOOP", "HELP", "VRFY bob", "MAIL FROM:<s@remote.test>", "RCPT TO:<alice@localhost>", "DATA");
        Assert.Equal(3, at.Data.JunkCommands);

        var stored = SmtpDecider.Stored(SmtpDecider.DataEnded(policy, at.Data, new DataOutcome(10, false, false, false)).Data, "Q1");

        Assert.Equal(0, stored.Data.JunkCommands);
        var three = Send(policy, stored, "RSET", "NOOP", "NOOP");
        Assert.Equal((R, 3), (three.State, three.Data.JunkCommands));
        Assert.Equal(SmtpState.Closed, Send(policy, three, "NOOP").State);
    }

    [Theory]
    [InlineData("VRFY")]
    [InlineData("RSET now")]
    public void AJunkCommandWithBadArgumentsIsABadCommandOnly(string line)
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, R), line);

        Assert.Equal((1, 0), (decision.Data.BadCommands, decision.Data.JunkCommands));
    }

    private static readonly Dictionary<SmtpVerb, string> ValidLine = new()
    {
        [SmtpVerb.Helo] = "HELO client.test",
        [SmtpVerb.Ehlo] = "EHLO client.test",
        [SmtpVerb.Mail] = "MAIL FROM:<x@remote.test>",
        [SmtpVerb.Rcpt] = "RCPT TO:<bob@localhost>",
        [SmtpVerb.Data] = "DATA",
        [SmtpVerb.Rset] = "RSET",
        [SmtpVerb.Quit] = "QUIT",
        [SmtpVerb.Starttls] = "STARTTLS",
        [SmtpVerb.Auth] = "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
    };

    public static TheoryData<SmtpState, SmtpVerb, SmtpStep> StateTableRows()
    {
        var rows = new TheoryData<SmtpState, SmtpVerb, SmtpStep>();
        foreach (var (verb, steps) in SmtpStateTable.Rows)
        {
            for (var i = 0; i < steps.Length; i++)
            {
                rows.Add(SmtpStateTable.CommandStates[i], verb, steps[i]);
            }
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(StateTableRows))]
    public void TheDeciderDoesWhatTheStateTableSays(SmtpState state, SmtpVerb verb, SmtpStep step)
    {
        // STARTTLS and AUTH offered, and any credentials taken, so that AUTH lands where the table says at once.
        var policy = Policy() with { TlsOffered = true, AuthOffered = true, AcceptAnyCredentials = true };

        var decision = Send(policy, Reach(policy, state), ValidLine[verb]);

        if (step.Refusal is { } why)
        {
            AssertReply(decision, 503, "5.5.1");
            Assert.EndsWith($"Bad sequence of commands: {why}\r\n", Assert.Single(decision.Replies).Render(), StringComparison.Ordinal);
            Assert.Equal(state, decision.State);
        }
        else
        {
            Assert.Equal(step.Next, decision.State);
        }
    }

    [Fact]
    public void TheStateTableListsEveryRestrictedVerbOnceWithAStepForEveryCommandState()
    {
        Assert.Equal(ValidLine.Keys.Order(), SmtpStateTable.Rows.Select(r => r.Verb).Order());
        Assert.All(SmtpStateTable.Rows, r => Assert.Equal(SmtpStateTable.CommandStates.Count, r.Steps.Length));
        Assert.All(SmtpStateTable.Rows.SelectMany(r => r.Steps), s => Assert.True(s.Next is null ^ s.Refusal is null));
    }

    // A decision that closes: no effect left to run, and a reason for the session's summary line.
    private static void AssertEnds(SmtpDecision decision)
    {
        Assert.Equal(SmtpState.Closed, decision.State);
        Assert.Null(decision.Effect);
        Assert.False(string.IsNullOrEmpty(decision.Ends));
    }
}
