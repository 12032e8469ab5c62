using System.Text;
using Akka.Configuration;

namespace ActorMail.Configuration;

/// <summary>
/// Loads the HOCON: hocon/actormail.conf shipped beside the binary, under an optional override
/// file, under the ACTORMAIL_* environment variables.
/// </summary>
/// <remarks>
/// Akka.NET's HOCON parser does not resolve <c>${?VAR}</c> from the environment (it yields an empty
/// value), so the environment layer is built here instead.
/// </remarks>
public static class NodeConfig
{
    /// <summary>Each environment variable and the key it overrides.</summary>
    public static IReadOnlyDictionary<string, string> EnvironmentKeys { get; } = new Dictionary<string, string>
    {
        ["ACTORMAIL_HOSTNAME"] = "actormail.hostname",
        ["ACTORMAIL_BIND"] = "actormail.bind",
        ["ACTORMAIL_DATA"] = "actormail.data",
        ["ACTORMAIL_LOGS"] = "actormail.logs",
        ["ACTORMAIL_LOG_FORMAT"] = "actormail.log-format",
        ["ACTORMAIL_LOG_CONSOLE"] = "actormail.log-console",
        ["ACTORMAIL_ROLE"] = "actormail.role",
        ["ACTORMAIL_SMTP_PORT"] = "actormail.smtp.port",
        ["ACTORMAIL_POP3_PORT"] = "actormail.pop3.port",
        ["ACTORMAIL_HTTP_PORT"] = "actormail.http.port",
        ["ACTORMAIL_AUTH_CLEAR_TEXT"] = "actormail.auth.clear-text",
        ["ACTORMAIL_CLUSTER"] = "actormail.cluster.enabled",
        ["ACTORMAIL_CLUSTER_HOST"] = "actormail.cluster.host",
        ["ACTORMAIL_CLUSTER_PORT"] = "actormail.cluster.port",
        ["ACTORMAIL_CLUSTER_SEEDS"] = "actormail.cluster.seed-nodes",
    };

    // Keys whose environment value is a comma-separated list.
    private static readonly HashSet<string> ListKeys = ["actormail.cluster.seed-nodes"];

    /// <summary>The shipped defaults.</summary>
    public static string DefaultsPath => Path.Combine(AppContext.BaseDirectory, "hocon", "actormail.conf");

    /// <summary>
    /// The defaults, overridden by <paramref name="overrideFile"/>, then by <paramref name="overrideText"/>,
    /// then by the environment (<paramref name="environment"/> or the process's own).
    /// </summary>
    public static Config Load(string? overrideFile = null, string? overrideText = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        // The layers are joined as text and parsed once: in HOCON a later value for a key wins and
        // objects merge. (Config.WithFallback followed by GetConfig overflows the stack in Akka 1.5.74.)
        var text = new StringBuilder(File.ReadAllText(DefaultsPath)).Append('\n');
        if (overrideFile is not null)
        {
            if (!File.Exists(overrideFile))
            {
                throw new ConfigurationException($"config file not found: {overrideFile}");
            }

            text.Append(File.ReadAllText(overrideFile)).Append('\n');
        }

        if (!string.IsNullOrWhiteSpace(overrideText))
        {
            text.Append(overrideText).Append('\n');
        }

        foreach (var (variable, key) in EnvironmentKeys)
        {
            var value = environment is null ? Environment.GetEnvironmentVariable(variable) : environment.GetValueOrDefault(variable);
            if (!string.IsNullOrEmpty(value))
            {
                text.Append(key).Append(" = ").Append(ListKeys.Contains(key) ? QuoteList(value.Split(',')) : Quote(value)).Append('\n');
            }
        }

        // The shutdown phase that waits for sessions must outlast actormail.shutdown-timeout, the
        // one home of that number.
        var parsed = ConfigurationFactory.ParseString(text.ToString());
        var phase = parsed.GetTimeSpan("actormail.shutdown-timeout") + TimeSpan.FromSeconds(2);
        text.Append("akka.coordinated-shutdown.phases.service-unbind.timeout = ")
            .Append((long)phase.TotalMilliseconds).Append("ms\n");
        // Actors log at Debug only where Akka's own level lets them: actormail.log-level is the
        // one home of the level (an unknown one is refused by NodeOptions).
        text.Append("akka.loglevel = ").Append(AkkaLevel(parsed.GetString("actormail.log-level"))).Append('\n');
        // Likewise the password-check threads are actormail.auth.concurrency.
        text.Append("akka.actor.auth-dispatcher.dedicated-thread-pool.thread-count = ")
            .Append(parsed.GetInt("actormail.auth.concurrency")).Append('\n');
        if (parsed.GetBoolean("actormail.cluster.enabled"))
        {
            AppendCluster(text, parsed);
        }

        return ConfigurationFactory.ParseString(text.ToString());
    }

    // Akka's own keys for a cluster node, derived from actormail.cluster, their one home. The
    // sharding keys are not choices: the coordinator's state must live in distributed data (the
    // persistence fallback ran mailboxes twice after a coordinator's node died), remember-entities
    // with that store fails at run time here, and idle mailboxes passivate themselves, since only
    // the mailbox knows whether it holds a maildrop.
    private static string AkkaLevel(string level) => level.ToUpperInvariant() switch
    {
        "VERBOSE" or "DEBUG" => "DEBUG",
        "WARNING" => "WARNING",
        "ERROR" or "FATAL" => "ERROR",
        _ => "INFO",
    };

    private static void AppendCluster(StringBuilder text, Config parsed)
    {
        const string c = "actormail.cluster.";
        var seeds = parsed.GetStringList(c + "seed-nodes").Select(s => s.Trim()).Where(s => s.Length > 0);
        var frame = parsed.GetLong(c + "max-frame-size");
        text.Append("akka.actor.provider = cluster\n")
            .Append("akka.remote.dot-netty.tcp.hostname = ").Append(Quote(parsed.GetString(c + "host"))).Append('\n')
            .Append("akka.remote.dot-netty.tcp.port = ").Append(parsed.GetInt(c + "port")).Append('\n')
            .Append("akka.remote.dot-netty.tcp.maximum-frame-size = ").Append(frame).Append('\n')
            .Append("akka.remote.dot-netty.tcp.send-buffer-size = ").Append(frame).Append('\n')
            .Append("akka.remote.dot-netty.tcp.receive-buffer-size = ").Append(frame).Append('\n')
            .Append("akka.cluster.seed-nodes = ").Append(QuoteList(seeds.Select(ClusterOptions.SeedAddress))).Append('\n')
            .Append("akka.cluster.downing-provider-class = \"Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster\"\n")
            .Append("akka.cluster.split-brain-resolver.active-strategy = ").Append(parsed.GetString(c + "split-brain-strategy")).Append('\n')
            .Append("akka.cluster.split-brain-resolver.stable-after = ").Append((long)parsed.GetTimeSpan(c + "stable-after").TotalMilliseconds).Append("ms\n")
            .Append("akka.cluster.run-coordinated-shutdown-when-down = on\n")
            .Append("akka.cluster.sharding.state-store-mode = ddata\n")
            .Append("akka.cluster.sharding.remember-entities = off\n")
            .Append("akka.cluster.sharding.passivate-idle-entity-after = off\n");
    }

    private static string QuoteList(IEnumerable<string> values) =>
        "[" + string.Join(", ", values.Select(v => v.Trim()).Where(v => v.Length > 0).Select(Quote)) + "]";

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
