using ActorMail.Protocol.Store;
using System.Collections.Immutable;
using ActorMail.Protocol.Pop3;

namespace ActorMail.Protocol.Tests.Pop3;

public class Pop3DeciderTests
{
    private const string TooLong = "(a command line over the limit)";
    private const string Malformed = "NOOP \u0001";

    private const Pop3State A = Pop3State.Authorization;
    private const Pop3State D = Pop3State.AuthDelay;
    private const Pop3State O = Pop3State.Opening;
    private const Pop3State T = Pop3State.Transaction;
    private const Pop3State U = Pop3State.Update;
    private const Pop3State Closed = Pop3State.Closed;

    private const string Ok = "+OK";
    private const string Err = "-ERR";

    private const string OpenMaildrop = nameof(Pop3Effect.OpenMaildrop);
    private const string DelayAuthFailure = nameof(Pop3Effect.DelayAuthFailure);
    private const string SendMessage = nameof(Pop3Effect.SendMessage);
    private const string CommitDeletions = nameof(Pop3Effect.CommitDeletions);
    private const string SendListing = nameof(Pop3Effect.SendListing);

    private static readonly DropMessage M1 = new("1000.M1.node:2,S", "u1", 10);
    private static readonly DropMessage M2 = new("1001.M2.node:2,S", "u2", 20);
    private static readonly DropMessage M3 = new("1002.M3.node:2,", "u3", 30);
    private static readonly Maildrop Drop = [M1, M2, M3];

    private static TestPolicy Policy(int maxBadCommands = 10, int maxAuthFailures = 3, Func<string, string, bool>? check = null, int maxJunkCommands = 100) =>
        new(new Pop3Policy(maxBadCommands, maxAuthFailures, maxJunkCommands), check ?? ((user, password) => user == "alice" && password == "secret"));

    // A line, and if it asks for a password check, the check's answer at once: so PASS reads as
    // one step to Opening or AuthDelay, as the client sees it.
    private static Pop3Decision Send(TestPolicy policy, Pop3Decision at, string line)
    {
        var decision = line == TooLong
            ? Pop3Decider.LineTooLong(policy.Rules, at.State, at.Data)
            : Pop3Decider.Decide(policy.Rules, at.State, at.Data, Pop3Parser.Parse(Ascii.Bytes(line)));
        if (decision.Effect is not Pop3Effect.CheckPassword check)
        {
            return decision;
        }

        Assert.Equal((Pop3State.Verifying, 0), (decision.State, decision.Replies.Count));
        var outcome = policy.Check(check.User, check.Password) ? PasswordOutcome.Accepted : PasswordOutcome.Rejected;
        return Pop3Decider.PasswordChecked(decision.Data, outcome);
    }

    private static Pop3Decision Send(TestPolicy policy, Pop3Decision at, params string[] lines) =>
        lines.Aggregate(at, (step, line) => Send(policy, step, line));

    // Authorization is reached after "USER alice", so PASS has someone to check.
    private static Pop3Decision Reach(TestPolicy policy, Pop3State state)
    {
        var at = Send(policy, Pop3Decider.Connect(), "USER alice");
        Assert.Equal(A, at.State);
        if (state == A)
        {
            return at;
        }

        at = Send(policy, at, state == D ? "PASS wrong" : "PASS secret");
        if (state is D or O)
        {
            Assert.Equal(state, at.State);
            return at;
        }

        at = Pop3Decider.MaildropOpened(at.Data, Drop);
        if (state == U)
        {
            at = Send(policy, at, "QUIT");
        }

        Assert.Equal(state, at.State);
        Assert.Equal(0, at.Data.BadCommands);
        return at;
    }

    private static string Wire(Pop3Decision decision) => string.Concat(decision.Replies.Select(r => r.Render()));

    // The octets the client reads: the reply, and the listing a multi-line LIST or UIDL streams after it.
    private static void AssertOnly(Pop3Decision decision, string wire)
    {
        var listing = decision.Effect is Pop3Effect.SendListing list ? Pop3Listing.Render(decision.Data.Messages, decision.Data.Deleted, list.Kind) : "";
        Assert.Equal(wire, Assert.Single(decision.Replies).Render() + listing);
    }

    // Every verb with right and with wrong arguments, an unknown verb, a malformed line and an
    // over-long line in every state a line can arrive in: the status (null when no reply is sent
    // yet), the response code, the next state and the type of the effect.
    public static TheoryData<Pop3State, string, string?, string?, Pop3State, string?> EveryCommandInEveryState
    {
        get
        {
            var rows = new TheoryData<Pop3State, string, string?, string?, Pop3State, string?>
            {
                { A, "USER bob", Ok, null, A, null },
                { A, "USER", Err, null, A, null },
                { A, "USER a b", Err, null, A, null },
                { A, "PASS secret", null, null, O, OpenMaildrop },
                { A, "PASS wrong", null, null, D, DelayAuthFailure },
                { A, "PASS", Err, null, A, null },
                { A, "QUIT", Ok, null, Closed, null },
                { A, "QUIT now", Err, null, A, null },
                { A, "STAT", Err, null, A, null },
                { A, "STAT x", Err, null, A, null },
                { A, "LIST", Err, null, A, null },
                { A, "LIST 1", Err, null, A, null },
                { A, "LIST 1 2", Err, null, A, null },
                { A, "RETR 1", Err, null, A, null },
                { A, "RETR", Err, null, A, null },
                { A, "DELE 1", Err, null, A, null },
                { A, "DELE", Err, null, A, null },
                { A, "NOOP", Err, null, A, null },
                { A, "NOOP x", Err, null, A, null },
                { A, "RSET", Err, null, A, null },
                { A, "RSET x", Err, null, A, null },
                { A, "TOP 1 0", Err, null, A, null },
                { A, "TOP 1", Err, null, A, null },
                { A, "UIDL", Err, null, A, null },
                { A, "UIDL 1", Err, null, A, null },
                { A, "UIDL x", Err, null, A, null },
                { A, "CAPA", Ok, null, A, null },
                { A, "CAPA x", Err, null, A, null },
                { A, "STLS", Err, null, A, null },
                { A, "STLS x", Err, null, A, null },
                { A, "AUTH PLAIN", Err, null, A, null },
                { A, "AUTH", Err, null, A, null },

                { T, "USER alice", Err, null, T, null },
                { T, "USER", Err, null, T, null },
                { T, "PASS secret", Err, null, T, null },
                { T, "PASS", Err, null, T, null },
                { T, "QUIT", null, null, U, CommitDeletions },
                { T, "QUIT now", Err, null, T, null },
                { T, "STAT", Ok, null, T, null },
                { T, "STAT x", Err, null, T, null },
                { T, "LIST", Ok, null, T, SendListing },
                { T, "LIST 1", Ok, null, T, null },
                { T, "LIST 1 2", Err, null, T, null },
                { T, "LIST x", Err, null, T, null },
                { T, "LIST 4", Err, null, T, null },
                { T, "RETR 1", Ok, null, T, SendMessage },
                { T, "RETR", Err, null, T, null },
                { T, "RETR  1", Err, null, T, null },
                { T, "RETR 0", Err, null, T, null },
                { T, "DELE 1", Ok, null, T, null },
                { T, "DELE", Err, null, T, null },
                { T, "DELE -1", Err, null, T, null },
                { T, "NOOP", Ok, null, T, null },
                { T, "NOOP x", Err, null, T, null },
                { T, "RSET", Ok, null, T, null },
                { T, "RSET x", Err, null, T, null },
                { T, "TOP 1 0", Ok, null, T, SendMessage },
                { T, "TOP 1", Err, null, T, null },
                { T, "TOP 1 x", Err, null, T, null },
                { T, "TOP 1 2 3", Err, null, T, null },
                { T, "UIDL", Ok, null, T, SendListing },
                { T, "UIDL 1", Ok, null, T, null },
                { T, "UIDL 1 2", Err, null, T, null },
                { T, "CAPA", Ok, null, T, null },
                { T, "CAPA x", Err, null, T, null },
                { T, "STLS", Err, null, T, null },
                { T, "STLS x", Err, null, T, null },
                { T, "AUTH PLAIN", Err, null, T, null },
                { T, "AUTH", Err, null, T, null },
            };

            foreach (var state in new[] { A, T })
            {
                rows.Add(state, "XTND XMIT", Err, null, state, null);
                rows.Add(state, Malformed, Err, null, state, null);
                rows.Add(state, TooLong, Err, null, state, null);
            }

            // While a sign-in delay, the maildrop grant or the update runs, nothing but CAPA is allowed.
            string[] anyLine = ["USER alice", "USER", "PASS secret", "PASS", "QUIT", "QUIT now", "STAT", "STAT x", "LIST", "LIST 1",
                "RETR 1", "RETR", "DELE 1", "DELE", "NOOP", "NOOP x", "RSET", "RSET x", "TOP 1 0", "TOP 1", "UIDL", "UIDL 1",
                "XTND XMIT", Malformed, TooLong, "CAPA x", "STLS", "STLS x", "AUTH PLAIN", "AUTH"];
            foreach (var state in new[] { D, O, U })
            {
                rows.Add(state, "CAPA", Ok, null, state, null);
                foreach (var line in anyLine)
                {
                    rows.Add(state, line, Err, null, state, null);
                }
            }

            return rows;
        }
    }

    [Theory]
    [MemberData(nameof(EveryCommandInEveryState))]
    public void EveryCommandInEveryStateGivesTheExpectedReplyStateAndEffect(
        Pop3State state, string line, string? status, string? code, Pop3State next, string? effect)
    {
        var policy = Policy();
        var at = Reach(policy, state);

        var decision = Send(policy, at, line);

        if (status is null)
        {
            Assert.Empty(decision.Replies);
        }
        else
        {
            var reply = Assert.Single(decision.Replies);
            Assert.Equal((status == Ok, code), (reply.Ok, reply.Code));
            Assert.StartsWith(status, reply.Render(), StringComparison.Ordinal);
        }

        Assert.Equal(next, decision.State);
        Assert.Equal(effect, decision.Effect?.GetType().Name);
        Assert.Equal(at.Data.BadCommands + (status == Err ? 1 : 0), decision.Data.BadCommands);
        Assert.Equal(at.Data.AuthFailures + (effect == DelayAuthFailure ? 1 : 0), decision.Data.AuthFailures);
        Assert.Equal(at.Data.Messages.AsEnumerable(), decision.Data.Messages.AsEnumerable());
        if (status == Err)
        {
            Assert.Equal(at.Data with { BadCommands = decision.Data.BadCommands }, decision.Data);
        }
    }

    [Fact]
    public void TheTableCoversEveryVerbWithRightAndWrongArgumentsMalformedAndTooLongInEveryState()
    {
        var rows = EveryCommandInEveryState.Select(row => ((Pop3State)row[0], (string)row[1], (string?)row[2])).ToList();

        foreach (var state in new[] { A, D, O, T, U })
        {
            var lines = rows.Where(r => r.Item1 == state).ToList();
            var commands = lines.Where(r => r.Item2 != TooLong)
                .Select(r => (Command: Pop3Parser.Parse(Ascii.Bytes(r.Item2)), Status: r.Item3))
                .Where(c => c.Command.Malformed is null)
                .ToList();
            foreach (var verb in Enum.GetValues<Pop3Verb>().Where(v => v != Pop3Verb.Unknown))
            {
                var forVerb = commands.Where(c => c.Command.Verb == verb).ToList();
                Assert.True(forVerb.Select(c => c.Command.Arguments.Count).Distinct().Count() >= 2, $"{state} {verb}: needs a right and a wrong argument count");
                Assert.True(forVerb.Any(c => c.Status == Err), $"{state} {verb}: needs a refused line");
            }

            Assert.Contains(commands, c => c.Command.Verb == Pop3Verb.Unknown);
            Assert.Contains(lines, r => r.Item2 == Malformed);
            Assert.Contains(lines, r => r.Item2 == TooLong);
        }
    }

    // Commands that do no work: NOOP, and a USER that replaces one no PASS followed. The last one
    // allowed gets its reply, then -ERR and the close.
    [Theory]
    [InlineData(T, "NOOP", "+OK\r\n")]
    [InlineData(A, "USER bob", "+OK Send PASS\r\n")]
    public void CommandsThatDoNoWorkHaveTheirOwnLimit(Pop3State state, string line, string wire)
    {
        var policy = Policy(maxBadCommands: 1, maxJunkCommands: 3);
        var at = Reach(policy, state);

        for (var n = 1; n < 3; n++)
        {
            at = Send(policy, at, line);
            AssertOnly(at, wire);
            Assert.Equal((state, 0, n), (at.State, at.Data.BadCommands, at.Data.JunkCommands));
        }

        var last = Send(policy, at, line);

        Assert.Equal(wire + "-ERR Too many errors, closing connection\r\n", Wire(last));
        Assert.Equal(Closed, last.State);
        AssertEnds(last);
    }

    [Fact]
    public void UserAfterAFailedSignInOrAsTheFirstCommandIsNotJunk()
    {
        var policy = Policy(maxJunkCommands: 1);
        var first = Send(policy, Pop3Decider.Connect(), "USER alice");
        Assert.Equal((A, 0), (first.State, first.Data.JunkCommands));

        var failed = Pop3Decider.AuthDelayOver(policy.Rules, Send(policy, first, "PASS wrong").Data);
        var again = Send(policy, failed, "USER alice");

        Assert.Equal((A, 0), (again.State, again.Data.JunkCommands));
    }

    [Fact]
    public void ConnectGreetsInTheAuthorizationState()
    {
        var decision = Pop3Decider.Connect();

        AssertOnly(decision, "+OK ActorMail POP3 server ready\r\n");
        Assert.Equal(A, decision.State);
        Assert.Equal(Pop3Conversation.Start, decision.Data);
        Assert.Null(decision.Effect);
    }

    [Fact]
    public void UserThenGoodPasswordAsksForTheMaildropWithoutAReply()
    {
        var policy = Policy();
        var user = Send(policy, Pop3Decider.Connect(), "USER alice");
        AssertOnly(user, "+OK Send PASS\r\n");
        Assert.Equal("alice", user.Data.User);

        var decision = Send(policy, user, "PASS secret");

        Assert.Equal(O, decision.State);
        Assert.Empty(decision.Replies);
        Assert.Equal(new Pop3Effect.OpenMaildrop("alice"), decision.Effect);
        Assert.Equal("alice", decision.Data.User);
        Assert.Equal((0, 0), (decision.Data.AuthFailures, decision.Data.BadCommands));
    }

    [Fact]
    public void TheLastUserCommandIsTheOneChecked()
    {
        var checkedAs = new List<(string, string)>();
        var policy = Policy(check: (u, p) =>
        {
            checkedAs.Add((u, p));
            return true;
        });

        var decision = Send(policy, Pop3Decider.Connect(), "USER bob", "USER alice", "PASS a b ");

        Assert.Equal(new Pop3Effect.OpenMaildrop("alice"), decision.Effect);
        Assert.Equal([("alice", "a b ")], checkedAs);
    }

    [Fact]
    public void BadPasswordWaitsTheDelayBeforeAnyReply()
    {
        var policy = Policy();

        var decision = Send(policy, Pop3Decider.Connect(), "USER alice", "PASS wrong");

        Assert.Equal(D, decision.State);
        Assert.Empty(decision.Replies);
        Assert.IsType<Pop3Effect.DelayAuthFailure>(decision.Effect);
        Assert.Equal(1, decision.Data.AuthFailures);
        Assert.Equal(0, decision.Data.BadCommands);
    }

    [Fact]
    public void AfterTheDelayTheFailureIsToldWithTheAuthCodeAndUserIsForgotten()
    {
        var policy = Policy();
        var delayed = Send(policy, Pop3Decider.Connect(), "USER alice", "PASS wrong");

        var decision = Pop3Decider.AuthDelayOver(policy.Rules, delayed.Data);

        AssertOnly(decision, "-ERR [AUTH] Invalid user name or password\r\n");
        Assert.Equal(A, decision.State);
        Assert.Null(decision.Data.User);
        Assert.Null(decision.Effect);
        Assert.Equal(1, decision.Data.AuthFailures);

        var pass = Send(policy, decision, "PASS secret");
        AssertOnly(pass, "-ERR Send USER first\r\n");
    }

    [Fact]
    public void TheLastAllowedAuthFailureAnswersThenClosesTheSession()
    {
        var policy = Policy(maxAuthFailures: 3);
        var at = Pop3Decider.Connect();

        for (var attempt = 1; attempt <= 2; attempt++)
        {
            at = Send(policy, at, "USER alice", "PASS wrong");
            Assert.Equal((D, attempt), (at.State, at.Data.AuthFailures));
            at = Pop3Decider.AuthDelayOver(policy.Rules, at.Data);
            AssertOnly(at, "-ERR [AUTH] Invalid user name or password\r\n");
            Assert.Equal(A, at.State);
            Assert.Null(at.Effect);
        }

        at = Send(policy, at, "USER alice", "PASS wrong");
        Assert.Equal((D, 3), (at.State, at.Data.AuthFailures));
        var decision = Pop3Decider.AuthDelayOver(policy.Rules, at.Data);

        Assert.Equal(
            "-ERR [AUTH] Invalid user name or password\r\n-ERR [AUTH] Too many failed sign-ins, closing connection\r\n",
            Wire(decision));
        Assert.Equal(Closed, decision.State);
        AssertEnds(decision);
    }

    [Fact]
    public void UnknownUserAndWrongPasswordAreDecidedAlike()
    {
        var asked = new List<(string User, string Password)>();
        var policy = Policy(check: (user, password) =>
        {
            asked.Add((user, password));
            return false;
        });

        var unknown = Send(policy, Pop3Decider.Connect(), "USER nobody", "PASS secret");
        var wrong = Send(policy, Pop3Decider.Connect(), "USER alice", "PASS wrong");

        Assert.Equal([("nobody", "secret"), ("alice", "wrong")], asked);
        Assert.Equal(unknown.State, wrong.State);
        Assert.Equal(Wire(unknown), Wire(wrong));
        Assert.Equal(unknown.Effect, wrong.Effect);
        Assert.NotNull(unknown.Effect);

        // The only difference is the name the client typed itself, and it is dropped with the answer.
        Assert.Equal(unknown.Data with { User = null }, wrong.Data with { User = null });
        var unknownOver = Pop3Decider.AuthDelayOver(policy.Rules, unknown.Data);
        var wrongOver = Pop3Decider.AuthDelayOver(policy.Rules, wrong.Data);
        Assert.Equal(unknownOver.State, wrongOver.State);
        Assert.Equal(Wire(unknownOver), Wire(wrongOver));
        Assert.Equal(unknownOver.Effect, wrongOver.Effect);
        Assert.Equal(unknownOver.Data, wrongOver.Data);
    }

    [Fact]
    public void PassWithoutUserIsRefusedWithoutCheckingAnything()
    {
        var asked = 0;
        var policy = Policy(check: (_, _) => ++asked > 0);

        var decision = Send(policy, Pop3Decider.Connect(), "PASS secret");

        AssertOnly(decision, "-ERR Send USER first\r\n");
        Assert.Equal(A, decision.State);
        Assert.Null(decision.Effect);
        Assert.Equal((1, 0), (decision.Data.BadCommands, decision.Data.AuthFailures));
        Assert.Equal(0, asked);
    }

    [Fact]
    public void MaildropOpenedAnnouncesTheMessagesAndStartsTheTransaction()
    {
        var opening = Reach(Policy(), O);

        var decision = Pop3Decider.MaildropOpened(opening.Data, Drop);

        AssertOnly(decision, "+OK Maildrop has 3 messages (60 octets)\r\n");
        Assert.Equal(T, decision.State);
        Assert.Null(decision.Effect);
        Assert.Equal(Drop.AsEnumerable(), decision.Data.Messages.AsEnumerable());
        Assert.Empty(decision.Data.Deleted);
        Assert.Equal("alice", decision.Data.User);
    }

    [Fact]
    public void AnEmptyMaildropOpensToo()
    {
        var decision = Pop3Decider.MaildropOpened(Reach(Policy(), O).Data, []);

        AssertOnly(decision, "+OK Maildrop has 0 messages (0 octets)\r\n");
        Assert.Equal(T, decision.State);
        AssertOnly(Send(Policy(), decision, "LIST"), "+OK 0 messages (0 octets)\r\n.\r\n");
        AssertOnly(Send(Policy(), decision, "RETR 1"), "-ERR No such message\r\n");
    }

    [Fact]
    public void LockedMaildropIsInUseAndReturnsToAuthorization()
    {
        var decision = Pop3Decider.MaildropLocked(Reach(Policy(), O).Data);

        AssertOnly(decision, "-ERR [IN-USE] Maildrop is in use by another session\r\n");
        Assert.Equal(A, decision.State);
        Assert.Null(decision.Data.User);
        Assert.Null(decision.Effect);
    }

    [Fact]
    public void FailedMaildropIsATemporarySystemErrorAndReturnsToAuthorization()
    {
        var decision = Pop3Decider.MaildropFailed(Reach(Policy(), O).Data);

        AssertOnly(decision, "-ERR [SYS/TEMP] Maildrop cannot be opened now\r\n");
        Assert.Equal(A, decision.State);
        Assert.Null(decision.Data.User);
        Assert.Null(decision.Effect);
    }

    [Fact]
    public void StatCountsTheMessagesAndOctets()
    {
        var policy = Policy();

        AssertOnly(Send(policy, Reach(policy, T), "STAT"), "+OK 3 60\r\n");
    }

    [Fact]
    public void ListAndUidlShowEveryMessage()
    {
        var policy = Policy();
        var at = Reach(policy, T);

        AssertOnly(Send(policy, at, "LIST"), "+OK 3 messages (60 octets)\r\n1 10\r\n2 20\r\n3 30\r\n.\r\n");
        AssertOnly(Send(policy, at, "UIDL"), "+OK Unique-id listing follows\r\n1 u1\r\n2 u2\r\n3 u3\r\n.\r\n");
    }

    [Theory]
    [InlineData("LIST 1", "+OK 1 10\r\n")]
    [InlineData("LIST 2", "+OK 2 20\r\n")]
    [InlineData("LIST 3", "+OK 3 30\r\n")]
    [InlineData("LIST 002", "+OK 2 20\r\n")]
    [InlineData("UIDL 1", "+OK 1 u1\r\n")]
    [InlineData("UIDL 2", "+OK 2 u2\r\n")]
    [InlineData("UIDL 3", "+OK 3 u3\r\n")]
    [InlineData("list 3", "+OK 3 30\r\n")]
    public void ListAndUidlOfOneMessage(string line, string wire)
    {
        var policy = Policy();
        var at = Reach(policy, T);

        var decision = Send(policy, at, line);

        AssertOnly(decision, wire);
        Assert.Equal(at.Data, decision.Data);
    }

    [Theory]
    [InlineData("RETR 0")]
    [InlineData("RETR 4")]
    [InlineData("RETR 999999999")]
    [InlineData("LIST 0")]
    [InlineData("LIST 4")]
    [InlineData("UIDL 4")]
    [InlineData("DELE 4")]
    [InlineData("TOP 0 1")]
    [InlineData("TOP 4 1")]
    [InlineData("TOP 4 x")]
    public void NumbersOutsideTheMaildropAreNoSuchMessage(string line)
    {
        var policy = Policy();
        var at = Reach(policy, T);

        var decision = Send(policy, at, line);

        AssertOnly(decision, "-ERR No such message\r\n");
        Assert.Equal(T, decision.State);
        Assert.Null(decision.Effect);
        Assert.Equal(1, decision.Data.BadCommands);
    }

    [Theory]
    [InlineData("RETR x", "-ERR Message number must be a positive integer\r\n")]
    [InlineData("RETR -1", "-ERR Message number must be a positive integer\r\n")]
    [InlineData("RETR +1", "-ERR Message number must be a positive integer\r\n")]
    [InlineData("RETR 1234567890", "-ERR Message number must be a positive integer\r\n")]
    [InlineData("DELE 1x", "-ERR Message number must be a positive integer\r\n")]
    [InlineData("TOP x 1", "-ERR Message number must be a positive integer\r\n")]
    [InlineData("TOP 1 x", "-ERR Line count must be a non-negative integer\r\n")]
    [InlineData("TOP 1 -1", "-ERR Line count must be a non-negative integer\r\n")]
    [InlineData("TOP 1 1234567890", "-ERR Line count must be a non-negative integer\r\n")]
    [InlineData("RETR", "-ERR Wrong arguments for RETR\r\n")]
    [InlineData("RETR 1 2", "-ERR Wrong arguments for RETR\r\n")]
    [InlineData("RETR  1", "-ERR Wrong arguments for RETR\r\n")]
    [InlineData("TOP 1", "-ERR Wrong arguments for TOP\r\n")]
    [InlineData("STAT 1", "-ERR Wrong arguments for STAT\r\n")]
    [InlineData("NOOP ", "-ERR Wrong arguments for NOOP\r\n")]
    [InlineData("QUIT now", "-ERR Wrong arguments for QUIT\r\n")]
    public void BadArgumentsInTheTransactionAreRefusedAndSendNothing(string line, string wire)
    {
        var policy = Policy();
        var at = Reach(policy, T);

        var decision = Send(policy, at, line);

        AssertOnly(decision, wire);
        Assert.Equal(T, decision.State);
        Assert.Null(decision.Effect);
        Assert.Equal(at.Data with { BadCommands = 1 }, decision.Data);
    }

    [Fact]
    public void DeleteOnlyMarksTheMessageAndHidesItFromStatAndListings()
    {
        var policy = Policy();
        var at = Reach(policy, T);

        var deleted = Send(policy, at, "DELE 2");

        AssertOnly(deleted, "+OK Message 2 deleted\r\n");
        Assert.Equal(T, deleted.State);
        Assert.Null(deleted.Effect);
        Assert.Equal([2], deleted.Data.Deleted);
        Assert.Equal(Drop.AsEnumerable(), deleted.Data.Messages.AsEnumerable());
        AssertOnly(Send(policy, deleted, "STAT"), "+OK 2 40\r\n");
        AssertOnly(Send(policy, deleted, "LIST"), "+OK 2 messages (40 octets)\r\n1 10\r\n3 30\r\n.\r\n");
        AssertOnly(Send(policy, deleted, "UIDL"), "+OK Unique-id listing follows\r\n1 u1\r\n3 u3\r\n.\r\n");
    }

    [Theory]
    [InlineData("LIST 2")]
    [InlineData("UIDL 2")]
    [InlineData("RETR 2")]
    [InlineData("TOP 2 0")]
    [InlineData("DELE 2")]
    public void ADeletedMessageIsGoneFromEveryCommand(string line)
    {
        var policy = Policy();
        var deleted = Send(policy, Reach(policy, T), "DELE 2");

        var decision = Send(policy, deleted, line);

        AssertOnly(decision, "-ERR Message 2 already deleted\r\n");
        Assert.Equal(T, decision.State);
        Assert.Null(decision.Effect);
        Assert.Equal([2], decision.Data.Deleted);
        Assert.Equal(1, decision.Data.BadCommands);
    }

    [Theory]
    [InlineData("LIST 3", "+OK 3 30\r\n")]
    [InlineData("UIDL 3", "+OK 3 u3\r\n")]
    [InlineData("LIST 1", "+OK 1 10\r\n")]
    [InlineData("RETR 3", "+OK 30 octets\r\n")]
    [InlineData("DELE 3", "+OK Message 3 deleted\r\n")]
    public void MessageNumbersStayFixedAfterADeletion(string line, string wire)
    {
        var policy = Policy();
        var deleted = Send(policy, Reach(policy, T), "DELE 2");

        AssertOnly(Send(policy, deleted, line), wire);
    }

    [Fact]
    public void RsetUnmarksEveryDeletion()
    {
        var policy = Policy();
        var marked = Send(policy, Reach(policy, T), "DELE 1", "DELE 3");
        Assert.Equal([1, 3], marked.Data.Deleted.Order());

        var decision = Send(policy, marked, "RSET");

        AssertOnly(decision, "+OK Maildrop has 3 messages (60 octets)\r\n");
        Assert.Equal(T, decision.State);
        Assert.Empty(decision.Data.Deleted);
        AssertOnly(Send(policy, decision, "STAT"), "+OK 3 60\r\n");
        AssertOnly(Send(policy, decision, "RETR 3"), "+OK 30 octets\r\n");
        var quit = Send(policy, decision, "QUIT");
        Assert.Empty(Assert.IsType<Pop3Effect.CommitDeletions>(quit.Effect).FileNames);
    }

    [Fact]
    public void RetrAnswersTheSizeAndSendsTheWholeMessage()
    {
        var policy = Policy();
        var at = Reach(policy, T);

        var decision = Send(policy, at, "RETR 1");

        AssertOnly(decision, "+OK 10 octets\r\n");
        Assert.Equal(T, decision.State);
        Assert.Equal(new Pop3Effect.SendMessage(M1, null), decision.Effect);
        Assert.Equal(at.Data, decision.Data);
    }

    [Theory]
    [InlineData("TOP 1 5", 1, 5)]
    [InlineData("TOP 1 0", 1, 0)]
    [InlineData("TOP 3 999999999", 3, 999_999_999)]
    [InlineData("top 2 007", 2, 7)]
    public void TopSendsTheHeadersAndTheAskedBodyLines(string line, int number, int lines)
    {
        var policy = Policy();
        var at = Reach(policy, T);

        var decision = Send(policy, at, line);

        AssertOnly(decision, "+OK Top of message follows\r\n");
        Assert.Equal(T, decision.State);
        Assert.Equal(new Pop3Effect.SendMessage(Drop[number - 1], lines), decision.Effect);
        Assert.Equal(at.Data, decision.Data);
    }

    [Fact]
    public void NoopAnswersPlainOk()
    {
        var policy = Policy();
        var at = Reach(policy, T);

        var decision = Send(policy, at, "NOOP");

        AssertOnly(decision, "+OK\r\n");
        Assert.Equal(at.Data with { JunkCommands = 1 }, decision.Data);
        Assert.Null(decision.Effect);
    }

    [Fact]
    public void QuitInTheTransactionCommitsExactlyTheMarkedFilesInNumberOrder()
    {
        var policy = Policy();
        var marked = Send(policy, Reach(policy, T), "DELE 3", "DELE 1");

        var decision = Send(policy, marked, "QUIT");

        Assert.Equal(U, decision.State);
        Assert.Empty(decision.Replies);
        var commit = Assert.IsType<Pop3Effect.CommitDeletions>(decision.Effect);
        Assert.Equal([M1.FileName, M3.FileName], commit.FileNames.AsEnumerable());
    }

    [Fact]
    public void QuitWithNothingMarkedStillPassesThroughUpdate()
    {
        var policy = Policy();

        var decision = Send(policy, Reach(policy, T), "QUIT");

        Assert.Equal(U, decision.State);
        Assert.Empty(decision.Replies);
        Assert.Empty(Assert.IsType<Pop3Effect.CommitDeletions>(decision.Effect).FileNames);
    }

    [Theory]
    [InlineData(new string[0], "+OK ActorMail POP3 server signing off (3 messages left)\r\n")]
    [InlineData(new[] { "DELE 2" }, "+OK ActorMail POP3 server signing off (2 messages left)\r\n")]
    [InlineData(new[] { "DELE 3", "DELE 1", "DELE 2" }, "+OK ActorMail POP3 server signing off (0 messages left)\r\n")]
    public void CommittedSignsOffWithTheMessagesLeftAndCloses(string[] lines, string wire)
    {
        var policy = Policy();
        var update = Send(policy, Send(policy, Reach(policy, T), lines), "QUIT");
        Assert.Equal(U, update.State);

        var decision = Pop3Decider.Committed(update.Data, lines.Length);

        AssertOnly(decision, wire);
        Assert.Equal($"UPDATE removed {lines.Length} messages of alice", Assert.Single(decision.Notes).ToString());
        Assert.Equal(Closed, decision.State);
        AssertEnds(decision);
    }

    [Fact]
    public void CommitFailedIsATemporarySystemErrorAndCloses()
    {
        var policy = Policy();
        var update = Send(policy, Reach(policy, T), "DELE 1", "QUIT");

        var decision = Pop3Decider.CommitFailed(update.Data);

        AssertOnly(decision, "-ERR [SYS/TEMP] Some deleted messages were not removed\r\n");
        Assert.Equal(Closed, decision.State);
        AssertEnds(decision);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void QuitInAuthorizationSignsOffAndClosesWithoutAnUpdate(bool afterUser)
    {
        var policy = Policy();
        var at = afterUser ? Reach(policy, A) : Pop3Decider.Connect();

        var decision = Send(policy, at, "QUIT");

        AssertOnly(decision, "+OK ActorMail POP3 server signing off\r\n");
        Assert.Equal(Closed, decision.State);
        AssertEnds(decision);
    }

    [Theory]
    [InlineData(A, true)]
    [InlineData(D, true)]
    [InlineData(O, true)]
    [InlineData(T, true)]
    [InlineData(U, true)]
    [InlineData(A, false)]
    [InlineData(D, false)]
    [InlineData(O, false)]
    [InlineData(T, false)]
    [InlineData(U, false)]
    public void IdleAndShutdownCloseWithoutCommittingAnything(Pop3State state, bool idle)
    {
        var policy = Policy();
        var at = Reach(policy, state);
        if (state == T)
        {
            at = Send(policy, at, "DELE 1", "DELE 2");
            Assert.Equal(2, at.Data.Deleted.Count);
        }

        var decision = idle ? Pop3Decider.Idle(at.Data) : Pop3Decider.Shutdown(state, at.Data);

        AssertOnly(decision, idle
            ? "-ERR Idle timeout, closing connection\r\n"
            : "-ERR [SYS/TEMP] Server shutting down, closing connection\r\n");
        Assert.Equal(Closed, decision.State);
        AssertEnds(decision);
    }

    [Theory]
    [InlineData(A)]
    [InlineData(T)]
    public void CapaListsTheCapabilitiesAndChangesNothing(Pop3State state)
    {
        var policy = Policy();
        var at = Reach(policy, state);

        var decision = Send(policy, at, "CAPA");

        AssertOnly(decision, "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION ActorMail\r\n.\r\n");
        Assert.Equal(state, decision.State);
        Assert.Equal(at.Data, decision.Data);
        Assert.Null(decision.Effect);
    }

    [Theory]
    [InlineData("USER bob", "-ERR USER not allowed in the TRANSACTION state\r\n")]
    [InlineData("PASS secret", "-ERR PASS not allowed in the TRANSACTION state\r\n")]
    public void SignInCommandsAreRefusedInTheTransaction(string line, string wire)
    {
        var policy = Policy();
        var at = Reach(policy, T);

        var decision = Send(policy, at, line);

        AssertOnly(decision, wire);
        Assert.Equal(T, decision.State);
        Assert.Equal("alice", decision.Data.User);
        Assert.Null(decision.Effect);
    }

    [Theory]
    [InlineData("STAT", "-ERR STAT not allowed in the AUTHORIZATION state\r\n")]
    [InlineData("RETR 1", "-ERR RETR not allowed in the AUTHORIZATION state\r\n")]
    [InlineData("XTND", "-ERR Unknown command\r\n")]
    [InlineData(Malformed, "-ERR Command contains a control or non-ASCII character\r\n")]
    [InlineData(TooLong, "-ERR Line too long\r\n")]
    public void RefusalsInAuthorizationSayWhy(string line, string wire)
    {
        var policy = Policy();

        AssertOnly(Send(policy, Reach(policy, A), line), wire);
    }

    [Theory]
    [InlineData(D, "-ERR STAT not allowed in the AUTHDELAY state\r\n")]
    [InlineData(O, "-ERR STAT not allowed in the OPENING state\r\n")]
    [InlineData(U, "-ERR STAT not allowed in the UPDATE state\r\n")]
    public void CommandsWhileWaitingNameTheState(Pop3State state, string wire)
    {
        var policy = Policy();

        AssertOnly(Send(policy, Reach(policy, state), "STAT"), wire);
    }

    [Theory]
    [InlineData(A, "FOO", "STAT", "PASS")]
    [InlineData(A, TooLong, Malformed, "USER")]
    [InlineData(T, "RETR 4", "DELE x", "USER bob")]
    [InlineData(T, "XTND", TooLong, Malformed)]
    [InlineData(T, "LIST 9", "UIDL 0", "TOP 1 -1")]
    public void TheThirdErrorGetsItsReplyThenTooManyErrorsAndCloses(Pop3State state, string first, string second, string third)
    {
        var policy = Policy(maxBadCommands: 3);
        var at = Reach(policy, state);
        var errors = 0;

        foreach (var line in new[] { first, second })
        {
            at = Send(policy, at, line);
            errors += at.Replies.Count(r => !r.Ok);
            Assert.Equal(state, at.State);
            Assert.Null(at.Effect);
            Assert.Single(at.Replies);
        }

        Assert.Equal(at.Data.BadCommands, errors);
        Assert.Equal(2, errors);

        // A good command in between neither counts nor forgives.
        at = Send(policy, at, "CAPA");
        Assert.True(Assert.Single(at.Replies).Ok);
        Assert.Equal(2, at.Data.BadCommands);

        var decision = Send(policy, at, third);

        Assert.Equal(Closed, decision.State);
        AssertEnds(decision);
        Assert.Equal(2, decision.Replies.Count);
        Assert.False(decision.Replies[0].Ok);
        Assert.NotEqual(Pop3Replies.TooManyErrors, decision.Replies[0]);
        Assert.Equal("-ERR Too many errors, closing connection\r\n", decision.Replies[1].Render());
        Assert.Equal(3, decision.Data.BadCommands);
    }

    [Fact]
    public void FailedSignInsAreNotBadCommands()
    {
        var policy = Policy(maxBadCommands: 1, maxAuthFailures: 5);
        var at = Pop3Decider.Connect();

        for (var attempt = 0; attempt < 4; attempt++)
        {
            at = Pop3Decider.AuthDelayOver(policy.Rules, Send(policy, at, "USER alice", "PASS wrong").Data);
            Assert.Equal(A, at.State);
        }

        Assert.Equal((0, 4), (at.Data.BadCommands, at.Data.AuthFailures));
        Assert.Equal(O, Send(policy, at, "USER alice", "PASS secret").State);
    }

    private sealed record TestPolicy(Pop3Policy Rules, Func<string, string, bool> Check);

    // A decision that closes: no effect left to run, and a reason for the session's summary line.
    private static void AssertEnds(Pop3Decision decision)
    {
        Assert.Equal(Pop3State.Closed, decision.State);
        Assert.Null(decision.Effect);
        Assert.False(string.IsNullOrEmpty(decision.Ends));
    }
}
