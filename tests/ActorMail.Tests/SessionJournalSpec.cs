using ActorMail.Hosting;
using System.Text;
using ActorMail.Configuration;
using ActorMail.Http;
using Akka.TestKit.Xunit2;
using static ActorMail.Http.SessionJournalCommands;

namespace ActorMail.Tests;

/// <summary>The sessions journal: bounded in sessions, commands and reply lines; visible to the session's user and admins only.</summary>
public sealed class SessionJournalSpec : TestKit
{
    private static readonly JournalOptions Small = new(Sessions: 2, Commands: 3, ReplyLines: 2, LineChars: 20);

    [Fact]
    public void A_transcript_keeps_states_masked_commands_and_cut_replies_for_its_user()
    {
        var journal = Sys.ActorOf(SessionJournal.Props(Small));
        Tell(journal, "p1", new SessionOpened("POP3", "127.0.0.1:4000", ["Authorization", "Transaction"]));
        Tell(journal, "p1", CommandJournaled.Of("Authorization", "USER alice"u8, ["+OK"], "Authorization"));
        Tell(journal, "p1", CommandJournaled.Of("Authorization", "PASS alice-demo"u8, [], "Verifying"));
        Tell(journal, "p1", CommandJournaled.Of("Opening", [], ["+OK 3 messages"], "Transaction", "alice"));
        Tell(journal, "p1", CommandJournaled.Of("Transaction", "LIST"u8, ["+OK\r\n1 10\r\n2 20\r\n3 30\r\n."], "Transaction", "alice"));
        Tell(journal, "p1", new SessionEnded("quit"));

        var session = Read(journal, "p1", "alice")!;
        Assert.Equal("alice", session.User);
        Assert.Equal("quit", session.End);
        Assert.Equal(["USER alice", "PASS ****", ""], session.Transcript.Select(t => t.Command));
        Assert.Equal(1, session.CommandsNotKept);
        Assert.Equal(("Authorization", "Verifying"), (session.Transcript[1].Before, session.Transcript[1].After));
        Assert.DoesNotContain(session.Transcript, t => t.Command.Contains("alice-demo", StringComparison.Ordinal));
        Assert.Null(Read(journal, "p1", "bob"));
        Assert.NotNull(Read(journal, "p1", null));
    }

    [Fact]
    public void Only_the_newest_sessions_are_kept_and_long_replies_are_cut()
    {
        var journal = Sys.ActorOf(SessionJournal.Props(Small));
        foreach (var id in new[] { "s1", "s2", "s3" })
        {
            Tell(journal, id, new SessionOpened("SMTP", "127.0.0.1:5000", ["Greeted"]));
        }

        Tell(journal, "s3", CommandJournaled.Of("Greeted", Encoding.ASCII.GetBytes("EHLO " + new string('x', 40)), ["250-a\r\n250-b\r\n250 c"], "Ready"));
        journal.Tell(new ListSessions(null), TestActor);
        Assert.Equal(["s3", "s2"], ExpectMsg<SessionsListed>().Sessions.Select(s => s.Id));

        var line = Assert.Single(Read(journal, "s3", null)!.Transcript);
        Assert.Equal("EHLO " + new string('x', 15) + "…", line.Command);
        Assert.Equal<string>(["250-a", "250-b", "… 1 more lines"], line.Replies);
        Assert.Null(Read(journal, "s1", null));
    }

    private static void Tell(Akka.Actor.IActorRef journal, string id, JournalEntry entry) => journal.Tell(new Journaled(id, DateTimeOffset.UtcNow, entry), Akka.Actor.ActorRefs.NoSender);

    private SessionRecord? Read(Akka.Actor.IActorRef journal, string id, string? user)
    {
        journal.Tell(new ReadSession(id, user), TestActor);
        return ExpectMsg<SessionRead>().Session;
    }
}
