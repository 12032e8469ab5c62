using System.Net;
using ActorMail.Configuration;
using ActorMail.Protocol.Framing;
using Akka.Configuration;

namespace ActorMail.Tests;

/// <summary>Loading hocon/actormail.conf, its override layers and the checks on bad values.</summary>
public sealed class ConfigTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Fact]
    public void Shipped_defaults_load_with_the_documented_values()
    {
        var o = NodeOptions.FromConfig(NodeConfig.Load(environment: NoEnvironment));
        Assert.Equal(2525, o.Smtp.Port);
        Assert.Equal(2110, o.Pop3.Port);
        Assert.Equal("127.0.0.1", o.Bind);
        Assert.Equal(10 * 1024 * 1024, o.Smtp.MaxMessageSize);
        Assert.Equal(100, o.Smtp.MaxRecipients);
        Assert.Equal(TimeSpan.FromSeconds(300), o.Smtp.IdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(600), o.Pop3.IdleTimeout);
        Assert.Equal(["alice", "bob"], o.Users.Select(u => u.Name));
        Assert.Equal(NodeRole.All, o.Role);
        Assert.Equal(StoreSync.Syncfs, o.StoreSync);
        Assert.Equal(LogConsole.Auto, o.LogConsole);
        Assert.Equal(TimeSpan.FromSeconds(1), o.LogFlushInterval);
        Assert.Equal(NulPolicy.Reject, o.Smtp.NulInBody);
        Assert.Equal(BareNewlinePolicy.Normalize, o.Smtp.BareNewline);
        Assert.True(o.RunsHttp);
        Assert.Equal(8025, o.Http.Port);
        Assert.Empty(o.Http.Admins);
        Assert.Equal(TimeSpan.FromSeconds(60), o.Http.CredentialsTtl);
    }

    // actormail.log-level is the one home of the level: actors log Debug only where Akka's own
    // level lets them, so akka.loglevel follows it.
    [Theory]
    [InlineData("Debug", "DEBUG")]
    [InlineData("Information", "INFO")]
    [InlineData("Warning", "WARNING")]
    [InlineData("Error", "ERROR")]
    public void Akka_logs_at_the_level_actormail_log_level_names(string level, string akka)
    {
        var config = NodeConfig.Load(overrideText: $"actormail.log-level = {level}", environment: NoEnvironment);

        Assert.Equal(akka, config.GetString("akka.loglevel"));
    }

    [Theory]
    [InlineData("all", true)]
    [InlineData("pop3", true)]
    [InlineData("smtp", false)]
    public void Http_runs_where_pop3_runs_unless_switched_off(string role, bool runs)
    {
        var on = NodeOptions.FromConfig(NodeConfig.Load(overrideText: $"actormail.role = {role}", environment: NoEnvironment));
        var off = NodeOptions.FromConfig(NodeConfig.Load(overrideText: $"actormail.role = {role}\nactormail.http.enabled = off", environment: NoEnvironment));
        Assert.Equal(runs, on.RunsHttp);
        Assert.False(off.RunsHttp);
    }

    [Fact]
    public void Environment_overrides_the_file_and_the_defaults()
    {
        var env = new Dictionary<string, string?>
        {
            ["ACTORMAIL_SMTP_PORT"] = "3525",
            ["ACTORMAIL_POP3_PORT"] = "3110",
            ["ACTORMAIL_BIND"] = "0.0.0.0",
            ["ACTORMAIL_DATA"] = "/tmp/some \"quoted\" root",
            ["ACTORMAIL_ROLE"] = "pop3",
            ["ACTORMAIL_HTTP_PORT"] = "3025",
        };
        var o = NodeOptions.FromConfig(NodeConfig.Load(overrideText: "actormail.smtp.port = 4000", environment: env));
        Assert.Equal(3525, o.Smtp.Port);
        Assert.Equal(3110, o.Pop3.Port);
        Assert.Equal("0.0.0.0", o.Bind);
        Assert.Equal("/tmp/some \"quoted\" root", o.DataRoot);
        Assert.Equal(NodeRole.Pop3, o.Role);
        Assert.False(o.RunsSmtp);
        Assert.Equal(3025, o.Http.Port);
        Assert.True(o.RunsHttp);
    }

    [Theory]
    [InlineData("actormail.smtp.port = -1", "actormail.smtp.port")]
    [InlineData("actormail.pop3.port = 65536", "actormail.pop3.port")]
    [InlineData("actormail.users { \"../x\" = \"pbkdf2-sha256$1$AAAA$AAAA\" }", "not a valid mailbox name")]
    [InlineData("actormail.users { carol = \"plain-text\" }", "not a pbkdf2-sha256 hash line")]
    [InlineData("actormail.postmaster = nobody", "actormail.postmaster")]
    [InlineData("actormail.role = both", "actormail.role")]
    [InlineData("actormail.smtp.bare-newline = ignore", "actormail.smtp.bare-newline")]
    [InlineData("actormail.smtp.nul-in-body = strip", "actormail.smtp.nul-in-body")]
    [InlineData("actormail.smtp.max-recipients = 0", "actormail.smtp.max-recipients")]
    [InlineData("actormail.store.sync = none", "actormail.store.sync")]
    [InlineData("actormail.log-console = some", "actormail.log-console")]
    [InlineData("actormail.log-level = Informaton", "actormail.log-level")]
    [InlineData("actormail.log-format = jsno", "actormail.log-format")]
    [InlineData("actormail.log-flush-interval = 0s", "actormail.log-flush-interval")]
    [InlineData("actormail.http.admins = [carol]", "actormail.http.admins")]
    [InlineData("actormail.http.port = 70000", "actormail.http.port")]
    [InlineData("actormail.http.max-page-size = 10", "actormail.http.default-page-size")]
    [InlineData("actormail.http.credentials-ttl = 0s", "actormail.http.credentials-ttl")]
    public void Bad_values_are_refused_naming_the_key(string hocon, string expected)
    {
        var e = Assert.Throws<ConfigurationException>(() => NodeOptions.FromConfig(NodeConfig.Load(overrideText: hocon, environment: NoEnvironment)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_bound_address_is_a_local_address_literal()
    {
        var policy = NodeOptions.FromConfig(NodeConfig.Load(overrideText: "actormail.bind = \"127.0.0.2\"", environment: NoEnvironment)).ToSmtpPolicy();

        Assert.Equal([IPAddress.Parse("127.0.0.2")], policy.LocalAddresses);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public void Bound_to_every_address_every_address_of_the_machine_is_local(string bind)
    {
        var policy = NodeOptions.FromConfig(NodeConfig.Load(overrideText: $"actormail.bind = \"{bind}\"", environment: NoEnvironment)).ToSmtpPolicy();

        Assert.Contains(IPAddress.Loopback, policy.LocalAddresses);
        Assert.DoesNotContain(IPAddress.Any, policy.LocalAddresses);
    }

    [Theory]
    [InlineData(LogConsole.All, false, Serilog.Events.LogEventLevel.Information)]
    [InlineData(LogConsole.All, true, Serilog.Events.LogEventLevel.Information)]
    [InlineData(LogConsole.Warnings, false, Serilog.Events.LogEventLevel.Warning)]
    [InlineData(LogConsole.Auto, false, Serilog.Events.LogEventLevel.Information)]
    [InlineData(LogConsole.Auto, true, Serilog.Events.LogEventLevel.Warning)]
    public void The_console_gets_everything_on_a_terminal_and_warnings_when_redirected(LogConsole mode, bool redirected, Serilog.Events.LogEventLevel expected)
    {
        Assert.Equal(expected, ActorMail.Hosting.NodeLogging.ConsoleLevel(mode, redirected, Serilog.Events.LogEventLevel.Information));
    }

    [Fact]
    public void Log_files_roll_over_at_their_size_limit_and_only_the_newest_are_kept()
    {
        var directory = Path.Combine(Path.GetTempPath(), "actormail-logs-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var options = NodeOptions.FromConfig(NodeConfig.Load(
                overrideText: $"actormail.logs = \"{directory}\"\nactormail.log-file-size-limit = 20000\nactormail.log-files-kept = 3",
                environment: new Dictionary<string, string?>()));
            using (var logger = ActorMail.Hosting.NodeLogging.Create(options, console: false))
            {
                for (var i = 0; i < 5000; i++)
                {
                    logger.ForContext("Protocol", "SMTP").Information("Line {Number} of a log that would fill the disk", i);
                }
            }

            var files = Directory.GetFiles(directory, "smtp*.log");
            Assert.Equal(3, files.Length);
            // A file ends with the line that crossed the limit: at most one line over it.
            Assert.All(files, f => Assert.InRange(new FileInfo(f).Length, 1, 20000 + 1000));
            Assert.Contains("Line 4999 ", File.ReadAllText(files.Order(StringComparer.Ordinal).Last()), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Port_0_is_accepted_for_any_free_port()
    {
        var o = NodeOptions.FromConfig(NodeConfig.Load(environment: new Dictionary<string, string?>
        {
            ["ACTORMAIL_SMTP_PORT"] = "0",
            ["ACTORMAIL_POP3_PORT"] = "0",
        }));
        Assert.Equal(0, o.Smtp.Port);
        Assert.Equal(0, o.Pop3.Port);
    }
}
