using System.Diagnostics;
using System.Text;
using ActorMail.Configuration;
using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Session;
using ActorMail.Tls;
using Akka.Actor;
using Akka.Event;
using Akka.IO;
using static ActorMail.Hosting.SessionMessages;

namespace ActorMail.Hosting;

/// <summary>
/// The one session FSM under every protocol: it owns the connection, the input queue and the
/// timers, feeds framed input and every other event to the protocol's decider, writes the
/// replies and hands effects to the protocol's runner (the subclass). It keeps no protocol state.
/// The connection reads only when the session asks (pull mode), one read at a time, so input
/// never piles up in the session's mailbox. Every write is acknowledged; while more than
/// <see cref="SessionLimits.MaxUnsentOutput"/> octets wait for their acknowledgement the session takes no more input, and a write not
/// acknowledged within <see cref="SessionLimits.WriteTimeout"/> aborts the connection. The
/// session watches its connection actor, so every way a connection can end frees its slot; and
/// no session outlives <see cref="SessionLimits.SessionLifetime"/>. When the decider asks for
/// TLS (STARTTLS, STLS), the shell discards every octet received so far and runs the handshake
/// over the same connection (<see cref="TlsConnection"/>); from then on what it reads is
/// decrypted and what it writes encrypted, with the same acknowledgements and bounds, so
/// deciders and runners never see TLS.
/// </summary>
/// <typeparam name="TState">The protocol's states.</typeparam>
/// <typeparam name="TData">The protocol's immutable session data.</typeparam>
/// <typeparam name="TDecision">The protocol's decision.</typeparam>
/// <typeparam name="TDecider">The protocol's decider, for the inputs every session meets.</typeparam>
public abstract class SessionShell<TState, TData, TDecision, TDecider> : FSM<TState, TData>
    where TState : struct, Enum
    where TDecision : class, ISessionDecision<TState, TData>
    where TDecider : ISessionDecider<TState, TData, TDecision>
{
    private const string WriteTimer = "write-timeout";
    private const string LifetimeTimer = "session-lifetime";
    private const string TransferTimer = "transfer-timeout";
    private const string HandshakeTimer = "tls-handshake";

    private readonly IActorRef _connection;
    private readonly SessionLimits _limits;
    private readonly TDecision _connect;
    private readonly string _protocol;
    private readonly LineFramer _framer;
    private readonly TransferLimit _commandLimit;
    private readonly SessionTls? _tlsSettings;
    private TlsConnection? _tls;
    private bool _tlsAsked;
    private bool _greetAfterTls;
    private long _unacked;
    private bool _readAsked;
    private bool _closing;
    private bool _aborting;
    private bool _peerClosed;
    private TransferLimit? _transfer;
    private ByteString _held = ByteString.Empty;
    private int _inputs;
    private string? _user;

    protected SessionShell(SessionStart start, ISessionSettings settings, string protocol, TDecision connect, SessionTls? tls = null)
    {
        _tlsSettings = tls;
        Start = start;
        _connection = start.Connection;
        _limits = settings.Limits;
        _connect = connect;
        _protocol = protocol;
        _framer = new LineFramer(settings.MaxCommandLine);
        _commandLimit = new TransferLimit(settings.CommandTimeout);
        Log = start.Tag(Context.GetLogger(), protocol);

        StartWith(connect.State, connect.Data);
        foreach (var state in Enum.GetValues<TState>())
        {
            When(state, OnEvent, TDecider.ReadsCommands(state) ? settings.IdleTimeout : null);
        }

        OnTermination(_ =>
        {
            Release();
            _tls?.Dispose();
            Journal(new SessionEnded(EndReason));
            Log.Info("{Protocol} session ended ({EndReason}): {Commands} commands, {Messages} messages, {BytesIn} octets in, {DurationMs} ms",
                protocol, EndReason, _inputs, Messages, Input.TotalReceived, Clock.ElapsedMilliseconds);
        });
        Initialize();
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
    protected string EndReason { get; private set; } = "peer closed";

    /// <summary>The state in which the session only waits for its connection to close.</summary>
    protected abstract TState ClosedState { get; }

    /// <summary>Messages the session moved (stored, or sent), for its summary line.</summary>
    protected abstract int Messages { get; }

    protected override void PreStart()
    {
        // Registered before the first write (Akka.IO would buffer writes until then); kept open
        // after the peer's FIN, so what a half-closing client sent is still answered.
        Context.Watch(_connection);
        _connection.Tell(new Tcp.Register(Self, keepOpenOnPeerClosed: true, useResumeWriting: false));
        SetTimer(LifetimeTimer, LifetimeOverEvent.Instance, _limits.SessionLifetime, repeat: false);
        base.PreStart();
        Journal(new SessionOpened(_protocol, Start.Remote, StateNames));
        if (Start.ImplicitTls && !_connect.State.Equals(ClosedState))
        {
            // Implicit TLS (RFC 8314): the greeting is the first thing said over TLS.
            _greetAfterTls = true;
            BeginTls();
            return;
        }

        if (Start.ImplicitTls)
        {
            // A refusal cannot be said before the handshake: the connection just closes.
            Decided(_connect, new StringBuilder(), StateName);
            Close();
            return;
        }

        var replies = new StringBuilder();
        var closed = Decided(_connect, replies, StateName).State.Equals(ClosedState);
        Flush(replies);
        if (closed)
        {
            Close();
        }
        else
        {
            ReadAgain();
        }
    }

    /// <summary>True while input is taken: a state that reads commands, with nothing else in progress.</summary>
    protected virtual bool TakesInput(TState state) => TDecider.ReadsCommands(state);

    /// <summary>
    /// Frames one input from the front of <paramref name="input"/> (advancing it past what was
    /// used) and decides it; null when more bytes are needed. <paramref name="heard"/> is the
    /// input as the sessions journal shows it: passwords masked, a body as its size. Input is a
    /// command line unless the runner frames a state of its own (a message body).
    /// </summary>
    protected virtual TDecision? Next(TState state, TData data, ref ReadOnlySpan<byte> input, out string heard)
    {
        switch (_framer.Next(ref input, out var line))
        {
            case LineStatus.Line when TDecider.ReadsSecret(state):
                heard = "****";
                return Line(state, data, line);
            case LineStatus.Line:
                heard = TranscriptMask.Command(line, line.Length);
                if (Log.IsDebugEnabled)
                {
                    // The verb only: an argument can be a password.
                    Log.Debug("{Command} in {State}", Verb(line), state);
                }

                return Line(state, data, line);
            case LineStatus.TooLong:
                heard = "(a line over the limit)";
                return LineTooLong(state, data);
            default:
                heard = "";
                return null;
        }
    }

    /// <summary>
    /// Carries out a decider's StartTls: once the replies of this step are written, every octet
    /// received so far is discarded, never read as a command (RFC 3207 §4.2; Postfix
    /// CVE-2011-0411), and the TLS handshake runs; its outcome goes to the decider as
    /// TlsEstablished or TlsFailed.
    /// </summary>
    protected void StartTls()
    {
        if (_tlsSettings is null || _tls is not null)
        {
            throw new InvalidOperationException("StartTls without a certificate, or twice");
        }

        _tlsAsked = true;
    }

    /// <summary>The decision for one command line (without its line end).</summary>
    protected abstract TDecision Line(TState state, TData data, ReadOnlySpan<byte> line);

    /// <summary>The decision for a command line over the limit (its octets were discarded as they came).</summary>
    protected abstract TDecision LineTooLong(TState state, TData data);

    /// <summary>Carries out the decision's effect and gathers its replies; returns the decision that stands (an effect can fail into another one).</summary>
    protected abstract TDecision Run(TDecision decision, StringBuilder replies);

    /// <summary>The decision for a message from outside the connection (a mailbox, the password checker, a timer of the runner); null when the message is not the runner's.</summary>
    protected abstract TDecision? Answer(TState state, TData data, object message);

    /// <summary>The time limit the input being framed now must finish within, or null: a command line that has begun must end within its own.</summary>
    protected virtual TransferLimit? Transfer(TState state) => TDecider.ReadsCommands(state) && _framer.HasPartialLine ? _commandLimit : null;

    /// <summary>Frees what the runner holds (a spool, a file being sent) when the session ends.</summary>
    protected abstract void Release();

    /// <summary>The user a decision signs the session in as, for the log's User property and the sessions journal; null if none.</summary>
    protected virtual string? SignedIn(TDecision decision) => null;

    /// <summary>A write the runner asked to hear about (<paramref name="then"/>) was acknowledged.</summary>
    protected virtual State<TState, TData> OnWritten(object? then, bool drained) =>
        drained && TakesInput(StateName) ? Pump(StateName, StateData, new StringBuilder()) : Stay();

    /// <summary>
    /// True while written output waiting for acknowledgement, plus <paramref name="gathered"/>
    /// octets of replies not written yet, reach the bound: take no more input until it drains.
    /// </summary>
    protected bool OutputFull(int gathered = 0) => _unacked + gathered >= _limits.MaxUnsentOutput;

    /// <summary>Writes <paramref name="bytes"/> after anything held; <paramref name="then"/>, if given, is handed to <see cref="OnWritten"/> once they are acknowledged.</summary>
    protected void Write(ByteString bytes, object? then = null)
    {
        WriteHeld();
        Send(bytes, then);
    }

    /// <summary>
    /// Holds <paramref name="bytes"/> to leave in one write with the replies that follow them
    /// (so pipelined small answers do not cost a write each), or at once when the held bytes
    /// reach <paramref name="flushAt"/> octets.
    /// </summary>
    protected void WriteWithNext(ByteString bytes, int flushAt)
    {
        _held = _held.Concat(bytes);
        if (_held.Count >= flushAt)
        {
            WriteHeld();
        }
    }

    private void WriteHeld()
    {
        if (!_held.IsEmpty)
        {
            var held = _held;
            _held = ByteString.Empty;
            Send(held, null);
        }
    }

    private void Send(ByteString bytes, object? then)
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
        if (_tls is { IsEstablished: true })
        {
            _tls.Write(bytes, new Written(bytes.Count, then));
        }
        else
        {
            _connection.Tell(Tcp.Write.Create(bytes, new Written(bytes.Count, then)));
        }
    }

    // Writes what is held and the gathered replies as ASCII, in one write, and empties the buffer.
    private void Flush(StringBuilder replies)
    {
        var text = replies.Length > 0 ? ByteString.FromString(replies.ToString(), Encoding.ASCII) : ByteString.Empty;
        replies.Clear();
        var held = _held;
        _held = ByteString.Empty;
        Send(held.IsEmpty ? text : held.Concat(text), null);
    }

    /// <summary>Runs a decision that came from outside the input, then goes on with input that waited for it.</summary>
    protected State<TState, TData> Apply(TDecision decision)
    {
        var replies = new StringBuilder();
        var next = Decided(decision, replies, StateName);
        return Pump(next.State, next.Data, replies);
    }

    /// <summary>Decides buffered input until it is used up or the session must wait, then writes the replies.</summary>
    protected State<TState, TData> Pump(TState state, TData data, StringBuilder replies)
    {
        // Input is taken only while the replies it makes have room; the rest waits for acknowledgements.
        while (!Input.IsEmpty && TakesInput(state) && !OutputFull(replies.Length + _held.Count))
        {
            var span = Input.Current;
            var before = span.Length;
            var decision = Next(state, data, ref span, out var heard);
            Input.Advance(before - span.Length);
            if (decision is not null)
            {
                _inputs++;
                (state, data) = Decided(decision, replies, state, heard) is var next ? (next.State, next.Data) : default;
            }
        }

        if (_peerClosed && Input.IsEmpty && TakesInput(state))
        {
            (state, data) = Decided(TDecider.PeerClosed(state, data), replies, state) is var next ? (next.State, next.Data) : default;
        }

        Flush(replies);
        if (_tlsAsked && !state.Equals(ClosedState))
        {
            BeginTls();
        }

        if (state.Equals(ClosedState))
        {
            Close();
        }
        else if (TakesInput(state))
        {
            ReadAgain();
        }

        ArmTransferTimer(Transfer(state));
        return GoTo(state).Using(data);
    }

    // Runs a decision taken in `before` for `heard` (empty: the session's own step, such as an
    // answer from a mailbox), logs its notes and tells the journal.
    private TDecision Decided(TDecision decision, StringBuilder replies, TState before, string heard = "")
    {
        var next = Run(decision, replies);
        var user = SignedIn(next);
        if (user is not null && user != _user)
        {
            _user = user;
            Log = Log.WithContext("User", user);
        }

        foreach (var note in next.Notes)
        {
            Write(note);
        }

        if (heard.Length > 0 || next.Said.Count > 0 || !next.State.Equals(before))
        {
            Journal(new CommandJournaled(before.ToString(), heard, [.. next.Said.Select(r => r.ToString()!)], next.State.ToString(), user));
        }

        if (next.State.Equals(ClosedState) && next.Ends is { } why)
        {
            EndReason = why;
        }

        return next;
    }

    private State<TState, TData> OnEvent(Event<TData> e)
    {
        var state = StateName;
        var closed = state.Equals(ClosedState);
        if (_tls is not null && OnTlsEvent(e, state, closed) is { } handled)
        {
            return handled;
        }

        switch (e.FsmEvent)
        {
            case Tcp.Received received:
                // Input that arrives while the session cannot use it waits here; no more is read until ReadAgain asks.
                _readAsked = false;
                if (closed)
                {
                    return Stay();
                }

                Input.Enqueue(received.Data);
                return TakesInput(state) && !OutputFull() ? Pump(state, e.StateData, new StringBuilder()) : Stay();
            case StateTimeout:
                return Apply(TDecider.Idle(e.StateData));
            case TransferTimedOutEvent:
                return Apply(TDecider.TransferTimedOut(e.StateData));
            case Tcp.PeerClosed when !closed:
                // The client has sent all it will: answer what it sent, then close.
                _peerClosed = true;
                return TakesInput(state) ? Pump(state, e.StateData, new StringBuilder()) : Stay();
            case ShutdownSession when !closed:
                return Apply(TDecider.Shutdown(state, e.StateData));
            case LifetimeOverEvent when !closed && !_aborting && !_closing:
                return Apply(TDecider.LifetimeOver(state, e.StateData));
        }

        return Answer(state, e.StateData, e.FsmEvent) is { } answer ? Apply(answer) : OnConnectionEvent(e);
    }

    private void Write(SessionNote note)
    {
        object[] values = [.. note.Values];
        switch (note.Level)
        {
            case NoteLevel.Debug:
                Log.Debug(note.Template, values);
                break;
            case NoteLevel.Warning:
                Log.Warning(note.Template, values);
                break;
            case NoteLevel.Error:
                Log.Error(note.Template, values);
                break;
            default:
                Log.Info(note.Template, values);
                break;
        }
    }

    private static IReadOnlyList<string> StateNames { get; } = Enum.GetNames<TState>();

    private static string Verb(ReadOnlySpan<byte> line)
    {
        var space = line.IndexOf((byte)' ');
        return Encoding.ASCII.GetString(space < 0 ? line : line[..space]).ToUpperInvariant();
    }

    // The sessions journal (the web page's sessions view) keeps what it is told, bounded.
    private void Journal(JournalEntry entry) => Context.System.EventStream.Publish(new Journaled(Start.SessionId, DateTimeOffset.UtcNow, entry));

    // Over TLS, reading is one decrypting read at a time, asked for only while the session can
    // use its plaintext; the socket is asked for more records only while undecrypted ones are under their bound.
    private State<TState, TData>? OnTlsEvent(Event<TData> e, TState state, bool closed)
    {
        var tls = _tls!;
        switch (e.FsmEvent)
        {
            case Tcp.Received received:
                _readAsked = false;
                tls.Received(received.Data);
                if (!tls.Full)
                {
                    AskRead();
                }

                return Stay();
            case TlsConnection.Room:
                AskRead();
                return Stay();
            case TlsConnection.RecordsWritten:
                tls.Acknowledged();
                return Stay();
            case Tcp.PeerClosed:
                // The decryptor reads to the end of what came, then says Ended.
                tls.PeerClosed();
                return Stay();
            case TlsConnection.Established established when !closed:
                CancelTimer(HandshakeTimer);
                tls.Begin();
                if (_greetAfterTls)
                {
                    _greetAfterTls = false;
                    Write(TlsNote.Established(established.Description));
                    return Apply(_connect);
                }

                return Apply(TDecider.TlsEstablished(e.StateData, established.Description));
            case TlsConnection.Failed failed when !closed && !_aborting:
                return TlsLost(e.StateData, failed.Reason);
            case HandshakeTimedOut when !closed && !_aborting && !tls.IsEstablished:
                return TlsLost(e.StateData, "timed out");
            case TlsConnection.Decrypted decrypted:
                tls.ReadDone();
                if (closed)
                {
                    return Stay();
                }

                Input.Enqueue(decrypted.Data);
                return TakesInput(state) && !OutputFull() ? Pump(state, e.StateData, new StringBuilder()) : Stay();
            case TlsConnection.Ended:
                tls.ReadDone();
                _peerClosed = !closed;
                return !closed && TakesInput(state) ? Pump(state, e.StateData, new StringBuilder()) : Stay();
            case TlsConnection.Failed or HandshakeTimedOut:
                return Stay();
            default:
                return null;
        }
    }

    // Discards what was received before the handshake, then starts it with its own time limit.
    private void BeginTls()
    {
        _tlsAsked = false;
        _framer.Reset();
        var discarded = Input.Clear();
        if (discarded > 0)
        {
            Log.Warning("{Octets} octets received before the TLS handshake discarded unread", discarded);
        }

        _tls = new TlsConnection(_connection, Self, _tlsSettings!.Certificate, _tlsSettings.Options);
        AskRead();

        SetTimer(HandshakeTimer, HandshakeTimedOut.Instance, _tlsSettings.Options.HandshakeTimeout, repeat: false);
        _tls.StartHandshake();
    }

    // No reply can be read over a TLS that failed: the connection is aborted.
    private State<TState, TData> TlsLost(TData data, string reason)
    {
        CancelTimer(HandshakeTimer);
        if (_tls!.IsEstablished)
        {
            Log.Warning("TLS failed: {Reason}", reason);
            EndReason = "TLS failed";
        }
        else
        {
            Decided(TDecider.TlsFailed(data, reason), new StringBuilder(), StateName);
        }

        _aborting = true;
        _connection.Tell(Tcp.Abort.Instance);
        SetTimer(WriteTimer, WriteTimedOut.Instance, _limits.WriteTimeout, repeat: false);
        return GoTo(ClosedState);
    }

    // The listener binds in pull mode: the connection reads once each time it is asked, so at most
    // one read waits in the session's mailbox, however fast the client sends. The next read is
    // asked once every octet received has been used and output has room; over TLS that read is
    // a decrypting one, and the socket reads records as the TLS connection has room for them.
    private void ReadAgain()
    {
        if (!Input.IsEmpty || OutputFull())
        {
            return;
        }

        if (_tls is null)
        {
            AskRead();
        }
        else if (_tls.IsEstablished)
        {
            _tls.ReadNext();
        }
    }

    private void AskRead()
    {
        if (!_readAsked)
        {
            _readAsked = true;
            _connection.Tell(Tcp.ResumeReading.Instance);
        }
    }

    // The idle timer restarts on every read, so a client sending one octet at a time would never
    // meet it: a command line, or a whole body, must also finish within its own limit.
    private void ArmTransferTimer(TransferLimit? limit)
    {
        if (limit is null)
        {
            _transfer = null;
            CancelTimer(TransferTimer);
        }
        else if (!ReferenceEquals(limit, _transfer))
        {
            _transfer = limit;
            SetTimer(TransferTimer, TransferTimedOutEvent.Instance, limit.Limit, repeat: false);
        }
    }

    // Closes once everything written has gone out; a client that does not read meets the write timeout.
    private void Close()
    {
        if (!_closing)
        {
            _closing = true;
            SetTimer(WriteTimer, WriteTimedOut.Instance, _limits.WriteTimeout, repeat: false);
            if (_tls is { IsEstablished: true })
            {
                // close_notify after the last reply, then Tcp.Close.
                _tls.Close(_connection);
            }
            else
            {
                _connection.Tell(Tcp.Close.Instance);
            }
        }
    }

    private State<TState, TData> OnConnectionEvent(Event<TData> e)
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
            case Tcp.PeerClosed when _closing && !_aborting:
                // Akka.IO drops a Close that waits for a pending write when the peer's FIN comes
                // first, and leaves the socket open: ask again, or the client never sees our FIN.
                _connection.Tell(Tcp.Close.Instance);
                return Stay();
            case Terminated t when t.ActorRef.Equals(_connection):
                EndReason = _aborting || _closing ? EndReason : "connection gone";
                return Stop();
            case Tcp.ConnectionClosed or Tcp.CommandFailed:
                EndReason = SessionMessages.EndReason(e.FsmEvent) is { } why && !_aborting ? why : EndReason;
                return Stop();
            default:
                return Stay();
        }
    }

    /// <summary>A time limit for one command line or body; the timer restarts only when the limit in force changes.</summary>
    protected sealed class TransferLimit(TimeSpan limit)
    {
        /// <summary>How long the input may take.</summary>
        public TimeSpan Limit { get; } = limit;
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

    private sealed record LifetimeOverEvent
    {
        public static LifetimeOverEvent Instance { get; } = new();
    }

    private sealed record TransferTimedOutEvent
    {
        public static TransferTimedOutEvent Instance { get; } = new();
    }

    private sealed record HandshakeTimedOut
    {
        public static HandshakeTimedOut Instance { get; } = new();
    }
}
