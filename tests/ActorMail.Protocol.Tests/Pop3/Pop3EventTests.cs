using ActorMail.Protocol.Pop3;
using ActorMail.Protocol.Session;
using ActorMail.Protocol.Store;

namespace ActorMail.Protocol.Tests.Pop3;

/// <summary>The rows of the POP3 decider for what is not a command line: the peer's half-close, the lifetime, a message file gone, the checker's answers and what they log.</summary>
public class Pop3EventTests
{
    private static readonly DropMessage M1 = new("cur/1000.M1.node:2,S", "u1", 10);
    private static readonly Pop3Conversation Signed = Pop3Conversation.Start with { User = "alice" };

    private static string Wire(Pop3Decision decision) => string.Concat(decision.Replies.Select(r => r.Render()));

    [Theory]
    [InlineData(Pop3State.Authorization)]
    [InlineData(Pop3State.Transaction)]
    public void AHalfClosedClientIsClosedWithoutQuitSoNothingIsDeleted(Pop3State state)
    {
        var data = Signed with { Messages = [M1], Deleted = [1] };

        var closed = Pop3Decider.PeerClosed(state, data);

        Assert.Equal((Pop3State.Closed, "", null, "peer closed"), (closed.State, Wire(closed), closed.Effect, closed.Ends));
    }

    [Theory]
    [InlineData(Pop3State.Verifying)]
    [InlineData(Pop3State.AuthDelay)]
    [InlineData(Pop3State.Opening)]
    [InlineData(Pop3State.Update)]
    [InlineData(Pop3State.Closed)]
    public void AHalfCloseWhileWaitingChangesNothingUntilTheAnswerComes(Pop3State state)
    {
        var waiting = Pop3Decider.PeerClosed(state, Signed);

        Assert.Equal((state, Signed, "", null, null), (waiting.State, waiting.Data, Wire(waiting), waiting.Effect, waiting.Ends));
    }

    [Theory]
    [InlineData(Pop3State.Update)]
    [InlineData(Pop3State.Closed)]
    public void TheLifetimeLetsAQuitBeingCommittedFinish(Pop3State state)
    {
        var decision = Pop3Decider.LifetimeOver(state, Signed);

        Assert.Equal((state, "", null), (decision.State, Wire(decision), decision.Ends));
    }

    [Theory]
    [InlineData(Pop3State.Authorization)]
    [InlineData(Pop3State.Verifying)]
    [InlineData(Pop3State.Transaction)]
    public void TheLifetimeClosesEveryOtherStateWithoutUpdate(Pop3State state)
    {
        var decision = Pop3Decider.LifetimeOver(state, Signed);

        Assert.Equal((Pop3State.Closed, "session lifetime", null), (decision.State, decision.Ends, decision.Effect));
        Assert.StartsWith("-ERR [SYS/TEMP]", Wire(decision), StringComparison.Ordinal);
    }

    [Fact]
    public void AMessageWhoseFileCannotBeOpenedIsNotSentAndTheSessionGoesOn()
    {
        var data = Signed with { Messages = [M1] };

        var decision = Pop3Decider.MessageUnavailable(data, M1);

        Assert.Equal((Pop3State.Transaction, data, null), (decision.State, decision.Data, decision.Effect));
        Assert.StartsWith("-ERR [SYS/TEMP]", Wire(decision), StringComparison.Ordinal);
        var note = Assert.Single(decision.Notes);
        Assert.Equal((NoteLevel.Error, "Message cur/1000.M1.node:2,S of alice could not be opened"), (note.Level, note.ToString()));
    }

    [Fact]
    public void SignInNotesNameTheUserAndNeverThePassword()
    {
        var checking = new Pop3Decision(Pop3State.Verifying, Signed, [], new Pop3Effect.CheckPassword("alice", "secret"));

        var notes = Enum.GetValues<PasswordOutcome>().SelectMany(o => Pop3Decider.PasswordChecked(checking.Data, o).Notes).ToList();

        Assert.Equal(
            ["alice signed in", "Sign-in failed for alice (1 so far)", "Sign-in of alice refused: too many password checks waiting"],
            notes.Select(n => n.ToString()));
        Assert.Equal([NoteLevel.Information, NoteLevel.Debug, NoteLevel.Warning], notes.Select(n => n.Level));
        Assert.DoesNotContain(notes, n => n.ToString().Contains("secret", StringComparison.Ordinal));
        Assert.Contains("****", checking.Effect!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AnInvalidUserNameIsNotWrittenToTheLog()
    {
        var failed = Pop3Decider.PasswordChecked(Pop3Conversation.Start with { User = "../etc\u0001" }, PasswordOutcome.Rejected);

        Assert.Equal("Sign-in failed for <invalid> (1 so far)", Assert.Single(failed.Notes).ToString());
    }

    [Fact]
    public void OpeningTheMaildropNotesHowManyMessagesItHolds()
    {
        var opened = Pop3Decider.MaildropOpened(Signed, [M1]);

        Assert.Equal("Maildrop of alice opened: 1 messages", Assert.Single(opened.Notes).ToString());
    }

    [Theory]
    [InlineData(Admission.AddressFull)]
    [InlineData(Admission.AddressTooFast)]
    [InlineData(Admission.ShuttingDown)]
    [InlineData(Admission.ServerFull)]
    public void ARefusedConnectionSaysWhy(Admission admission)
    {
        var refused = Pop3Decider.Connect(admission);

        Assert.Equal((Pop3State.Closed, $"refused: {admission}"), (refused.State, refused.Ends));
        Assert.StartsWith("-ERR", Wire(refused), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Pop3State.Authorization, true)]
    [InlineData(Pop3State.Transaction, true)]
    [InlineData(Pop3State.Verifying, false)]
    [InlineData(Pop3State.AuthDelay, false)]
    [InlineData(Pop3State.Opening, false)]
    [InlineData(Pop3State.Update, false)]
    [InlineData(Pop3State.Closed, false)]
    public void CommandLinesAreReadOnlyInAuthorizationAndTransaction(Pop3State state, bool reads) =>
        Assert.Equal(reads, Pop3Decider.ReadsCommands(state));
}
