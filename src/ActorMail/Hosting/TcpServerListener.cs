using System.Net;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using Akka.IO;
using static ActorMail.Hosting.SessionMessages;

namespace ActorMail.Hosting;

/// <summary>
/// Binds one TCP port with Akka.IO and spawns one session actor per connection, counting them
/// against the connection limit. Sessions are stopped, never restarted, if they fail: a restarted
/// session would have forgotten its conversation.
/// </summary>
public sealed class TcpServerListener : ReceiveActor
{
    private readonly string _protocol;
    private readonly EndPoint _endpoint;
    private readonly int _maxConnections;
    private readonly Func<SessionStart, Props> _sessionProps;
    private readonly TaskCompletionSource<EndPoint> _bound;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<IActorRef> _sessions = [];
    private IActorRef? _socket;
    private IActorRef? _stopRequester;

    public TcpServerListener(string protocol, EndPoint endpoint, int maxConnections, Func<SessionStart, Props> sessionProps, TaskCompletionSource<EndPoint> bound)
    {
        _protocol = protocol;
        _endpoint = endpoint;
        _maxConnections = maxConnections;
        _sessionProps = sessionProps;
        _bound = bound;

        Receive<Tcp.Bound>(b =>
        {
            _socket = Sender;
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
            _sessions.Remove(t.ActorRef);
            ReportIfStopped();
        });
        Receive<GetBoundAddress>(_ => Sender.Tell(_bound.Task.IsCompletedSuccessfully ? _bound.Task.Result : null!));
        Receive<StopAccepting>(_ =>
        {
            // Sessions are told first; the socket is unbound only once they are gone, because
            // Akka.IO's listener owns the accepted connections and closing it resets them before
            // their 421 is written. Connections accepted meanwhile are refused with 421.
            _stopRequester = Sender;
            foreach (var session in _sessions)
            {
                session.Tell(ShutdownSession.Instance);
            }

            ReportIfStopped();
        });
        Receive<Tcp.Unbound>(_ => _log.Info("{Protocol} stopped accepting", _protocol));
    }

    public static Props Props(string protocol, EndPoint endpoint, int maxConnections, Func<SessionStart, Props> sessionProps, TaskCompletionSource<EndPoint> bound) =>
        Akka.Actor.Props.Create(() => new TcpServerListener(protocol, endpoint, maxConnections, sessionProps, bound));

    protected override void PreStart() =>
        Context.System.Tcp().Tell(new Tcp.Bind(Self, _endpoint, backlog: 1024));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private void Accept(Tcp.Connected connected)
    {
        var refuse = _sessions.Count >= _maxConnections || _stopRequester is not null;
        var sessionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var remote = connected.RemoteAddress is IPEndPoint ip ? $"{ip.Address}:{ip.Port}" : connected.RemoteAddress.ToString() ?? "unknown";
        var start = new SessionStart(Sender, remote, sessionId, refuse);
        var session = Context.ActorOf(_sessionProps(start), $"{_protocol.ToLowerInvariant()}-{sessionId}");
        Context.Watch(session);
        _sessions.Add(session);
        if (refuse)
        {
            _log.Warning("{Protocol} connection from {Remote} refused: {Count} sessions at the limit", _protocol, remote, _sessions.Count - 1);
        }
    }

    private void ReportIfStopped()
    {
        if (_stopRequester is not null && _sessions.Count == 0)
        {
            _socket?.Tell(Tcp.Unbind.Instance);
            _socket = null;
            _stopRequester.Tell(Akka.Done.Instance);
        }
    }
}
