using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using ActorMail.Configuration;
using ActorMail.Protocol.Session;
using Akka.Actor;
using Akka.Event;
using Akka.IO;
using static ActorMail.Hosting.SessionMessages;

namespace ActorMail.Hosting;

/// <summary>
/// Binds one TCP port with Akka.IO and spawns one session actor per connection. Admission (the
/// connection limit, connections and connection rate per client address) is counted over the
/// live admitted sessions, released when each one terminates, so the count cannot drift. A
/// refused connection still gets a session, which answers the refusal and closes. Sessions are
/// stopped, never restarted, if they fail: a restarted session would have forgotten its conversation.
/// </summary>
public sealed class TcpServerListener : ReceiveActor, IWithTimers
{
    private readonly string _protocol;
    private readonly EndPoint _endpoint;
    private readonly Func<SessionStart, Props> _sessionProps;
    private readonly TaskCompletionSource<EndPoint> _bound;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly AdmissionControl _admission;
    private readonly int _backlog;
    private readonly Dictionary<IActorRef, string?> _sessions = [];
    private readonly Dictionary<Admission, int> _refusals = [];
    private readonly ConnectionMetrics _metrics;
    private IActorRef? _socket;
    private IActorRef? _stopRequester;

    public TcpServerListener(string protocol, EndPoint endpoint, SessionLimits limits, Func<SessionStart, Props> sessionProps, TaskCompletionSource<EndPoint> bound)
    {
        _protocol = protocol;
        _endpoint = endpoint;
        _sessionProps = sessionProps;
        _bound = bound;
        _admission = limits.Admission.NewControl();
        _backlog = limits.ListenBacklog;
        _metrics = NodeMetrics.Get(Context.System).Connections(protocol);

        Receive<Tcp.Bound>(b =>
        {
            _socket = Sender;
            // Pull mode: accepts are armed only now that the socket is bound (Akka.IO drops an accept
            // that completes while it is still binding), as many at once as Akka.IO's batch limit.
            _socket.Tell(new Tcp.ResumeAccepting(Context.System.Settings.Config.GetInt("akka.io.tcp.batch-accept-limit")));
            _log.Info("{Protocol} listening on {Endpoint}", _protocol, b.LocalAddress);
            _bound.TrySetResult(b.LocalAddress);
        });
        Receive<Tcp.CommandFailed>(f => f.Cmd is Tcp.Bind, f =>
        {
            var why = f.Cause.HasValue ? f.Cause.Value.Message : "address in use or not available";
            // The listener stays, with no socket and no sessions, so a shutdown still gets its Done at once.
            _bound.TrySetException(new IOException($"{_protocol}: cannot listen on {_endpoint}: {why}"));
        });
        Receive<Tcp.Connected>(Accept);
        Receive<Terminated>(t =>
        {
            if (_sessions.Remove(t.ActorRef, out var address) && address is not null)
            {
                _admission.Release(address);
                _metrics.Open.Decrement();
            }

            ReportIfStopped();
        });
        Receive<ReportRefusals>(_ => Report());
        Receive<StopAccepting>(_ =>
        {
            // Sessions are told first; the socket is unbound only once they are gone, because
            // Akka.IO's listener owns the accepted connections and closing it resets them before
            // their 421 is written. Connections accepted meanwhile are refused with 421.
            _log.Info("{Protocol} stopping with {Sessions} sessions open ({Admitted} admitted)", _protocol, _sessions.Count, _admission.Open);
            _stopRequester = Sender;
            foreach (var session in _sessions.Keys)
            {
                session.Tell(ShutdownSession.Instance);
            }

            ReportIfStopped();
        });
        Receive<Tcp.Unbound>(_ => _log.Info("{Protocol} stopped accepting", _protocol));
    }

    public static Props Props(string protocol, EndPoint endpoint, SessionLimits limits, Func<SessionStart, Props> sessionProps, TaskCompletionSource<EndPoint> bound) =>
        Akka.Actor.Props.Create(() => new TcpServerListener(protocol, endpoint, limits, sessionProps, bound));

    protected override void PreStart()
    {
        Context.System.Tcp().Tell(new Tcp.Bind(Self, _endpoint, backlog: _backlog, pullMode: true));
        Timers.StartPeriodicTimer("report", ReportRefusals.Instance, RefusalReportInterval);
    }

    // Refusals are summed and logged once per interval, so a flood cannot turn into a flood of log lines.
    private static readonly TimeSpan RefusalReportInterval = TimeSpan.FromSeconds(10);

    private static double Now => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private void Accept(Tcp.Connected connected)
    {
        var sessionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var (address, remote) = connected.RemoteAddress is IPEndPoint ip
            ? (ip.Address.ToString(), $"{ip.Address}:{ip.Port}")
            : (connected.RemoteAddress.ToString() ?? "unknown", connected.RemoteAddress.ToString() ?? "unknown");
        var admission = _stopRequester is not null ? Admission.ShuttingDown : _admission.Admit(address, Now);
        _metrics.Decided(admission);
        var start = new SessionStart(Sender, remote, sessionId, admission);
        var session = Context.ActorOf(_sessionProps(start), $"{_protocol.ToLowerInvariant()}-{sessionId}");
        Context.Watch(session);
        _sessions.Add(session, admission == Admission.Accepted ? address : null);
        if (admission != Admission.Accepted)
        {
            _refusals[admission] = _refusals.GetValueOrDefault(admission) + 1;
        }
    }

    private void Report()
    {
        _admission.Prune(Now);
        foreach (var (why, count) in _refusals)
        {
            _log.Warning("{Protocol} refused {Count} connections in the last {Interval} ({Reason}); {Admitted} sessions open from {Addresses} addresses",
                _protocol, count, RefusalReportInterval, why, _admission.Open, _admission.Addresses);
        }

        _refusals.Clear();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private void ReportIfStopped()
    {
        if (_stopRequester is not null && _sessions.Count == 0)
        {
            _socket?.Tell(Tcp.Unbind.Instance);
            _socket = null;
            _stopRequester.Tell(Akka.Done.Instance);
        }
    }

    private sealed record ReportRefusals
    {
        public static ReportRefusals Instance { get; } = new();
    }
}
