using System.Net;
using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Session;
using ActorMail.Protocol.Smtp;
using ActorMail.Protocol.Store;

namespace ActorMail.Protocol.Tests.Smtp;

/// <summary>The rows of the SMTP decider after DATA: each mailbox's answer, the store timeout, and what else can happen while a message is stored.</summary>
public class SmtpStoreTests
{
    private static readonly SmtpPolicy Policy = new(
        Hostname: "mx.test",
        MaxMessageSize: 1000,
        MaxRecipients: 10,
        MaxBadCommands: 10,
        MaxRefusedRecipients: 100,
        MaxJunkCommands: 100,
        LocalDomains: new HashSet<string> { "localhost" },
        LocalAddresses: new HashSet<IPAddress> { IPAddress.Loopback },
        Users: new HashSet<string> { "alice", "bob", "carol" },
        PostmasterMailbox: "root");

    private static readonly StoredCopy AliceCopy = new("alice", "1.M1P1Q1.mx,S=10");
    private static readonly StoredCopy BobCopy = new("bob", "1.M1P1Q2.mx,S=10");

    // A session of id s7 that has sent a message for the given users and waits for their mailboxes.
    private static SmtpDecision Storing(params string[] users)
    {
        var at = SmtpDecider.Connect(Policy, Admission.Accepted, "s7");
        foreach (var line in new[] { "EHLO client.test", "MAIL FROM:<s@remote.test>" }.Concat(users.Select(u => $"RCPT TO:<{u}@localhost>")).Append("DATA"))
        {
            at = SmtpDecider.Decide(Policy, at.State, at.Data, SmtpParser.Parse(Ascii.Bytes(line)));
        }

        var stored = SmtpDecider.DataEnded(Policy, at.Data, new DataOutcome(10, false, false, false));
        Assert.Equal(SmtpState.Storing, stored.State);
        Assert.Equal(users, Assert.IsType<SmtpEffect.Deliver>(stored.Effect).Mailboxes);
        return stored;
    }

    private static string Wire(SmtpDecision decision) => string.Concat(decision.Replies.Select(r => r.Render()));

    [Fact]
    public void TheMessageIsAnsweredOnlyWhenEveryMailboxHasStoredIt()
    {
        var one = SmtpDecider.MailboxStored(Storing("alice", "bob").Data, AliceCopy);
        Assert.Equal((SmtpState.Storing, "", null), (one.State, Wire(one), one.Effect));

        var both = SmtpDecider.MailboxStored(one.Data, BobCopy);

        Assert.Equal("250 2.0.0 OK: queued as s7.1\r\n", Wire(both));
        Assert.Equal(SmtpState.Ready, both.State);
        var settle = Assert.IsType<SmtpEffect.Settle>(both.Effect);
        Assert.Equal((true, 0), (settle.Stored, settle.TakeBack.Length));
        Assert.Equal((1, null, null, 0), (both.Data.MessagesAccepted, both.Data.Delivery, both.Data.Mail, both.Data.Recipients.Count));
        Assert.Equal("Message s7.1 stored for alice,bob (10 octets)", Assert.Single(both.Notes).ToString());
    }

    [Fact]
    public void OneFailedMailboxFailsTheMessageAndTakesBackEveryCopyKept()
    {
        var one = SmtpDecider.MailboxStored(Storing("alice", "bob", "carol").Data, AliceCopy);
        var two = SmtpDecider.MailboxFailed(one.Data, "bob", StoreFailure.Error);
        Assert.Equal((SmtpState.Storing, ""), (two.State, Wire(two)));

        var three = SmtpDecider.MailboxStored(two.Data, new StoredCopy("carol", "c"));

        Assert.Equal("451 4.3.0 Local error in processing, message not stored\r\n", Wire(three));
        Assert.Equal(SmtpState.Ready, three.State);
        var settle = Assert.IsType<SmtpEffect.Settle>(three.Effect);
        Assert.False(settle.Stored);
        Assert.Equal([AliceCopy, new StoredCopy("carol", "c")], settle.TakeBack.ToArray());
        Assert.Equal(0, three.Data.MessagesAccepted);
    }

    [Theory]
    [InlineData(StoreFailure.Full, StoreFailure.Error)]
    [InlineData(StoreFailure.Error, StoreFailure.Full)]
    public void AFullDiskWinsOverAnErrorWhicheverAnswersFirst(StoreFailure first, StoreFailure second)
    {
        var one = SmtpDecider.MailboxFailed(Storing("alice", "bob").Data, "alice", first);

        var both = SmtpDecider.MailboxFailed(one.Data, "bob", second);

        Assert.StartsWith("452 4.3.1", Wire(both), StringComparison.Ordinal);
        Assert.Empty(Assert.IsType<SmtpEffect.Settle>(both.Effect).TakeBack);
    }

    [Fact]
    public void TheStoreTimeoutFailsTheMessageAndTakesBackWhatWasKept()
    {
        var one = SmtpDecider.MailboxStored(Storing("alice", "bob").Data, AliceCopy);

        var timedOut = SmtpDecider.StoreTimedOut(one.Data);

        Assert.StartsWith("451 4.3.0", Wire(timedOut), StringComparison.Ordinal);
        Assert.Equal(SmtpState.Ready, timedOut.State);
        Assert.Equal([AliceCopy], Assert.IsType<SmtpEffect.Settle>(timedOut.Effect).TakeBack.ToArray());
    }

    [Fact]
    public void ACopyStoredAfterTheTimeoutIsTakenBackAndChangesNothingElse()
    {
        var timedOut = SmtpDecider.StoreTimedOut(Storing("alice", "bob").Data);

        var late = SmtpDecider.LateDelivery(timedOut.State, timedOut.Data, BobCopy, messageStored: false);

        Assert.Equal((SmtpState.Ready, timedOut.Data, ""), (late.State, late.Data, Wire(late)));
        Assert.Equal(new SmtpEffect.Retract(BobCopy), late.Effect);
    }

    [Fact]
    public void TheStoreTimeoutAlsoNamesTheMailboxesThatNeverAnswered()
    {
        var one = SmtpDecider.MailboxStored(Storing("alice", "bob", "carol").Data, AliceCopy);

        var timedOut = SmtpDecider.StoreTimedOut(one.Data);

        // Their copy may exist although the answer never came (a node died after storing it).
        Assert.Equal(["bob", "carol"], Assert.IsType<SmtpEffect.Settle>(timedOut.Effect).Unanswered.Order().ToArray());
    }

    [Fact]
    public void AMailboxThatAnswersTwiceIsCountedOnce()
    {
        var one = SmtpDecider.MailboxStored(Storing("alice", "bob").Data, AliceCopy);

        var again = SmtpDecider.MailboxStored(one.Data, AliceCopy);

        Assert.Equal((SmtpState.Storing, "", null), (again.State, Wire(again), again.Effect));
        Assert.Equal([AliceCopy], again.Data.Delivery!.Kept.ToArray());
        var both = SmtpDecider.MailboxStored(again.Data, BobCopy);
        Assert.Equal("250 2.0.0 OK: queued as s7.1\r\n", Wire(both));
    }

    [Fact]
    public void AFailureAfterAMailboxStoredItsCopyChangesNothing()
    {
        var one = SmtpDecider.MailboxStored(Storing("alice", "bob").Data, AliceCopy);

        var late = SmtpDecider.MailboxFailed(one.Data, "alice", StoreFailure.Error);
        var both = SmtpDecider.MailboxStored(late.Data, BobCopy);

        Assert.Equal("250 2.0.0 OK: queued as s7.1\r\n", Wire(both));
    }

    [Fact]
    public void ACopyStoredAfterItsMailboxFailedIsTakenBackWithTheRest()
    {
        var failed = SmtpDecider.MailboxFailed(Storing("alice", "bob").Data, "alice", StoreFailure.Error);
        var stored = SmtpDecider.MailboxStored(failed.Data, AliceCopy);

        var settled = SmtpDecider.MailboxStored(stored.Data, BobCopy);

        Assert.StartsWith("451 4.3.0", Wire(settled), StringComparison.Ordinal);
        Assert.Equal([AliceCopy, BobCopy], Assert.IsType<SmtpEffect.Settle>(settled.Effect).TakeBack.ToArray());
    }

    [Fact]
    public void MailboxesThatHaveNotAnsweredAreAskedAgain()
    {
        var one = SmtpDecider.MailboxStored(Storing("alice", "bob", "carol").Data, AliceCopy);

        var due = SmtpDecider.ResendDue(SmtpState.Storing, one.Data);

        Assert.Equal((SmtpState.Storing, one.Data, ""), (due.State, due.Data, Wire(due)));
        Assert.Equal(["bob", "carol"], Assert.IsType<SmtpEffect.Resend>(due.Effect).Mailboxes.Order().ToArray());
        Assert.Equal("Mailboxes bob,carol have not answered; asking again", Assert.Single(due.Notes).ToString());
    }

    [Fact]
    public void NothingIsAskedAgainOnceTheMessageIsAnswered()
    {
        var stored = SmtpDecider.MailboxStored(Storing("alice").Data, AliceCopy);

        var due = SmtpDecider.ResendDue(stored.State, stored.Data);

        Assert.Equal((SmtpState.Ready, stored.Data, "", null), (due.State, due.Data, Wire(due), due.Effect));
    }

    [Fact]
    public void ALateAnswerForAStoredMessageIsNotTakenBack()
    {
        var stored = SmtpDecider.MailboxStored(Storing("alice").Data, AliceCopy);

        var late = SmtpDecider.LateDelivery(stored.State, stored.Data, AliceCopy, messageStored: true);

        Assert.Equal((SmtpState.Ready, stored.Data, "", null), (late.State, late.Data, Wire(late), late.Effect));
    }

    [Theory]
    [InlineData(StoreFailure.Error, "451 4.3.0")]
    [InlineData(StoreFailure.Full, "452 4.3.1")]
    public void ASpoolThatCannotBeFinishedFailsTheMessageWithoutAskingAMailbox(StoreFailure failure, string reply)
    {
        var failed = SmtpDecider.SpoolFailed(Storing("alice").Data, failure);

        Assert.StartsWith(reply, Wire(failed), StringComparison.Ordinal);
        var settle = Assert.IsType<SmtpEffect.Settle>(failed.Effect);
        Assert.Equal((false, 0), (settle.Stored, settle.TakeBack.Length));
    }

    [Fact]
    public void ShutdownWhileStoringAnswersTheMessageFirstThenCloses()
    {
        var waiting = SmtpDecider.Shutdown(SmtpState.Storing, Storing("alice").Data);
        Assert.Equal((SmtpState.Storing, "", null), (waiting.State, Wire(waiting), waiting.Ends));

        var stored = SmtpDecider.MailboxStored(waiting.Data, AliceCopy);

        Assert.Equal("250 2.0.0 OK: queued as s7.1\r\n421 4.3.2 Service shutting down, closing connection\r\n", Wire(stored));
        Assert.Equal((SmtpState.Closed, "shutdown"), (stored.State, stored.Ends));
        Assert.True(Assert.IsType<SmtpEffect.Settle>(stored.Effect).Stored);
    }

    [Fact]
    public void TheLifetimeEndingWhileStoringAnswersAFailedMessageFirstThenCloses()
    {
        var waiting = SmtpDecider.LifetimeOver(SmtpState.Storing, Storing("alice").Data);
        Assert.Equal((SmtpState.Storing, ""), (waiting.State, Wire(waiting)));

        var failed = SmtpDecider.MailboxFailed(waiting.Data, "alice", StoreFailure.Error);

        Assert.Equal(2, failed.Replies.Count);
        Assert.Equal((451, 421), (failed.Replies[0].Code, failed.Replies[1].Code));
        Assert.Equal((SmtpState.Closed, "session lifetime"), (failed.State, failed.Ends));
    }

    [Fact]
    public void TheFirstReasonToCloseWhileStoringIsTheOneKept()
    {
        var lifetime = SmtpDecider.LifetimeOver(SmtpState.Storing, Storing("alice").Data);
        var shutdown = SmtpDecider.Shutdown(SmtpState.Storing, lifetime.Data);

        var stored = SmtpDecider.MailboxStored(shutdown.Data, AliceCopy);

        Assert.Equal("session lifetime", stored.Ends);
        Assert.Equal(2, stored.Replies.Count);
    }

    [Theory]
    [InlineData(SmtpState.Greeted)]
    [InlineData(SmtpState.Ready)]
    [InlineData(SmtpState.MailGiven)]
    [InlineData(SmtpState.RcptGiven)]
    public void AHalfClosedClientIsClosedWithoutAReply(SmtpState state)
    {
        var closed = SmtpDecider.PeerClosed(state, SmtpConversation.Start);

        Assert.Equal((SmtpState.Closed, "", null, "peer closed"), (closed.State, Wire(closed), closed.Effect, closed.Ends));
    }

    [Fact]
    public void AHalfClosedClientInTheMiddleOfABodyLosesTheBody()
    {
        var closed = SmtpDecider.PeerClosed(SmtpState.ReceivingData, SmtpConversation.Start);

        // The spool goes with the session: closed, it is dropped, and no mailbox is asked.
        Assert.Equal((SmtpState.Closed, "", "peer closed", null), (closed.State, Wire(closed), closed.Ends, closed.Effect));
    }

    [Fact]
    public void AHalfClosedClientIsAnsweredTheMessageItIsWaitingFor()
    {
        var storing = Storing("alice");

        var waiting = SmtpDecider.PeerClosed(SmtpState.Storing, storing.Data);

        Assert.Equal((SmtpState.Storing, storing.Data, "", null), (waiting.State, waiting.Data, Wire(waiting), waiting.Effect));
    }

    [Theory]
    [InlineData(Admission.AddressFull, "refused: AddressFull")]
    [InlineData(Admission.AddressTooFast, "refused: AddressTooFast")]
    [InlineData(Admission.ShuttingDown, "refused: ShuttingDown")]
    [InlineData(Admission.ServerFull, "refused: ServerFull")]
    public void ARefusedConnectionSaysWhy(Admission admission, string why)
    {
        var refused = SmtpDecider.Connect(Policy, admission, "s1");

        Assert.Equal((SmtpState.Closed, why), (refused.State, refused.Ends));
        Assert.StartsWith("421", Wire(refused), StringComparison.Ordinal);
    }

    [Fact]
    public void QueueIdsNameTheSessionAndCountItsMessages()
    {
        var first = SmtpDecider.MailboxStored(Storing("alice").Data, AliceCopy);
        var again = first.Data with { Mail = Storing("alice").Data.Mail, Recipients = Storing("alice").Data.Recipients };
        var second = SmtpDecider.DataEnded(Policy, again, new DataOutcome(10, false, false, false));

        var stored = SmtpDecider.MailboxStored(second.Data, AliceCopy);

        Assert.Equal("250 2.0.0 OK: queued as s7.2\r\n", Wire(stored));
    }
}
