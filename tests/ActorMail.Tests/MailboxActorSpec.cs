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
