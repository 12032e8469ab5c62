using ActorMail.Configuration;
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
            router.Tell(new DeliverMessage("bob", i, spool.Path, spool.Length), session.Ref);
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
        router.Tell(new DeliverMessage("bob", 1, Path.Combine(_options.DataRoot, Spool.FolderName, "missing"), 3), session.Ref);
        router.Tell(new DeliverMessage("bob", 2, spool.Path, spool.Length), session.Ref);
        var answers = new[] { session.ExpectMsg<object>(), session.ExpectMsg<object>() };
        Assert.Contains(answers, a => a is DeliveryFailed { CorrelationId: 1 });
        Assert.Contains(answers, a => a is MessageDelivered { CorrelationId: 2 });
        spool.Dispose();
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

    protected override void AfterAll()
    {
        base.AfterAll();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
