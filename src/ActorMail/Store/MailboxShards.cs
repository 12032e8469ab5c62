using ActorMail.Configuration;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Store;

/// <summary>
/// The cluster's stand-in for <see cref="MailboxRouter"/>: a shard region whose entities are the
/// <see cref="MailboxActor"/>s, so each mailbox has one actor in the whole cluster. Sessions talk
/// to the region's ref exactly as to the router's.
/// </summary>
public static class MailboxShards
{
    /// <summary>The entity type's name; the region is <c>/system/sharding/mailbox</c> on every node.</summary>
    public const string TypeName = "mailbox";

    /// <summary>Checks what a cluster node relies on, then starts this node's region.</summary>
    public static IActorRef Start(ActorSystem system, NodeOptions options)
    {
        CheckSerializers(system, StoreMessageTypes);
        // The extension first: it adds sharding's defaults under the node's configuration.
        var sharding = ClusterSharding.Get(system);
        var settings = sharding.Settings;
        // With the persistence store the coordinator's state was lost with its node and mailboxes
        // ran twice; remember-entities with distributed data fails at run time here.
        if (settings.StateStoreMode != StateStoreMode.DData || settings.RememberEntities)
        {
            throw new ConfigurationException("akka.cluster.sharding must use state-store-mode = ddata without remember-entities");
        }

        return sharding.Start(
            TypeName,
            mailbox => MailboxActor.Props(options, mailbox),
            settings,
            Extractor(options.Cluster.Shards),
            sharding.DefaultShardAllocationStrategy(settings),
            MailboxActor.StopMailbox.Instance);
    }

    /// <summary>Every message type of the store contract, each of which may cross between nodes.</summary>
    public static IReadOnlyList<Type> StoreMessageTypes { get; } =
        [.. typeof(StoreCommands).GetNestedTypes().Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IStoreMessage).IsAssignableFrom(t))];

    /// <summary>
    /// Refuses to start unless each of <paramref name="types"/> is bound to <see cref="StoreSerializer"/>
    /// and known to it: remoting would otherwise pick a general-purpose serializer without a word,
    /// or fail on the first message of that type at run time.
    /// </summary>
    public static void CheckSerializers(ActorSystem system, IEnumerable<Type> types)
    {
        var serialization = system.Serialization;
        var known = StoreSerializer.Types.ToHashSet();
        var unbound = types
            .Where(t => serialization.FindSerializerForType(t) is not StoreSerializer || !known.Contains(t))
            .Select(t => t.Name)
            .ToList();
        if (unbound.Count > 0)
        {
            throw new ConfigurationException(
                $"store messages without the store serializer (akka.actor.serialization-bindings, StoreSerializer): {string.Join(", ", unbound)}");
        }
    }

    /// <summary>Picks the entity (the mailbox) and the shard of a store command.</summary>
    public static IMessageExtractor Extractor(int shards) => new MailboxExtractor(shards);

    // Akka's hash of the entity id picks the shard: the same on every node, unlike string.GetHashCode.
    private sealed class MailboxExtractor(int shards) : HashCodeMessageExtractor(shards)
    {
        public override string? EntityId(object message) => (message as IMailboxCommand)?.Mailbox;
    }
}
