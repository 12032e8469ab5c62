using ActorMail.Admin;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Http;
using ActorMail.Protocol.Auth;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;

namespace ActorMail;

/// <summary>The command line: <c>serve</c> (default), <c>mailboxes</c> and <c>hash-password</c>.</summary>
public static class Program
{
    private const string Usage = """
        usage: actormail [serve] [--config FILE] [--role all|smtp|pop3] [--ready-file PATH]
               actormail mailboxes [--json] [--config FILE]
               actormail cluster [--mailbox NAME] [--node HOST:PORT] [--json] [--config FILE]
               actormail hash-password        (reads the password from standard input)
        """;

    public static async Task<int> Main(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
        try
        {
            return command switch
            {
                "serve" => await ServeAsync(rest).ConfigureAwait(false),
                "mailboxes" => Mailboxes(rest),
                "cluster" => await ClusterAsync(rest).ConfigureAwait(false),
                "hash-password" => HashPassword(),
                "help" or "--help" or "-h" => PrintUsage(0),
                _ => PrintUsage(1),
            };
        }
        catch (ConfigurationException e)
        {
            await Console.Error.WriteLineAsync($"actormail: configuration error: {e.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"actormail: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static int PrintUsage(int code)
    {
        (code == 0 ? Console.Out : Console.Error).WriteLine(Usage);
        return code;
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        if (i < 0)
        {
            return null;
        }

        return i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{name} needs a value");
    }

    private static NodeOptions LoadOptions(string[] args)
    {
        var role = Option(args, "--role");
        var config = NodeConfig.Load(Option(args, "--config"), role is null ? null : $"actormail.role = {role}");
        return NodeOptions.FromConfig(config);
    }

    private static async Task<int> ServeAsync(string[] args)
    {
        var config = NodeConfig.Load(Option(args, "--config"), Option(args, "--role") is { } role ? $"actormail.role = {role}" : null);
        var options = NodeOptions.FromConfig(config);
        var readyFile = Option(args, "--ready-file");

        // Mail, spool and log files are the owner's alone: 0600 files, 0700 folders.
        Store.Native.SetUmask(Convert.ToInt32("077", 8));
        if (PortInUse(options) is { } busy)
        {
            await Console.Error.WriteLineAsync($"actormail: cannot listen on {busy}: address already in use").ConfigureAwait(false);
            return 2;
        }

        await using var logger = NodeLogging.Create(options);
        Log.Logger = logger;

        var started = new TaskCompletionSource<RunningNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        // No default configuration sources: the node reads only its HOCON, and the defaults would
        // watch the working directory (which holds ./data under make run) for file changes,
        // waking on every message stored (measured: 0.83-0.88x CPU per message without it).
        // With HTTP the host is a WebApplication (Kestrel beside Akka in one host), built empty for
        // the same reason.
        var web = options.RunsHttp ? HttpServer.CreateBuilder() : null;
        IHostApplicationBuilder builder = web is not null ? web : Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(logger);
        builder.Services.AddAkka(ClusterOptions.SystemName, akka =>
        {
            akka.AddHocon(config, HoconAddMode.Prepend)
                .ConfigureLoggers(l =>
                {
                    l.ClearLoggers();
                    l.AddSerilogLogging();
                })
                .WithActors((system, _) =>
                {
                    try
                    {
                        started.SetResult(ActorMailNode.Start(system, options));
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or ConfigurationException)
                    {
                        started.SetException(e);
                    }
                });
        });

        if (web is not null)
        {
            HttpServer.Configure(web, options, started.Task);
        }

        using IHost host = web is not null ? HttpServer.Map(web.Build()) : ((HostApplicationBuilder)builder).Build();
        try
        {
            await host.StartAsync().ConfigureAwait(false);
            var node = await started.Task.ConfigureAwait(false);
            await node.WaitBoundAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            if (readyFile is not null)
            {
                var http = host is WebApplication served ? new System.Net.IPEndPoint(System.Net.IPAddress.Parse(options.Bind), HttpServer.BoundPort(served)) : null;
                await ReadyFile.WriteAsync(readyFile, Environment.ProcessId, node, http).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or TimeoutException)
        {
            await Console.Error.WriteLineAsync($"actormail: {e.Message}").ConfigureAwait(false);
            await host.StopAsync().ConfigureAwait(false);
            return 2;
        }

        if (host is WebApplication app)
        {
            Log.Information("HTTP API listening on {Endpoint}", $"{options.Bind}:{HttpServer.BoundPort(app)}");
        }

        Log.Information("ActorMail {Role} ready: mail under {DataRoot}, logs under {LogDirectory}", options.Role, options.DataRoot, options.LogDirectory);
        await host.WaitForShutdownAsync().ConfigureAwait(false);
        // A node the cluster downed did not stop because it was asked to: say so to whatever
        // supervises the process, which should start it again to rejoin.
        var running = await started.Task.ConfigureAwait(false);
        return Akka.Actor.CoordinatedShutdown.Get(running.System).ShutdownReason is Akka.Actor.CoordinatedShutdown.ClusterDowningReason ? DownedExitCode : 0;
    }

    // The exit status of a node downed by the cluster (Akka's own choice for that reason).
    private const int DownedExitCode = 3;

    // A check before the actor system starts, so a port in use gives one clear line rather than
    // Akka.IO's logged stack trace. The listeners still report a bind failure that races past it.
    private static string? PortInUse(NodeOptions options)
    {
        var ports = new List<int>();
        if (options.RunsSmtp)
        {
            ports.Add(options.Smtp.Port);
        }

        if (options.RunsPop3)
        {
            ports.Add(options.Pop3.Port);
        }

        if (options.RunsHttp)
        {
            ports.Add(options.Http.Port);
        }

        // The implicit-TLS ports (RFC 8314), where configured and TLS is on.
        if (options.Tls.Enabled && options.RunsSmtp && options.Tls.SmtpPort is { } smtps)
        {
            ports.Add(smtps);
        }

        if (options.Tls.Enabled && options.RunsPop3 && options.Tls.Pop3Port is { } pop3s)
        {
            ports.Add(pop3s);
        }

        foreach (var port in ports.Where(p => p != 0))
        {
            var endpoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(options.Bind), port);
            try
            {
                var probe = new System.Net.Sockets.TcpListener(endpoint);
                probe.Start();
                probe.Stop();
            }
            catch (System.Net.Sockets.SocketException)
            {
                return endpoint.ToString();
            }
        }

        return null;
    }

    private static int Mailboxes(string[] args)
    {
        var options = LoadOptions(args);
        var report = MailboxReport.Scan(options.DataRoot);
        Console.Write(args.Contains("--json") ? MailboxReport.ToJson(report) : MailboxReport.ToTable(report));
        return 0;
    }

    // Asks the node named by --node, or else the first seed, or else this configuration's own
    // cluster address.
    private static async Task<int> ClusterAsync(string[] args)
    {
        var options = LoadOptions(args);
        var node = Option(args, "--node") ?? options.Cluster.SeedNodes.FirstOrDefault() ?? $"{options.Cluster.Host}:{options.Cluster.Port}";
        string json;
        try
        {
            json = await ClusterQuery.AskAsync(node, options.Cluster.Host, Option(args, "--mailbox"), options.Cluster.QueryTimeout).ConfigureAwait(false);
        }
        catch (Akka.Actor.AskTimeoutException)
        {
            await Console.Error.WriteLineAsync($"actormail: no clustered node answered at {node}").ConfigureAwait(false);
            return 1;
        }
        catch (Akka.Actor.ActorNotFoundException)
        {
            await Console.Error.WriteLineAsync($"actormail: no clustered node answered at {node}").ConfigureAwait(false);
            return 1;
        }

        Console.Write(args.Contains("--json") ? json + "\n" : ClusterQuery.ToTable(json));
        return 0;
    }

    private static int HashPassword()
    {
        var password = Console.In.ReadLine();
        if (string.IsNullOrEmpty(password))
        {
            Console.Error.WriteLine("actormail: give the password on standard input");
            return 1;
        }

        Console.WriteLine(PasswordHash.Create(password));
        return 0;
    }
}
