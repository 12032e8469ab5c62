using ActorMail.Configuration;
using Akka.Configuration;

namespace ActorMail.Tests;

/// <summary>The <c>actormail.cluster</c> section, its environment overrides and the Akka keys it sets when on.</summary>
public sealed class ClusterConfigTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Fact]
    public void Clustering_is_off_by_default_and_the_node_stays_local()
    {
        var config = NodeConfig.Load(environment: NoEnvironment);
        var o = NodeOptions.FromConfig(config);

        Assert.False(o.Cluster.Enabled);
        Assert.Equal("127.0.0.1", o.Cluster.Host);
        Assert.Equal(4053, o.Cluster.Port);
        Assert.Empty(o.Cluster.SeedNodes);
        Assert.Equal(100, o.Cluster.Shards);
        Assert.Equal(TimeSpan.FromSeconds(5), o.Cluster.StableAfter);
        Assert.Equal(1024, o.Smtp.Limits.ListenBacklog);
        Assert.Equal(1024, o.Pop3.Limits.ListenBacklog);
        Assert.NotEqual("cluster", config.GetString("akka.actor.provider"));
    }

    [Fact]
    public void Environment_turns_clustering_on_and_names_the_node_and_its_seeds()
    {
        var env = new Dictionary<string, string?>
        {
            ["ACTORMAIL_CLUSTER"] = "on",
            ["ACTORMAIL_CLUSTER_HOST"] = "127.0.0.5",
            ["ACTORMAIL_CLUSTER_PORT"] = "4101",
            ["ACTORMAIL_CLUSTER_SEEDS"] = "127.0.0.5:4101, 127.0.0.6:4102",
        };
        var config = NodeConfig.Load(environment: env);
        var o = NodeOptions.FromConfig(config);

        Assert.True(o.Cluster.Enabled);
        Assert.Equal("127.0.0.5", o.Cluster.Host);
        Assert.Equal(4101, o.Cluster.Port);
        Assert.Equal(["127.0.0.5:4101", "127.0.0.6:4102"], o.Cluster.SeedNodes);
        Assert.Equal("cluster", config.GetString("akka.actor.provider"));
        Assert.Equal("127.0.0.5", config.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(4101, config.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(
            ["akka.tcp://actormail@127.0.0.5:4101", "akka.tcp://actormail@127.0.0.6:4102"],
            config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(5), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal("ddata", config.GetString("akka.cluster.sharding.state-store-mode"));
        Assert.False(config.GetBoolean("akka.cluster.sharding.remember-entities"));
    }

    [Theory]
    [InlineData("actormail.cluster.port = 70000", "actormail.cluster.port")]
    [InlineData("actormail.cluster.seed-nodes = [\"nohost\"]", "actormail.cluster.seed-nodes")]
    [InlineData("actormail.cluster.seed-nodes = [\"h:99999\"]", "actormail.cluster.seed-nodes")]
    [InlineData("actormail.cluster.shards = 0", "actormail.cluster.shards")]
    [InlineData("actormail.cluster.stable-after = 0s", "actormail.cluster.stable-after")]
    [InlineData("actormail.cluster.max-frame-size = 1000", "actormail.cluster.max-frame-size")]
    [InlineData("actormail.smtp.listen-backlog = 0", "actormail.smtp.listen-backlog")]
    [InlineData("actormail.cluster.store-resend-interval = 0s", "actormail.cluster.store-resend-interval")]
    [InlineData("actormail.cluster.shard-stats-timeout = 0s", "actormail.cluster.shard-stats-timeout")]
    [InlineData("actormail.cluster.query-timeout = 3s", "actormail.cluster.query-timeout")]
    public void Bad_cluster_values_are_refused_naming_the_key(string hocon, string expected)
    {
        var e = Assert.Throws<ConfigurationException>(() => NodeOptions.FromConfig(NodeConfig.Load(overrideText: hocon, environment: NoEnvironment)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
