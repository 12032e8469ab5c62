using System.Diagnostics;
using System.Text;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Pop3;
using ActorMail.Store;
using Akka.Actor;
using Akka.Event;
using Akka.IO;
using static ActorMail.Hosting.SessionMessages;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Pop3;

/// <summary>
/// One POP3 connection as an Akka FSM: frames lines, asks <see cref="Pop3Decider"/>, writes the
/// replies and carries out the effect. RETR and TOP stream the file in chunks, each written only
/// after the previous one is acknowledged, so a large message never piles up in the write queue.
/// </summary>
public sealed class Pop3Session : FSM<Pop3State, Pop3Conversation>
{
    private const string AuthTimer = "auth-delay";
    private const string CommandTimer = "command-timeout";

    private readonly SessionStart _start;
    private readonly NodeOptions _options;
    private readonly Pop3Policy _policy;
    private readonly IActorRef _mailboxes;
    private ILoggingAdapter _log;
    private readonly LineFramer _framer;
    private readonly InputQueue _input = new();
    private readonly SessionConnection _io;
    private readonly ReadGate _gate;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private MessageStream? _stream;
    private Maildir? _maildir;
    private ByteString _pending = ByteString.Empty;
    private long _correlation;
    private int _commands;
    private int _retrieved;
    private string _endReason = "peer closed";
    private bool _peerClosed;

    public Pop3Session(SessionStart start, NodeOptions options, Pop3Policy policy, IActorRef mailboxes)
    {
        _start = start;
        _options = options;
        _policy = policy;
        _mailboxes = mailboxes;
        _framer = new LineFramer(options.Pop3.MaxCommandLine);
        _gate = new ReadGate(start.Connection);
        _io = new SessionConnection(start.Connection);
        _log = start.Tag(Context.GetLogger(), "POP3");

        StartWith(start.Refuse ? Pop3State.Closed : Pop3State.Authorization, Pop3Conversation.Start);
        When(Pop3State.Authorization, Active, options.Pop3.IdleTimeout);
        When(Pop3State.Transaction, Active, options.Pop3.IdleTimeout);
        When(Pop3State.AuthDelay, e => e.FsmEvent switch
        {
            Tcp.Received r => Buffer(r),
            AuthDelayOver => Continue(Pop3Decider.AuthDelayOver(_policy, e.StateData)),
            _ => null!,
        });
        When(Pop3State.Opening, e => e.FsmEvent switch
        {
            Tcp.Received r => Buffer(r),
            MaildropOpened o when o.CorrelationId == _correlation => Opened(e.StateData, o),
            MaildropLocked l when l.CorrelationId == _correlation => Continue(Pop3Decider.MaildropLocked(e.StateData)),
            MaildropFailed f when f.CorrelationId == _correlation => Continue(Pop3Decider.MaildropFailed(e.StateData)),
            _ => null!,
        });
        When(Pop3State.Update, e => e.FsmEvent switch
        {
            Tcp.Received r => Buffer(r),
            DeletionsCommitted c when c.CorrelationId == _correlation => Committed(e.StateData, c),
            DeletionsFailed f when f.CorrelationId == _correlation => Continue(Pop3Decider.CommitFailed(e.StateData)),
            _ => null!,
        });
        When(Pop3State.Closed, e => e.FsmEvent is Tcp.Received or ChunkWritten ? Stay() : null!);
        WhenUnhandled(e =>
        {
            switch (e.FsmEvent)
            {
                case Tcp.PeerClosed when StateName != Pop3State.Closed:
                    // The client has sent all it will: answer what it sent (a stream included), then close.
                    _peerClosed = true;
                    return _stream is null && StateName is Pop3State.Authorization or Pop3State.Transaction
                        ? Pump(StateName, e.StateData, new StringBuilder())
                        : Stay();
                case Tcp.ConnectionClosed or Tcp.CommandFailed:
                    _endReason = EndReason(e.FsmEvent) ?? _endReason;
                    return Stop();
                case MaildropLost:
                    _endReason = "maildrop lost";
                    _stream = null;
                    return Continue(Pop3Decider.MaildropLost(e.StateData));
                case ShutdownSession:
                    _endReason = "shutdown";
                    _stream = null;
                    return Continue(Pop3Decider.Shutdown(e.StateData));
                default:
                    return Stay();
            }
        });
        OnTermination(_ => Finish());
        Initialize();
    }

    public static Props Props(SessionStart start, NodeOptions options, Pop3Policy policy, IActorRef mailboxes) =>
        Akka.Actor.Props.Create(() => new Pop3Session(start, options, policy, mailboxes)).WithDispatcher("akka.actor.pop3-session-dispatcher");

    protected override void PreStart()
    {
        if (_start.Refuse)
        {
            _endReason = "over the connection limit";
        }
        else
        {
            _log.Debug("POP3 session opened");
        }

        _io.Open(Self, _start.Refuse, Pop3Decider.Connect().Replies[0].Render(), Pop3Replies.TooManyConnections.Render());
        base.PreStart();
    }

    private State<Pop3State, Pop3Conversation> Active(Event<Pop3Conversation> e)
    {
        switch (e.FsmEvent)
        {
            case Tcp.Received received when _stream is not null:
                return Buffer(received);
            case Tcp.Received received:
                _input.Enqueue(received.Data);
                return Pump(StateName, e.StateData, new StringBuilder());
            case ChunkWritten when _stream is not null:
                return WriteNextChunk(ByteString.Empty) ? Stay() : Pump(StateName, e.StateData, new StringBuilder());
            case StateTimeout:
                _endReason = "autologout";
                _stream = null;
                return Continue(Pop3Decider.Idle(e.StateData));
            case CommandTimedOut:
                _endReason = "command too slow";
                _stream = null;
                return Continue(Pop3Decider.CommandTimedOut(e.StateData));
            default:
                return null!;
        }
    }

    private State<Pop3State, Pop3Conversation> Buffer(Tcp.Received received)
    {
        _input.Enqueue(received.Data);
        _gate.InputWhileWaiting();
        return Stay();
    }

    private State<Pop3State, Pop3Conversation> Opened(Pop3Conversation data, MaildropOpened opened)
    {
        _log = _log.WithContext("User", data.User!);
        _maildir = new Maildir(_options.DataRoot, data.User!);
        _log.Info("Maildrop of {User} opened: {Count} messages", data.User, opened.Messages.Length);
        return Continue(Pop3Decider.MaildropOpened(data, opened.Messages));
    }

    private State<Pop3State, Pop3Conversation> Committed(Pop3Conversation data, DeletionsCommitted committed)
    {
        _log.Info("UPDATE removed {Removed} messages of {User}", committed.Removed, data.User);
        return Continue(Pop3Decider.Committed(data));
    }

    // Applies a decision that ends a wait, then goes on with any input that arrived meanwhile.
    private State<Pop3State, Pop3Conversation> Continue(Pop3Decision decision)
    {
        var replies = new StringBuilder();
        var next = Carry(decision, replies);
        return Pump(next.State, next.Data, replies);
    }

    private State<Pop3State, Pop3Conversation> Pump(Pop3State state, Pop3Conversation data, StringBuilder replies)
    {
        while (!_input.IsEmpty && _stream is null && state is Pop3State.Authorization or Pop3State.Transaction)
        {
            var span = _input.Current;
            var before = span.Length;
            Pop3Decision? decision = null;
            switch (_framer.Next(ref span, out var line))
            {
                case LineStatus.Line:
                    _commands++;
                    var command = Pop3Parser.Parse(line);
                    decision = Pop3Decider.Decide(_policy, state, data, command);
                    if (_log.IsDebugEnabled)
                    {
                        // The PASS argument is never logged: only the verb.
                        _log.Debug("{Command} in {State}: {Reply}", command.Name, state, decision.Replies.Count > 0 ? (decision.Replies[0].Ok ? "+OK" : "-ERR") : "wait");
                    }

                    break;
                case LineStatus.TooLong:
                    _commands++;
                    decision = Pop3Decider.LineTooLong(_policy, state, data);
                    break;
            }

            _input.Advance(before - span.Length);
            if (decision is not null)
            {
                var next = Carry(decision, replies);
                state = next.State;
                data = next.Data;
            }
        }

        // The idle timer restarts on every read; a command line must also finish within its own limit.
        if (state is Pop3State.Authorization or Pop3State.Transaction && _framer.HasPartialLine)
        {
            if (!IsTimerActive(CommandTimer))
            {
                SetTimer(CommandTimer, CommandTimedOut.Instance, _options.Pop3.CommandTimeout, repeat: false);
            }
        }
        else
        {
            CancelTimer(CommandTimer);
        }

        if (_peerClosed && _stream is null && state is Pop3State.Authorization or Pop3State.Transaction)
        {
            // A half-closed client ends without QUIT: nothing is deleted.
            state = Pop3State.Closed;
        }

        _io.Flush(_pending, replies);
        _pending = ByteString.Empty;
        if (state == Pop3State.Closed)
        {
            _io.Close();
        }
        else if (_stream is null && state is Pop3State.Authorization or Pop3State.Transaction)
        {
            _gate.Open();
        }

        return GoTo(state).Using(data);
    }

    private Pop3Decision Carry(Pop3Decision decision, StringBuilder replies)
    {
        switch (decision.Effect)
        {
            case Pop3Effect.OpenMaildrop open:
                _log.Info("{User} signed in", open.User);
                _mailboxes.Tell(new OpenMaildrop(open.User, ++_correlation));
                break;
            case Pop3Effect.DelayAuthFailure:
                _log.Warning("Sign-in failed for {User} ({Failures} so far)", MailboxName.ForLog(decision.Data.User), decision.Data.AuthFailures);
                SetTimer(AuthTimer, AuthDelayOver.Instance, _options.Pop3.AuthFailureDelay, repeat: false);
                break;
            case Pop3Effect.CommitDeletions commit:
                _mailboxes.Tell(new CommitDeletions(decision.Data.User!, ++_correlation, commit.FileNames));
                break;
            case Pop3Effect.SendMessage send:
                var stream = MessageStream.Open(_maildir!.MessagePath(send.Message.FileName), send.BodyLines, _options.Pop3.RetrChunkSize);
                if (stream is null)
                {
                    _log.Error("Message {FileName} of {User} could not be opened", send.Message.FileName, decision.Data.User);
                    replies.Append(Pop3Replies.MaildropUnavailable.Render());
                    return decision with { Effect = null };
                }

                _retrieved++;
                AppendReplies(decision, replies);
                var head = ByteString.FromString(replies.ToString(), Encoding.ASCII);
                replies.Clear();
                _stream = stream;
                WriteNextChunk(head);
                return decision;
            case Pop3Effect.Close when decision.Replies.Contains(Pop3Replies.TooManyErrors):
                _endReason = "too many errors";
                break;
            case Pop3Effect.Close when decision.Replies.Contains(Pop3Replies.TooManyAuthFailures):
                _endReason = "too many failed sign-ins";
                break;
            case Pop3Effect.Close when _endReason == "peer closed":
                _endReason = "quit";
                break;
        }

        AppendReplies(decision, replies);
        return decision;
    }

    // Writes the next chunk after `head` (replies not yet written) and returns true while more is
    // to come; the last chunk carries the terminator and ends the stream. A message that ends in
    // its first chunk joins the bytes gathered for the end of this Pump, so pipelined RETRs of
    // small messages leave in one write (up to a chunk's size) instead of one each.
    private bool WriteNextChunk(ByteString head)
    {
        var stream = _stream!;
        var chunk = head.Concat(stream.Next(out var last));
        if (!last)
        {
            WritePending();
            _io.Write(chunk, ChunkWritten.Instance);
            return true;
        }

        stream.Dispose();
        _stream = null;
        _pending = _pending.Concat(chunk);
        if (_pending.Count >= _options.Pop3.RetrChunkSize)
        {
            WritePending();
        }

        return false;
    }

    private void WritePending()
    {
        if (!_pending.IsEmpty)
        {
            _io.Write(_pending);
            _pending = ByteString.Empty;
        }
    }

    private static void AppendReplies(Pop3Decision decision, StringBuilder replies)
    {
        foreach (var reply in decision.Replies)
        {
            replies.Append(reply.Render());
        }
    }

    private void Finish()
    {
        _stream?.Dispose();
        _log.Info("POP3 session ended ({EndReason}): {Commands} commands, {Retrieved} messages sent, {BytesIn} octets in, {DurationMs} ms",
            _endReason, _commands, _retrieved, _input.TotalReceived, _clock.ElapsedMilliseconds);
    }

    private sealed record CommandTimedOut
    {
        public static CommandTimedOut Instance { get; } = new();
    }

    private sealed record AuthDelayOver
    {
        public static AuthDelayOver Instance { get; } = new();
    }

    private sealed class ChunkWritten : Tcp.Event
    {
        public static ChunkWritten Instance { get; } = new();
    }
}
