using ActorMail.Configuration;
using ActorMail.Protocol.Store;
using ActorMail.Store;
using Akka.TestKit.Xunit2;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Tests;

/// <summary>The mailbox actor behind its router: lock, and what a failure leaves behind.</summary>
public sealed class MailboxActorSpec : TestKit
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "actormail-mbx-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly NodeOptions _options;

    public MailboxActorSpec()
        : base(NodeConfig.Load(environment: new Dictionary<string, string?>()))
    {
        _options = NodeOptions.FromConfig(NodeConfig.Load(overrideText: $"actormail.data = \"{_root}\"", environment: new Dictionary<string, string?>()));
    }

    [Theory]
    [InlineData("syncfs")]
    [InlineData("fsync")]
    public void A_batch_of_deliveries_is_answered_once_each_and_lands_whole_in_new(string sync)
    {
        var options = NodeOptions.FromConfig(NodeConfig.Load(
            overrideText: $"actormail.data = \"{_root}\"\nactormail.store.sync = {sync}", environment: new Dictionary<string, string?>()));
        var router = Sys.ActorOf(MailboxRouter.Props(options));
        var session = CreateTestProbe();
        var spools = new List<Spool>();
        for (var i = 0; i < 20; i++)
        {
            var spool = Spool.Create(options.DataRoot, $"batch-{sync}-{i}");
            spool.Write(System.Text.Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\nbody {i}\r\n"));
            Assert.True(spool.Complete());
            spools.Add(spool);
            router.Tell(new DeliverMessage("bob", i, spool.Path, spool.Length, Maildir.NewName(spool.Length)), session.Ref);
        }

        var answers = Enumerable.Range(0, 20).Select(_ => session.ExpectMsg<MessageDelivered>()).ToList();
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), answers.Select(a => a.CorrelationId).Order());
        var bob = new Maildir(options.DataRoot, "bob");
        foreach (var answer in answers)
        {
            Assert.Equal($"Subject: {answer.CorrelationId}\r\n\r\nbody {answer.CorrelationId}\r\n", File.ReadAllText(Path.Combine(bob.New, answer.FileName)));
        }

        Assert.Empty(Directory.GetFiles(bob.Tmp));
        spools.ForEach(s => s.Dispose());
    }

    [Fact]
    public void A_delivery_whose_spool_is_gone_fails_alone()
    {
        var router = Sys.ActorOf(MailboxRouter.Props(_options));
        var session = CreateTestProbe();
        var spool = Spool.Create(_options.DataRoot, "present");
        spool.Write("x\r\n"u8);
        Assert.True(spool.Complete());
        router.Tell(new DeliverMessage("bob", 1, Path.Combine(_options.DataRoot, Spool.FolderName, "missing"), 3, Maildir.NewName(3)), session.Ref);
        router.Tell(new DeliverMessage("bob", 2, spool.Path, spool.Length, Maildir.NewName(spool.Length)), session.Ref);
        var answers = new[] { session.ExpectMsg<object>(), session.ExpectMsg<object>() };
        Assert.Contains(answers, a => a is DeliveryFailed { CorrelationId: 1 });
        Assert.Contains(answers, a => a is MessageDelivered { CorrelationId: 2 });
        spool.Dispose();
    }

    [Fact]
    public void A_delivery_asked_again_is_answered_as_stored_and_kept_once()
    {
        // In a cluster a session asks again when no answer came: the first request may have been
        // stored by a node that died before answering, or be answered after the second.
        var router = Sys.ActorOf(MailboxRouter.Props(_options));
        var session = CreateTestProbe();
        using var spool = Spool.Create(_options.DataRoot, $"again-{Guid.NewGuid():N}");
        spool.Write("Subject: again\r\n\r\nbody\r\n"u8);
        Assert.True(spool.Complete());
        var name = Maildir.NewName(spool.Length);
        var bob = new Maildir(_options.DataRoot, "bob");
        bob.EnsureExists();
        var before = Directory.GetFiles(bob.New).Length;

        router.Tell(new DeliverMessage("bob", 1, spool.Path, spool.Length, name), session.Ref);
        router.Tell(new DeliverMessage("bob", 1, spool.Path, spool.Length, name), session.Ref);
        Assert.Equal(name, session.ExpectMsg<MessageDelivered>().FileName);
        Assert.Equal(name, session.ExpectMsg<MessageDelivered>().FileName);
        router.Tell(new DeliverMessage("bob", 1, spool.Path, spool.Length, name), session.Ref);
        Assert.Equal(name, session.ExpectMsg<MessageDelivered>().FileName);

        Assert.Equal(before + 1, Directory.GetFiles(bob.New).Length);
        Assert.Equal("Subject: again\r\n\r\nbody\r\n", File.ReadAllText(Path.Combine(bob.New, name)));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData(".hidden")]
    [InlineData("")]
    public void A_delivery_name_that_is_not_one_file_name_fails(string name)
    {
        var router = Sys.ActorOf(MailboxRouter.Props(_options));
        var session = CreateTestProbe();
        using var spool = Spool.Create(_options.DataRoot, $"bad-name-{Guid.NewGuid():N}");
        spool.Write("x\r\n"u8);
        Assert.True(spool.Complete());

        router.Tell(new DeliverMessage("bob", 1, spool.Path, spool.Length, name), session.Ref);

        session.ExpectMsg<DeliveryFailed>();
        Assert.False(File.Exists(Path.Combine(_options.DataRoot, "escape")));
    }

    // The next sign-in gets the mailbox's listing again, the same object, while new/ and cur/
    // keep the times it was made at; a folder changed within the settle time is listed afresh,
    // and so is one whose time moved.
    [Fact]
    public void A_listing_is_kept_for_the_next_sign_in_only_while_the_folders_are_unchanged()
    {
        var router = Sys.ActorOf(MailboxRouter.Props(_options));
        var session = CreateTestProbe();
        var alice = new Maildir(_options.DataRoot, "alice");
        alice.EnsureExists();
        File.WriteAllText(Path.Combine(alice.New, "1700000000.M000001P1Q1.h,S=3"), "x\r\n");
        Maildrop Open(long id)
        {
            router.Tell(new OpenMaildrop("alice", id), session.Ref);
            var opened = session.ExpectMsg<MaildropOpened>().Messages;
            router.Tell(new CommitDeletions("alice", id, []), session.Ref);
            session.ExpectMsg<DeletionsCommitted>();
            return opened;
        }

        // Just changed: not kept.
        Assert.NotSame(Open(1), Open(2));

        var settled = DateTime.UtcNow - TimeSpan.FromHours(1);
        Directory.SetLastWriteTimeUtc(alice.New, settled);
        Directory.SetLastWriteTimeUtc(alice.Cur, settled);
        var kept = Open(3);
        Assert.Same(kept, Open(4));
        Assert.Single(kept);

        File.WriteAllText(Path.Combine(alice.Cur, "1700000001.M000002P1Q2.h,S=3:2,S"), "y\r\n");
        var relisted = Open(5);
        Assert.NotSame(kept, relisted);
        Assert.Equal(2, relisted.Count);
    }

    [Fact]
    public void A_failing_mailbox_tells_the_lock_holder_and_restarts_from_disk()
    {
        var router = Sys.ActorOf(MailboxRouter.Props(_options));
        var holder = CreateTestProbe();
        var sender = CreateTestProbe();
        router.Tell(new OpenMaildrop("alice", 1), holder.Ref);
        holder.ExpectMsg<MaildropOpened>();
        router.Tell(new OpenMaildrop("alice", 2), sender.Ref);
        sender.ExpectMsg<MaildropLocked>();

        // A request no handler expects to fail (a null name): the actor throws and is restarted.
        router.Tell(new RetractMessage("alice", null!), sender.Ref);
        holder.ExpectMsg<MaildropLost>();

        router.Tell(new OpenMaildrop("alice", 4), sender.Ref);
        Assert.Equal(4, sender.ExpectMsg<MaildropOpened>().CorrelationId);
    }

    [Fact]
    public void A_delivery_queued_behind_the_stop_of_a_handoff_is_still_stored_and_answered()
    {
        // At handoff a message from another node's region can reach the entity after the shard's
        // stop message: it must be answered, not dropped with the stopped actor (its session would
        // wait out the store timeout and answer 451 during a graceful leave).
        var mailbox = Sys.ActorOf(MailboxActor.Props(_options, "bob"));
        var session = CreateTestProbe();
        var spool = Spool.Create(_options.DataRoot, $"behind-stop-{Guid.NewGuid():N}");
        spool.Write("Subject: late\r\n\r\nbody\r\n"u8);
        Assert.True(spool.Complete());
        Watch(mailbox);
        mailbox.Tell(MailboxActor.StopMailbox.Instance, Akka.Actor.ActorRefs.NoSender);
        mailbox.Tell(new DeliverMessage("bob", 7, spool.Path, spool.Length, Maildir.NewName(spool.Length)), session.Ref);
        Assert.Equal(7, session.ExpectMsg<MessageDelivered>().CorrelationId);
        ExpectTerminated(mailbox);
        spool.Dispose();
    }

    [Fact]
    public void A_mailbox_actor_stopped_while_its_maildrop_is_held_tells_the_holder()
    {
        var mailbox = Sys.ActorOf(MailboxActor.Props(_options, "alice"));
        var holder = CreateTestProbe();
        mailbox.Tell(new OpenMaildrop("alice", 1), holder.Ref);
        holder.ExpectMsg<MaildropOpened>();

        // What a shard sends at handoff or rebalance.
        mailbox.Tell(MailboxActor.StopMailbox.Instance, Akka.Actor.ActorRefs.NoSender);

        Assert.Equal("alice", holder.ExpectMsg<MaildropLost>().Mailbox);
    }

    [Fact]
    public void In_a_cluster_an_idle_mailbox_asks_to_be_passivated_unless_its_maildrop_is_held()
    {
        var options = NodeOptions.FromConfig(NodeConfig.Load(
            overrideText: $"actormail.data = \"{_root}\"\nactormail.cluster.passivate-idle-after = 300ms", environment: new Dictionary<string, string?>()));
        options = options with { Cluster = options.Cluster with { Enabled = true } };
        var shard = CreateTestProbe();
        var held = shard.ChildActorOf(MailboxActor.Props(options, "alice"));
        var idle = shard.ChildActorOf(MailboxActor.Props(options, "bob"));
        var holder = CreateTestProbe();
        held.Tell(new OpenMaildrop("alice", 1), holder.Ref);
        holder.ExpectMsg<MaildropOpened>();

        var passivate = shard.ExpectMsg<Akka.Cluster.Sharding.Passivate>(TimeSpan.FromSeconds(5));
        Assert.Equal(idle, shard.LastSender);
        Assert.IsType<MailboxActor.StopMailbox>(passivate.StopMessage);
        // A shard would now stop the idle one; the held one never asks.
        Sys.Stop(idle);
        shard.ExpectNoMsg(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Listing_reading_and_deleting_go_through_the_actor_and_publish_events()
    {
        var router = Sys.ActorOf(MailboxRouter.Props(_options));
        var client = CreateTestProbe();
        var events = CreateTestProbe();
        Sys.EventStream.Subscribe(events.Ref, typeof(MailboxEvent));
        var first = Deliver(router, "bob", 1, "From: Ann <ann@example.org>\r\nTo: bob@localhost\r\nSubject: first\r\n\r\nhello   there\r\n");
        var second = Deliver(router, "bob", 2, "Subject: second\r\n\r\n<p>html</p>\r\n");
        Assert.Equal(MaildirNameUid(first), events.ExpectMsg<MessageArrived>().Id);
        Assert.Equal(MaildirNameUid(second), events.ExpectMsg<MessageArrived>().Id);

        router.Tell(new ListMessages("bob", 3), client.Ref);
        var listed = client.ExpectMsg<MessagesListed>();
        Assert.Equal(3, listed.CorrelationId);
        Assert.Equal(["second", "first"], listed.Messages.Select(m => m.Subject));
        Assert.Equal("ann@example.org", listed.Messages[1].From!.Address);
        Assert.Equal("hello there", listed.Messages[1].Snippet);

        router.Tell(new CountMessages("bob", 4), client.Ref);
        var counted = client.ExpectMsg<MessagesCounted>();
        Assert.Equal(2, counted.Messages);
        Assert.Equal(listed.Messages.Sum(m => m.Size), counted.Octets);

        var id = listed.Messages[1].Id;
        router.Tell(new ReadMessage("bob", 5, id), client.Ref);
        var read = client.ExpectMsg<MessageRead>();
        Assert.Equal(File.ReadAllBytes(Path.Combine(new Maildir(_options.DataRoot, "bob").New, first)), read.Content.ToArray());
        router.Tell(new ReadMessage("bob", 6, "../../alice/new/x"), client.Ref);
        Assert.Equal(6, client.ExpectMsg<MessageNotFound>().CorrelationId);

        router.Tell(new DeleteMessages("bob", 7, [id, "1.M1P1Q1.gone,S=1"]), client.Ref);
        Assert.Equal(id, Assert.Single(client.ExpectMsg<MessagesDeleted>().Ids));
        Assert.Equal(id, events.ExpectMsg<MessageRemoved>().Id);
        router.Tell(new DeleteAllMessages("bob", 8), client.Ref);
        Assert.Single(client.ExpectMsg<MessagesDeleted>().Ids);
        events.ExpectMsg<MessageRemoved>();
        Assert.Empty(new Maildir(_options.DataRoot, "bob").OpenDrop());
    }

    [Fact]
    public void A_delete_while_a_pop3_session_holds_the_maildrop_is_refused_and_deletes_nothing()
    {
        var router = Sys.ActorOf(MailboxRouter.Props(_options));
        var pop3 = CreateTestProbe();
        var client = CreateTestProbe();
        Deliver(router, "alice", 1, "Subject: kept\r\n\r\nx\r\n");
        router.Tell(new OpenMaildrop("alice", 2), pop3.Ref);
        pop3.ExpectMsg<MaildropOpened>();

        router.Tell(new DeleteAllMessages("alice", 3), client.Ref);
        Assert.Equal(3, client.ExpectMsg<MaildropLocked>().CorrelationId);
        router.Tell(new ReadMessage("alice", 4, MaildirNameUid(Assert.Single(new Maildir(_options.DataRoot, "alice").OpenDrop()).FileName)), client.Ref);
        client.ExpectMsg<MessageRead>();
        Assert.Single(new Maildir(_options.DataRoot, "alice").OpenDrop());
    }

    private static string MaildirNameUid(string fileName) => Protocol.Mail.MaildirName.Uid(Path.GetFileName(fileName));

    private string Deliver(Akka.Actor.IActorRef router, string mailbox, long correlation, string text)
    {
        var probe = CreateTestProbe();
        var spool = Spool.Create(_options.DataRoot, $"{mailbox}-{correlation}-{Guid.NewGuid():N}");
        spool.Write(System.Text.Encoding.ASCII.GetBytes(text));
        Assert.True(spool.Complete());
        router.Tell(new DeliverMessage(mailbox, correlation, spool.Path, spool.Length, Maildir.NewName(spool.Length)), probe.Ref);
        var name = probe.ExpectMsg<MessageDelivered>().FileName;
        spool.Dispose();
        return name;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
