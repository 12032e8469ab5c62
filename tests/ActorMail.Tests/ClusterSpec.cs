using ActorMail.Store;
using Akka.Actor;
using Akka.Cluster;
using Akka.TestKit.Xunit2;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Tests;

/// <summary>Two nodes in this process, clustered over loopback on one mail root: one mailbox actor per mailbox in the whole cluster.</summary>
public sealed class ClusterSpec : TestKit
{
    private static readonly TimeSpan Formed = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_maildrop_held_through_one_node_is_locked_through_the_other_and_deliveries_through_both_land_once()
    {
        var root = Path.Combine(Path.GetTempPath(), "actormail-cluster-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await LockAndDeliver(root);
        }
        finally
        {
            // The node stopped first hands its mailboxes to the other, which may make their
            // folders again after the first one's cleanup.
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Already gone, or a folder made again while it was deleted: the OS cleans /tmp.
            }
        }
    }

    private async Task LockAndDeliver(string root)
    {
        await using var a = await TestNode.StartAsync("actormail.cluster { enabled = on, port = 0 }", root);
        var seed = $"127.0.0.1:{Akka.Cluster.Cluster.Get(a.Actors).SelfAddress.Port}";
        await using var b = await TestNode.StartAsync($"actormail.cluster {{ enabled = on, port = 0, seed-nodes = [\"{seed}\"] }}", root);
        // Both views: gossip reaches B's own view of itself a moment after A's.
        foreach (var node in new[] { a, b })
        {
            await AwaitAssertAsync(() => Assert.Equal(2, Akka.Cluster.Cluster.Get(node.Actors).State.Members.Count(m => m.Status == MemberStatus.Up)), Formed);
        }

        var onA = CreateTestProbe(a.Actors);
        var onB = CreateTestProbe(b.Actors);
        a.Node.Mailboxes.Tell(new OpenMaildrop("alice", 1), onA.Ref);
        onA.ExpectMsg<MaildropOpened>(Formed);
        b.Node.Mailboxes.Tell(new OpenMaildrop("alice", 2), onB.Ref);
        onB.ExpectMsg<MaildropLocked>(m => m.CorrelationId == 2, Formed);

        foreach (var (node, probe, n) in new[] { (a, onA, 3), (b, onB, 4) })
        {
            using var spool = Spool.Create(node.MailRoot, $"cluster-test.{n}");
            spool.Write("Subject: x\r\n\r\nbody\r\n"u8);
            Assert.True(spool.Complete());
            node.Node.Mailboxes.Tell(new DeliverMessage("bob", n, spool.Path, spool.Length, Maildir.NewName(spool.Length)), probe.Ref);
            probe.ExpectMsg<MessageDelivered>(m => m.CorrelationId == n, Formed);
        }

        Assert.Equal(2, a.Files("bob").Length);

        // What `actormail cluster --mailbox bob --json` prints, asked of node B.
        var json = await ActorMail.Admin.ClusterQuery.AskAsync(b.Node.ClusterEndpoint!, "127.0.0.1", "bob", TimeSpan.FromSeconds(10));
        var report = System.Text.Json.JsonSerializer.Deserialize<ActorMail.Cluster.ClusterWatcher.ClusterReport>(
            json, new System.Text.Json.JsonSerializerOptions { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase })!;
        Assert.Equal(2, report.Members.Count(m => m.Status == "Up"));
        Assert.Contains(report.HostedBy, report.Members.Select(m => m.Address));
        Assert.Contains("hosted by akka.tcp://actormail@127.0.0.1:", ActorMail.Admin.ClusterQuery.ToTable(json), StringComparison.Ordinal);
    }
}
