using System.Diagnostics;
using System.Text;
using ActorMail.Configuration;
using ActorMail.Http;
using Akka.Actor;
using Akka.Event;
using Akka.IO;
using static ActorMail.Hosting.SessionMessages;

namespace ActorMail.Hosting;

/// <summary>
/// What every protocol session shares: the Akka.IO connection and the guards around it. Every
/// write is acknowledged; while more than <see cref="SessionLimits.MaxUnsentOutput"/> octets
/// wait for their acknowledgement the session takes no more input, and a write that is not
/// acknowledged within <see cref="SessionLimits.WriteTimeout"/> aborts the connection. The
/// session watches its connection actor, so every way a connection can end (a register
/// timeout, an abort, a reset) ends the session and frees its slot; and no session outlives
/// <see cref="SessionLimits.SessionLifetime"/>.
/// </summary>
/// <typeparam name="TState">The protocol's states.</typeparam>
/// <typeparam name="TData">The protocol's immutable session data.</typeparam>
public abstract class SessionShell<TState, TData> : FSM<TState, TData>
{
    private const string WriteTimer = "write-timeout";
    private const string LifetimeTimer = "session-lifetime";

    private readonly IActorRef _connection;
    private readonly SessionLimits _limits;
    private long _unacked;
    private bool _suspended;
    private bool _closing;
    private bool _aborting;

    protected SessionShell(SessionStart start, SessionLimits limits, string protocol)
    {
        Start = start;
        _connection = start.Connection;
        _limits = limits;
        Log = start.Tag(Context.GetLogger(), protocol);
    }

    /// <summary>Who connected, and what the listener decided.</summary>
    protected SessionStart Start { get; }

    /// <summary>The session's log, tagged with its id, protocol and remote address (and the user, once known).</summary>
    protected ILoggingAdapter Log { get; set; }

    /// <summary>Received input not used yet, in order.</summary>
    protected InputQueue Input { get; } = new();

    /// <summary>Time since the session started.</summary>
    protected Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>How the session ended, for its summary line.</summary>
    protected string EndReason { get; set; } = "peer closed";

    /// <summary>The state in which the session only waits for its connection to close.</summary>
    protected abstract TState ClosedState { get; }

    /// <summary>
    /// True while written output waiting for acknowledgement, plus <paramref name="gathered"/>
    /// octets of replies not written yet, reach the bound: take no more input until it drains.
    /// </summary>
    protected bool OutputFull(int gathered = 0) => _unacked + gathered >= _limits.MaxUnsentOutput;

    protected override void PreStart()
    {
        // Registered before the first write (Akka.IO would buffer writes until then); kept open
        // after the peer's FIN, so what a half-closing client sent is still answered.
        Context.Watch(_connection);
        _connection.Tell(new Tcp.Register(Self, keepOpenOnPeerClosed: true, useResumeWriting: false));
        SetTimer(LifetimeTimer, LifetimeOver.Instance, _limits.SessionLifetime, repeat: false);
        base.PreStart();
    }

    /// <summary>Tells the sessions journal (the web page's sessions view) about this session; it keeps what it is told, bounded.</summary>
    protected void Journal(JournalEntry entry) => Context.System.EventStream.Publish(new Journaled(Start.SessionId, DateTimeOffset.UtcNow, entry));

    /// <summary>Writes <paramref name="bytes"/>; <paramref name="then"/>, if given, is handed to <see cref="OnWritten"/> once they are acknowledged.</summary>
    protected void Write(ByteString bytes, object? then = null)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        if (_unacked == 0 && !_closing)
        {
            SetTimer(WriteTimer, WriteTimedOut.Instance, _limits.WriteTimeout, repeat: false);
        }

        _unacked += bytes.Count;
        _connection.Tell(Tcp.Write.Create(bytes, new Written(bytes.Count, then)));
    }

    /// <summary>Writes the gathered replies as ASCII in one write, and empties the buffer.</summary>
    protected void Write(StringBuilder replies)
    {
        if (replies.Length > 0)
        {
            Write(ByteString.FromString(replies.ToString(), Encoding.ASCII));
            replies.Clear();
        }
    }

    /// <summary>Closes once everything written has gone out; a client that does not read meets the write timeout.</summary>
    protected void Close()
    {
        if (!_closing)
        {
            _closing = true;
            SetTimer(WriteTimer, WriteTimedOut.Instance, _limits.WriteTimeout, repeat: false);
            _connection.Tell(Tcp.Close.Instance);
        }
    }

    /// <summary>Keeps input that arrived while the session cannot use it, and stops reading until <see cref="ReadAgain"/>.</summary>
    protected State<TState, TData> Hold(Tcp.Received received)
    {
        Input.Enqueue(received.Data);
        if (!_suspended)
        {
            _suspended = true;
            _connection.Tell(Tcp.SuspendReading.Instance);
        }

        return Stay();
    }

    /// <summary>
    /// The session can take input again: reading resumes if it was held, every octet held has
    /// been used, and output (with <paramref name="gathered"/> octets of replies about to be
    /// written) has room.
    /// </summary>
    protected void ReadAgain(int gathered = 0)
    {
        if (_suspended && Input.IsEmpty && !OutputFull(gathered))
        {
            _suspended = false;
            _connection.Tell(Tcp.ResumeReading.Instance);
        }
    }

    /// <summary>A write was acknowledged: <paramref name="then"/> is what its writer asked for; <paramref name="drained"/> is true when output fell below its bound.</summary>
    protected abstract State<TState, TData> OnWritten(object? then, bool drained);

    /// <summary>The session has lasted <see cref="SessionLimits.SessionLifetime"/>.</summary>
    protected abstract State<TState, TData> OnLifetimeOver(TData data);

    /// <summary>The connection events every state handles alike; null for anything else.</summary>
    protected State<TState, TData>? OnConnectionEvent(Event<TData> e)
    {
        switch (e.FsmEvent)
        {
            case Written written:
                var wasFull = OutputFull();
                _unacked -= written.Octets;
                if (_unacked > 0 || _closing)
                {
                    // Progress: the client reads. The timer measures from the last acknowledgement.
                    SetTimer(WriteTimer, WriteTimedOut.Instance, _limits.WriteTimeout, repeat: false);
                }
                else
                {
                    CancelTimer(WriteTimer);
                }

                return _aborting ? Stay() : OnWritten(written.Then, wasFull && !OutputFull());
            case WriteTimedOut when _aborting:
                return Stop();
            case WriteTimedOut:
                // RST, not FIN: what is queued for a client that does not read is dropped with it.
                Log.Warning("No write acknowledged within {WriteTimeout}: connection aborted", _limits.WriteTimeout);
                EndReason = "write timed out";
                _aborting = true;
                _connection.Tell(Tcp.Abort.Instance);
                SetTimer(WriteTimer, WriteTimedOut.Instance, _limits.WriteTimeout, repeat: false);
                return GoTo(ClosedState);
            case LifetimeOver:
                if (_aborting || _closing)
                {
                    return Stay();
                }

                EndReason = "session lifetime";
                return OnLifetimeOver(e.StateData);
            case Terminated t when t.ActorRef.Equals(_connection):
                EndReason = _aborting || _closing ? EndReason : "connection gone";
                return Stop();
            case Tcp.ConnectionClosed or Tcp.CommandFailed:
                EndReason = SessionMessages.EndReason(e.FsmEvent) is { } why && !_aborting ? why : EndReason;
                return Stop();
            default:
                return null;
        }
    }

    /// <summary>The acknowledgement of one write: its size and what its writer wants then.</summary>
    private sealed class Written(int octets, object? then) : Tcp.Event
    {
        public int Octets { get; } = octets;

        public object? Then { get; } = then;
    }

    private sealed record WriteTimedOut
    {
        public static WriteTimedOut Instance { get; } = new();
    }

    private sealed record LifetimeOver
    {
        public static LifetimeOver Instance { get; } = new();
    }
}
