using System.Net;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Http;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;

namespace ActorMail.Tests;

/// <summary>A whole node in this process on 127.0.0.1 ephemeral ports, with its own temporary mail root.</summary>
public sealed class TestNode : IAsyncDisposable
{
    private TestNode(string directory, NodeOptions options, ActorSystem system, RunningNode node, int smtpPort, int pop3Port, WebApplication? http)
    {
        Http = http;
        HttpPort = http is null ? 0 : HttpServer.BoundPort(http);
        Directory = directory;
        Options = options;
        Actors = system;
        Node = node;
        SmtpPort = smtpPort;
        Pop3Port = pop3Port;
    }

    public string Directory { get; }

    public NodeOptions Options { get; }

    public ActorSystem Actors { get; }

    public RunningNode Node { get; }

    public int SmtpPort { get; }

    public int Pop3Port { get; }

    /// <summary>The HTTP side, or null when the node's role does not serve it.</summary>
    public WebApplication? Http { get; }

    /// <summary>The port Kestrel bound (port 0 in the configuration), or 0 without HTTP.</summary>
    public int HttpPort { get; }

    /// <summary>The HTTP API's base address.</summary>
    public Uri HttpBase => new($"http://127.0.0.1:{HttpPort}/");

    public string MailRoot => Options.DataRoot;

    /// <summary>Starts a node; <paramref name="hocon"/> overrides the defaults (inside <c>actormail { }</c> or at top level).</summary>
    public static async Task<TestNode> StartAsync(string hocon = "", string? directory = null)
    {
        directory ??= Path.Combine(Path.GetTempPath(), "actormail-test-" + Guid.NewGuid().ToString("N")[..12]);
        global::System.IO.Directory.CreateDirectory(directory);
        var config = NodeConfig.Load(
            overrideText: $$"""
                actormail {
                  data = "{{directory}}/maildir"
                  logs = "{{directory}}/logs"
                  smtp.port = 0
                  pop3.port = 0
                  http.port = 0
                  pop3.auth-failure-delay = 300ms
                }
                {{hocon}}
                """,
            environment: new Dictionary<string, string?>());
        var options = NodeOptions.FromConfig(config);
        var system = ActorSystem.Create(ClusterOptions.SystemName, config);
        var node = ActorMailNode.Start(system, options);
        await node.WaitBoundAsync(TimeSpan.FromSeconds(10));
        var http = options.RunsHttp ? await HttpServer.StartAsync(options, node) : null;
        return new TestNode(directory, options, system, node, Port(node.SmtpBound.Result), Port(node.Pop3Bound.Result), http);
    }

    public string[] Files(string user, string folder = "new")
    {
        var dir = Path.Combine(MailRoot, user, folder);
        return global::System.IO.Directory.Exists(dir) ? [.. global::System.IO.Directory.GetFiles(dir).Order(StringComparer.Ordinal)] : [];
    }

    public string[] AllMessages(string user) => [.. Files(user, "new"), .. Files(user, "cur")];

    public async ValueTask DisposeAsync()
    {
        if (Http is not null)
        {
            await Http.StopAsync();
            await Http.DisposeAsync();
        }

        await CoordinatedShutdown.Get(Actors).Run(CoordinatedShutdown.ClrExitReason.Instance);
        try
        {
            global::System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a stopping session; the temp folder is cleaned by the OS.
        }
    }

    private static int Port(EndPoint endpoint) => ((IPEndPoint)endpoint).Port;
}
