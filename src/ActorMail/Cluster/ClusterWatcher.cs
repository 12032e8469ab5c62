using System.Collections.Immutable;
using System.Text.Json;
using ActorMail.Configuration;
using ActorMail.Store;
using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace ActorMail.Cluster;

/// <summary>
/// Logs what the cluster does as this node sees it (members joining, leaving, unreachable,
/// downed, removed, with their addresses), and answers <c>actormail cluster</c>: the members and
/// their status, and which node hosts a given mailbox. When this node itself is downed, Akka's
/// coordinated shutdown stops the SMTP and POP3 listeners first (its service-unbind phase) and
/// then the process exits; this actor says so in the log.
/// </summary>
public sealed class ClusterWatcher : ReceiveActor
{
    /// <summary>The watcher's name under /user, where <c>actormail cluster</c> asks.</summary>
    public const string Name = "cluster-watcher";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IReadOnlyList<IActorRef> _listeners = [];

    public ClusterWatcher(NodeOptions options, IActorRef region)
    {
        var extractor = MailboxShards.Extractor(options.Cluster.Shards);
        Receive<ClusterEvent.MemberJoined>(e => _log.Info("Cluster member {Member} joining", e.Member.Address));
        Receive<ClusterEvent.MemberUp>(e => _log.Info("Cluster member {Member} up{Marker}", e.Member.Address, Marker(e.Member)));
        Receive<ClusterEvent.MemberLeft>(e => _log.Info("Cluster member {Member} leaving", e.Member.Address));
        Receive<ClusterEvent.MemberExited>(e => _log.Info("Cluster member {Member} exited", e.Member.Address));
        Receive<ClusterEvent.UnreachableMember>(e => _log.Warning("Cluster member {Member} unreachable", e.Member.Address));
        Receive<ClusterEvent.ReachableMember>(e => _log.Info("Cluster member {Member} reachable again", e.Member.Address));
        Receive<ClusterEvent.MemberDowned>(e =>
        {
            if (e.Member.Address.Equals(_cluster.SelfAddress))
            {
                // At once, not only in coordinated shutdown's later phase: the other side starts
                // this node's mailboxes as soon as it has removed it.
                _log.Warning("This node {Member} was downed: SMTP and POP3 stop accepting now, before its mailboxes start elsewhere; then it exits", e.Member.Address);
                foreach (var listener in _listeners)
                {
                    listener.Tell(Hosting.SessionMessages.StopAccepting.Instance);
                }
            }
            else
            {
                _log.Warning("Cluster member {Member} downed; its mailboxes move to the remaining nodes", e.Member.Address);
            }
        });
        Receive<ClusterEvent.MemberRemoved>(e => _log.Info("Cluster member {Member} removed (was {Previous})", e.Member.Address, e.PreviousStatus));
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
        Receive<Done>(_ => { });
        Receive<StopWhenDowned>(m => _listeners = m.Listeners);

        // The command line's question: a mailbox name, or an empty one for the members only.
        ReceiveAsync<string>(async mailbox =>
        {
            var sender = Sender;
            string? host = null;
            if (mailbox.Length > 0)
            {
                var shard = extractor.ShardId(mailbox, new StoreCommands.CountMessages(mailbox, 0));
                // The region answers within the stats timeout with what the regions it reached
                // told it; the ask's own bound is the command's, for a region that never answers.
                var stats = await region.Ask<ClusterShardingStats>(
                    new GetClusterShardingStats(options.Cluster.ShardStatsTimeout), options.Cluster.QueryTimeout).ConfigureAwait(true);
                host = stats.Regions.Where(r => r.Value.Stats.ContainsKey(shard)).Select(r => r.Key.ToString()).FirstOrDefault();
            }

            sender.Tell(Report(mailbox, host));
        });
    }

    public static Props Props(NodeOptions options, IActorRef region) => Akka.Actor.Props.Create(() => new ClusterWatcher(options, region));

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private string Marker(Member member) => member.Address.Equals(_cluster.SelfAddress) ? " (this node)" : "";

    private string Report(string mailbox, string? host)
    {
        var state = _cluster.State;
        var members = state.Members
            .Select(m => new MemberReport(m.Address.ToString(), m.Status.ToString(), state.Unreachable.Contains(m), m.Address.Equals(_cluster.SelfAddress)))
            .ToImmutableArray();
        return JsonSerializer.Serialize(
            new ClusterReport(_cluster.SelfAddress.ToString(), state.Leader?.ToString(), members, mailbox.Length > 0 ? mailbox : null, host), Json);
    }

    /// <summary>The listeners to stop if this node is downed (they start after the watcher).</summary>
    public sealed record StopWhenDowned(IReadOnlyList<IActorRef> Listeners);

    /// <summary>What <c>actormail cluster</c> prints.</summary>
    public sealed record ClusterReport(string Asked, string? Leader, ImmutableArray<MemberReport> Members, string? Mailbox, string? HostedBy);

    /// <summary>One member as the asked node sees it.</summary>
    public sealed record MemberReport(string Address, string Status, bool Unreachable, bool Asked);
}
