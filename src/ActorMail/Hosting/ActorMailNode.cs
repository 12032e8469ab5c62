using System.Net;
using System.Net.Security;
using ActorMail.Auth;
using ActorMail.Configuration;
using ActorMail.Pop3;
using ActorMail.Smtp;
using ActorMail.Protocol.Pop3;
using ActorMail.Store;
using ActorMail.Tls;
using Akka;
using Akka.Actor;
using Akka.Event;
using static ActorMail.Hosting.SessionMessages;

namespace ActorMail.Hosting;

/// <summary>The running node's top actors and the addresses its listeners bound.</summary>
/// <param name="System">The actor system.</param>
/// <param name="Mailboxes">The mailbox router.</param>
/// <param name="Passwords">The password checker, or <see cref="ActorRefs.Nobody"/> when this process does not serve POP3.</param>
/// <param name="SmtpListener">The SMTP listener, or null when this process does not serve SMTP.</param>
/// <param name="SmtpBound">Completes with the SMTP address, or fails if the port cannot be bound.</param>
/// <param name="Pop3Listener">The POP3 listener, or null when this process does not serve POP3.</param>
/// <param name="Pop3Bound">Completes with the POP3 address, or fails if the port cannot be bound.</param>
/// <param name="Http">The HTTP side's actors, or null when this process does not serve HTTP.</param>
/// <param name="ClusterEndpoint">The <c>host:port</c> remoting bound when the node is clustered, else null.</param>
public sealed record RunningNode(
    ActorSystem System,
    IActorRef Mailboxes,
    IActorRef Passwords,
    IActorRef? SmtpListener,
    Task<EndPoint> SmtpBound,
    IActorRef? Pop3Listener,
    Task<EndPoint> Pop3Bound,
    HttpActors? Http,
    string? ClusterEndpoint = null)
{
    /// <summary>The implicit-TLS SMTP listener (RFC 8314), or null when none is configured.</summary>
    public IActorRef? SmtpsListener { get; init; }

    /// <summary>Completes with the implicit-TLS SMTP address; null when there is no such listener.</summary>
    public Task<EndPoint>? SmtpsBound { get; init; }

    /// <summary>The implicit-TLS POP3 listener, or null when none is configured.</summary>
    public IActorRef? Pop3sListener { get; init; }

    /// <summary>Completes with the implicit-TLS POP3 address; null when there is no such listener.</summary>
    public Task<EndPoint>? Pop3sBound { get; init; }

    /// <summary>Every listener of this process, the implicit-TLS ones included.</summary>
    public IReadOnlyList<IActorRef> Listeners => [.. new[] { SmtpListener, Pop3Listener, SmtpsListener, Pop3sListener }.OfType<IActorRef>()];

    private IEnumerable<Task<EndPoint>> AllBound => new[] { SmtpBound, Pop3Bound, SmtpsBound, Pop3sBound }.OfType<Task<EndPoint>>();

    /// <summary>True once every listener of this process has bound its port.</summary>
    public bool Ready => AllBound.All(b => b.IsCompletedSuccessfully);

    /// <summary>Waits for every listener of this process to bind; throws the first bind failure.</summary>
    public async Task WaitBoundAsync(TimeSpan timeout)
    {
        var all = Task.WhenAll(AllBound);
        if (await Task.WhenAny(all, Task.Delay(timeout)).ConfigureAwait(false) != all)
        {
            throw new TimeoutException($"listeners did not bind within {timeout}");
        }

        await all.ConfigureAwait(false);
    }
}

/// <summary>The actors the HTTP side talks to besides the mailboxes and the password checker.</summary>
/// <param name="Gate">Admits HTTP connections (<see cref="Http.ConnectionGate"/>).</param>
/// <param name="Events">Fans mailbox events out to events clients (<see cref="Http.EventHub"/>).</param>
/// <param name="Journal">Keeps the recent sessions for the web page (<see cref="Http.SessionJournal"/>).</param>
public sealed record HttpActors(IActorRef Gate, IActorRef Events, IActorRef Journal);

/// <summary>Starts the node's actors in an actor system: the one place the actor tree is built.</summary>
public static class ActorMailNode
{
    /// <summary>Sweeps leftovers of a previous run, then starts the mailbox router and the listeners of this process's role.</summary>
    public static RunningNode Start(ActorSystem system, NodeOptions options)
    {
        var log = system.Log;
        var cluster = options.Cluster.Enabled ? Akka.Cluster.Cluster.Get(system) : null;
        if (cluster is not null)
        {
            options = options with { NodeId = $"{cluster.SelfAddress.Host}-{cluster.SelfAddress.Port}" };
        }

        Folders.CreateOwnerOnly(Path.Combine(options.DataRoot, Spool.FolderName));
        if (options.RunsSmtp)
        {
            SweepLeftovers(options, log);
        }

        var mailboxes = cluster is not null
            ? MailboxShards.Start(system, options)
            : system.ActorOf(MailboxRouter.Props(options), MailboxRouter.Name);
        string? clusterEndpoint = null;
        IActorRef? watcher = null;
        if (cluster is not null)
        {
            clusterEndpoint = $"{cluster.SelfAddress.Host}:{cluster.SelfAddress.Port}";
            watcher = system.ActorOf(ActorMail.Cluster.ClusterWatcher.Props(options, mailboxes), ActorMail.Cluster.ClusterWatcher.Name);
            if (options.Cluster.SeedNodes.Count == 0)
            {
                // No seeds: this node starts the cluster that the others join.
                cluster.Join(cluster.SelfAddress);
            }
        }

        var address = IPAddress.Parse(options.Bind);

        // A listener for each protocol this process serves; a protocol it does not serve reports
        // an empty address at once, so waiting for both listeners works for every role.
        (IActorRef? Listener, Task<EndPoint> Bound) Listen(bool runs, string protocol, int port, SessionLimits limits, Func<SessionStart, Props> sessionProps, string? name = null)
        {
            var bound = new TaskCompletionSource<EndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!runs)
            {
                bound.SetResult(new IPEndPoint(IPAddress.None, 0));
                return (null, bound.Task);
            }

            var listener = system.ActorOf(
                TcpServerListener.Props(protocol, new IPEndPoint(address, port), limits, sessionProps, bound),
                name ?? $"{protocol.ToLowerInvariant()}-listener");
            return (listener, bound.Task);
        }

        // Each policy is built once: the SMTP one holds frozen sets that are costly to make per connection.
        var tls = LoadCertificate(options, log);
        var smtpPolicy = options.RunsSmtp ? options.ToSmtpPolicy(tls is not null) : null;
        var pop3Policy = options.ToPop3Policy(tls is not null);
        var passwords = options.RunsPop3 || (options.RunsSmtp && options.Smtp.Auth)
            ? system.ActorOf(PasswordChecker.Props(options), PasswordChecker.Name)
            : ActorRefs.Nobody;
        // Subscribed before the listeners start, so the journal misses no session.
        var journal = options.RunsHttp ? system.ActorOf(Http.SessionJournal.Props(options.Journal), Http.SessionJournal.Name) : null;
        if (journal is not null)
        {
            system.EventStream.Subscribe(journal, typeof(Journaled));
        }

        var (smtp, smtpBound) = Listen(options.RunsSmtp, "SMTP", options.Smtp.Port, options.Smtp.Limits,
            start => SmtpSession.Props(start, options, smtpPolicy!, mailboxes, passwords, tls));
        var (pop3, pop3Bound) = Listen(options.RunsPop3, "POP3", options.Pop3.Port, options.Pop3.Limits,
            start => Pop3Session.Props(start, options, pop3Policy, mailboxes, passwords, tls));

        // The implicit-TLS ports (RFC 8314), where the handshake comes before the greeting.
        var (smtps, smtpsBound) = Listen(options.RunsSmtp && tls is not null && options.Tls.SmtpPort is not null, "SMTP", options.Tls.SmtpPort ?? 0, options.Smtp.Limits,
            start => SmtpSession.Props(start with { ImplicitTls = true }, options, smtpPolicy!, mailboxes, passwords, tls), "smtps-listener");
        var (pop3s, pop3sBound) = Listen(options.RunsPop3 && tls is not null && options.Tls.Pop3Port is not null, "POP3", options.Tls.Pop3Port ?? 0, options.Pop3.Limits,
            start => Pop3Session.Props(start with { ImplicitTls = true }, options, pop3Policy, mailboxes, passwords, tls), "pop3s-listener");

        var http = options.RunsHttp
            ? new HttpActors(
                system.ActorOf(Http.ConnectionGate.Props(options.Http), Http.ConnectionGate.Name),
                system.ActorOf(Http.EventHub.Props(), Http.EventHub.Name),
                journal!)
            : null;

        var node = new RunningNode(system, mailboxes, passwords, smtp, smtpBound, pop3, pop3Bound, http, clusterEndpoint)
        {
            SmtpsListener = smtps,
            SmtpsBound = smtps is null ? null : smtpsBound,
            Pop3sListener = pop3s,
            Pop3sBound = pop3s is null ? null : pop3sBound,
        };

        // A downed node stops every listener before its mailboxes start elsewhere, the
        // implicit-TLS ones too.
        watcher?.Tell(new ActorMail.Cluster.ClusterWatcher.StopWhenDowned(node.Listeners));
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceUnbind, "stop-listeners", async () =>
        {
            var stops = node.Listeners.Select(l => l.Ask<Done>(StopAccepting.Instance, options.ShutdownTimeout));
            try
            {
                await Task.WhenAll(stops).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                log.Warning("Sessions still open after {0}; stopping anyway", options.ShutdownTimeout);
            }

            return Done.Instance;
        });
        return node;
    }

    // The certificate STARTTLS and STLS present, built once for every session; null without TLS.
    private static SessionTls? LoadCertificate(NodeOptions options, ILoggingAdapter log)
    {
        if (!options.Tls.Enabled || !(options.RunsSmtp || options.RunsPop3))
        {
            return null;
        }

        var certificate = ServerCertificate.Load(options.Tls, options.Hostname, options.DataRoot, DateTimeOffset.UtcNow, out var generated);
        var source = options.Tls.Generates
            ? generated ? $"generated now in {ServerCertificate.GeneratedPath(options.DataRoot)}" : $"generated earlier, {ServerCertificate.GeneratedPath(options.DataRoot)}"
            : options.Tls.Certificate;
        log.Info("TLS certificate {0} ({1}), valid until {2:u}, SHA-256 fingerprint {3}",
            certificate.Subject, source, certificate.NotAfter.ToUniversalTime(), ServerCertificate.Fingerprint(certificate));
        return new SessionTls(SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true), options.Tls);
    }

    // Alone, a node owns the mail root: whatever is left is its own. On a shared root another
    // live node may be writing, so only this node's files and stale ones go.
    private static void SweepLeftovers(NodeOptions options, ILoggingAdapter log)
    {
        var staleBefore = DateTime.UtcNow - options.Cluster.StaleAfter;
        var spool = options.NodeId is { } self ? Spool.Sweep(options.DataRoot, self, staleBefore) : Spool.Sweep(options.DataRoot);
        var tmp = 0;
        foreach (var user in options.Users)
        {
            var maildir = new Maildir(options.DataRoot, user.Name);
            tmp += options.NodeId is null ? maildir.SweepTmp() : maildir.SweepTmp(staleBefore);
        }

        if (spool + tmp > 0)
        {
            log.Warning("Swept {0} spool and {1} tmp files left by an earlier run", spool, tmp);
        }
    }
}
