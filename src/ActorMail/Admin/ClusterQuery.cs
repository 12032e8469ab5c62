using System.Text;
using System.Text.Json;
using ActorMail.Cluster;
using ActorMail.Configuration;
using Akka.Actor;
using Akka.Configuration;

namespace ActorMail.Admin;

/// <summary>
/// <c>actormail cluster</c>: asks one running node's <see cref="ClusterWatcher"/> over remoting
/// for the members it sees and, given a mailbox, the node that hosts it.
/// </summary>
public static class ClusterQuery
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The watcher's answer as JSON text; <paramref name="node"/> is its <c>host:port</c>, <paramref name="localHost"/> the address this process answers on.</summary>
    public static async Task<string> AskAsync(string node, string localHost, string? mailbox, TimeSpan timeout)
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka {
              # Standard output carries the answer alone (--json is read by scripts); a failure
              # to reach the node is reported as an exception.
              loglevel = OFF
              stdout-loglevel = OFF
              actor.provider = remote
              remote.dot-netty.tcp { hostname = "{{localHost}}", port = 0 }
            }
            """);
        using var system = ActorSystem.Create("actormail-cli", config);
        try
        {
            var watcher = system.ActorSelection($"{ClusterOptions.SeedAddress(node)}/user/{ClusterWatcher.Name}");
            return await watcher.Ask<string>(mailbox ?? string.Empty, timeout).ConfigureAwait(false);
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
    }

    /// <summary>The answer as a table for people.</summary>
    public static string ToTable(string json)
    {
        var report = JsonSerializer.Deserialize<ClusterWatcher.ClusterReport>(json, Json)
            ?? throw new ArgumentException("empty answer from the node");
        var text = new StringBuilder();
        text.AppendLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{"member",-44} {"status",-9} reachable"));
        foreach (var m in report.Members)
        {
            var line = $"{m.Address,-44} {m.Status,-9} {(m.Unreachable ? "no" : "yes")}{(m.Asked ? "  (asked)" : "")}";
            text.AppendLine(line);
        }

        text.AppendLine($"leader: {report.Leader ?? "none"}");
        if (report.Mailbox is { } mailbox)
        {
            text.AppendLine($"mailbox {mailbox}: {(report.HostedBy is { } host ? $"hosted by {host}" : "not running on any node (starts on first use)")}");
        }

        return text.ToString();
    }
}
