using System.Collections.Immutable;
using System.Text.Json;
using ActorMail.Configuration;
using ActorMail.Protocol.Store;
using ActorMail.Store;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Tests;

/// <summary>Every store message survives the trip between two nodes, and a node refuses to start with one that would not.</summary>
public sealed class StoreSerializerTests : TestKit
{
    private static readonly DateTimeOffset When = new(2026, 12, 2, 5, 30, 1, TimeSpan.FromHours(-5));

    public StoreSerializerTests()
        : base(NodeConfig.Load(environment: new Dictionary<string, string?>()))
    {
    }

    /// <summary>One example of each store message, with every field set to something other than its default.</summary>
    public static TheoryData<IStoreMessage> Examples => new(
        new DeliverMessage("alice", 7, "/mail/.spool/3a306dff2815.1.n1", 1234, "1764653401.M1P2Q3.host,S=1234"),
        new MessageDelivered("alice", 7, "1764653401.M1P2Q3.host,S=1234"),
        new DeliveryFailed("alice", 7, StoreFailure.Full, "No space left on device"),
        new RetractMessage("alice", "1764653401.M1P2Q3.host,S=1234"),
        new OpenMaildrop("bob", 8),
        new MaildropOpened("bob", 8, [new DropMessage("new/a,S=5", "a,S=5", 5), new DropMessage("cur/b,S=6:2,S", "b,S=6", 6)]),
        new MaildropLocked("bob", 8),
        new MaildropFailed("bob", 8, "Permission denied"),
        new CommitDeletions("bob", 9, ["new/a,S=5", "cur/b,S=6:2,S"]),
        new DeletionsCommitted("bob", 9, 2),
        new DeletionsFailed("bob", 9, "I/O error"),
        new MaildropLost("bob"),
        new CountMessages("alice", 10),
        new MessagesCounted("alice", 10, 3, 4567),
        new ListMessages("alice", 11),
        new MessagesListed("alice", 11, [
            new MessageSummary("a,S=5", new Correspondent("Ann Ö", "ann@example.org"), [new Correspondent("", "alice@localhost")],
                [new Correspondent("Cc", "cc@example.org")], "Grüße", When, When.ToUniversalTime(), 5, "hello there", true),
            new MessageSummary("b,S=6", null, [], [], "", null, null, 6, "", false),
        ]),
        new ReadMessage("alice", 12, "a,S=5"),
        new MessageRead("alice", 12, "a,S=5", [0, 13, 10, 255, 46]),
        new MessageNotFound("alice", 12, "zz"),
        new DeleteMessages("alice", 13, ["a,S=5", "b,S=6"]),
        new DeleteAllMessages("alice", 14),
        new MessagesDeleted("alice", 14, ["a,S=5"]),
        new RequestFailed("alice", 15, "Input/output error"));

    [Theory]
    [MemberData(nameof(Examples))]
    public void Each_store_message_round_trips_through_the_serializer_the_node_binds(IStoreMessage message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<StoreSerializer>(serializer);

        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);

        Assert.IsType(message.GetType(), back);
        // Records holding arrays compare those by reference: compare what they hold instead.
        Assert.Equal(JsonSerializer.Serialize(message, message.GetType()), JsonSerializer.Serialize(back, back.GetType()));
    }

    [Fact]
    public void Every_store_message_type_has_an_example_above()
    {
        var covered = ((IEnumerable<object[]>)Examples).Select(row => row[0].GetType()).ToHashSet();
        Assert.Empty(MailboxShards.StoreMessageTypes.Where(t => !covered.Contains(t)).Select(t => t.Name));
        Assert.Equal(MailboxShards.StoreMessageTypes.Count, StoreSerializer.Types.Count());
    }

    [Fact]
    public void The_shipped_configuration_binds_every_store_message()
    {
        MailboxShards.CheckSerializers(Sys, MailboxShards.StoreMessageTypes);
    }

    [Fact]
    public void A_store_message_without_the_binding_refuses_the_start()
    {
        using var bare = ActorSystem.Create("no-bindings", ConfigurationFactory.ParseString("akka.loglevel = WARNING"));

        var e = Assert.Throws<ConfigurationException>(() => MailboxShards.CheckSerializers(bare, MailboxShards.StoreMessageTypes));

        Assert.Contains(nameof(DeliverMessage), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bound_type_the_serializer_does_not_know_refuses_the_start()
    {
        var e = Assert.Throws<ConfigurationException>(() => MailboxShards.CheckSerializers(Sys, [typeof(Unknown)]));

        Assert.Contains(nameof(Unknown), e.Message, StringComparison.Ordinal);
    }

    private sealed record Unknown(string Mailbox) : IStoreMessage;
}
