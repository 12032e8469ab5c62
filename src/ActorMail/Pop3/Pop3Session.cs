using System.Text;
using ActorMail.Auth;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Http;
using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Pop3;
using ActorMail.Protocol.Session;
using ActorMail.Store;
using Akka.Actor;
using Akka.Event;
using Akka.IO;
using static ActorMail.Hosting.SessionMessages;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Pop3;

/// <summary>
/// One POP3 connection as an Akka FSM over the <see cref="SessionShell{TState, TData}"/>: frames
/// lines, asks <see cref="Pop3Decider"/>, writes the replies and carries out the effect. RETR and
/// TOP stream the file in chunks, each written only after the previous one is acknowledged, so a
/// large message never piles up in the write queue. Passwords are checked by the node's
/// <see cref="PasswordChecker"/>, never on the session's thread.
/// </summary>
public sealed class Pop3Session : SessionShell<Pop3State, Pop3Conversation>
{
    private const string AuthTimer = "auth-delay";
    private const string CommandTimer = "command-timeout";

    private readonly NodeOptions _options;
    private readonly Pop3Policy _policy;
    private readonly IActorRef _mailboxes;
    private readonly IActorRef _passwords;
    private readonly LineFramer _framer;
    private MessageStream? _stream;
    private Maildir? _maildir;
    private ByteString _pending = ByteString.Empty;
    private long _correlation;
    private int _commands;
    private int _retrieved;
    private bool _peerClosed;

    public Pop3Session(SessionStart start, NodeOptions options, Pop3Policy policy, IActorRef mailboxes, IActorRef passwords)
        : base(start, options.Pop3.Limits, "POP3")
    {
        _options = options;
        _policy = policy;
        _mailboxes = mailboxes;
        _passwords = passwords;
        _framer = new LineFramer(options.Pop3.MaxCommandLine);

        StartWith(start.Admission == Admission.Accepted ? Pop3State.Authorization : Pop3State.Closed, Pop3Conversation.Start);
        When(Pop3State.Authorization, Active, options.Pop3.IdleTimeout);
        When(Pop3State.Transaction, Active, options.Pop3.IdleTimeout);
        When(Pop3State.Verifying, e => e.FsmEvent switch
        {
            Tcp.Received r => Hold(r),
            AuthCommands.PasswordChecked c when c.CorrelationId == _correlation => Checked(e.StateData, c.Outcome),
            _ => null!,
        });
        When(Pop3State.AuthDelay, e => e.FsmEvent switch
        {
            Tcp.Received r => Hold(r),
            AuthDelayOver => Continue(Pop3Decider.AuthDelayOver(_policy, e.StateData)),
            _ => null!,
        });
        When(Pop3State.Opening, e => e.FsmEvent switch
        {
            Tcp.Received r => Hold(r),
            MaildropOpened o when o.CorrelationId == _correlation => Opened(e.StateData, o),
            MaildropLocked l when l.CorrelationId == _correlation => Continue(Pop3Decider.MaildropLocked(e.StateData)),
            MaildropFailed f when f.CorrelationId == _correlation => Continue(Pop3Decider.MaildropFailed(e.StateData)),
            _ => null!,
        });
        When(Pop3State.Update, e => e.FsmEvent switch
        {
            Tcp.Received r => Hold(r),
            DeletionsCommitted c when c.CorrelationId == _correlation => Committed(e.StateData, c),
            DeletionsFailed f when f.CorrelationId == _correlation => Continue(Pop3Decider.CommitFailed(e.StateData)),
            _ => null!,
        });
        When(Pop3State.Closed, e => e.FsmEvent is Tcp.Received ? Stay() : null!);
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
                case MaildropLost when StateName != Pop3State.Closed:
                    EndReason = "maildrop lost";
                    DropStream();
                    return Continue(Pop3Decider.MaildropLost(e.StateData));
                case ShutdownSession when StateName != Pop3State.Closed:
                    EndReason = "shutdown";
                    DropStream();
                    return Continue(Pop3Decider.Shutdown(e.StateData));
                default:
                    return OnConnectionEvent(e) ?? Stay();
            }
        });
        OnTermination(_ => Finish());
        Initialize();
    }

    public static Props Props(SessionStart start, NodeOptions options, Pop3Policy policy, IActorRef mailboxes, IActorRef passwords) =>
        Akka.Actor.Props.Create(() => new Pop3Session(start, options, policy, mailboxes, passwords)).WithDispatcher("akka.actor.pop3-session-dispatcher");

    protected override Pop3State ClosedState => Pop3State.Closed;

    protected override void PreStart()
    {
        base.PreStart();
        Journal(new SessionOpened("POP3", Start.Remote, Enum.GetNames<Pop3State>()));
        if (Start.Admission == Admission.Accepted)
        {
            Log.Debug("POP3 session opened");
        }
        else
        {
            EndReason = $"refused: {Start.Admission}";
        }

        var connect = Pop3Decider.Connect(Start.Admission);
        var replies = new StringBuilder();
        Carry(connect, replies);
        Write(replies);
        if (connect.State == Pop3State.Closed)
        {
            Close();
        }
    }

    protected override State<Pop3State, Pop3Conversation> OnWritten(object? then, bool drained)
    {
        if (then is ChunkWritten && _stream is not null && StateName is Pop3State.Authorization or Pop3State.Transaction)
        {
            return WriteNextChunk(ByteString.Empty) ? Stay() : Pump(StateName, StateData, new StringBuilder());
        }

        return drained && _stream is null && StateName is Pop3State.Authorization or Pop3State.Transaction
            ? Pump(StateName, StateData, new StringBuilder())
            : Stay();
    }

    // A QUIT being committed is let finish: the session closes right after it anyway.
    protected override State<Pop3State, Pop3Conversation> OnLifetimeOver(Pop3Conversation data)
    {
        if (StateName is Pop3State.Update or Pop3State.Closed)
        {
            return Stay();
        }

        DropStream();
        return Continue(Pop3Decider.LifetimeOver(data));
    }

    private State<Pop3State, Pop3Conversation> Active(Event<Pop3Conversation> e)
    {
        switch (e.FsmEvent)
        {
            case Tcp.Received received when _stream is not null || OutputFull():
                return Hold(received);
            case Tcp.Received received:
                Input.Enqueue(received.Data);
                return Pump(StateName, e.StateData, new StringBuilder());
            case StateTimeout:
                EndReason = "autologout";
                DropStream();
                return Continue(Pop3Decider.Idle(e.StateData));
            case CommandTimedOut:
                EndReason = "command too slow";
                DropStream();
                return Continue(Pop3Decider.CommandTimedOut(e.StateData));
            default:
                return null!;
        }
    }

    private State<Pop3State, Pop3Conversation> Checked(Pop3Conversation data, PasswordOutcome outcome)
    {
        if (outcome == PasswordOutcome.Busy)
        {
            Log.Warning("Sign-in of {User} refused: too many password checks waiting", MailboxName.ForLog(data.User));
        }

        return Continue(Pop3Decider.PasswordChecked(data, outcome));
    }

    private State<Pop3State, Pop3Conversation> Opened(Pop3Conversation data, MaildropOpened opened)
    {
        Log = Log.WithContext("User", data.User!);
        _maildir = new Maildir(_options.DataRoot, data.User!);
        Log.Info("Maildrop of {User} opened: {Count} messages", data.User, opened.Messages.Length);
        return Continue(Pop3Decider.MaildropOpened(data, opened.Messages));
    }

    private State<Pop3State, Pop3Conversation> Committed(Pop3Conversation data, DeletionsCommitted committed)
    {
        Log.Info("UPDATE removed {Removed} messages of {User}", committed.Removed, data.User);
        return Continue(Pop3Decider.Committed(data));
    }

    // Applies a decision that ends a wait, then goes on with any input that arrived meanwhile.
    private State<Pop3State, Pop3Conversation> Continue(Pop3Decision decision)
    {
        Journal(CommandJournaled.Of(StateName, [], decision.Replies, decision.State, decision.State == Pop3State.Transaction ? decision.Data.User : null));
        var replies = new StringBuilder();
        var next = Carry(decision, replies);
        return Pump(next.State, next.Data, replies);
    }

    private State<Pop3State, Pop3Conversation> Pump(Pop3State state, Pop3Conversation data, StringBuilder replies)
    {
        // Input is taken only while the replies it makes have room; the rest waits for acknowledgements.
        while (!Input.IsEmpty && _stream is null && state is Pop3State.Authorization or Pop3State.Transaction && !OutputFull(replies.Length + _pending.Count))
        {
            var span = Input.Current;
            var before = span.Length;
            Pop3Decision? decision = null;
            switch (_framer.Next(ref span, out var line))
            {
                case LineStatus.Line:
                    _commands++;
                    var command = Pop3Parser.Parse(line);
                    decision = Pop3Decider.Decide(_policy, state, data, command);
                    Journal(CommandJournaled.Of(state, line, decision.Replies, decision.State, decision.State == Pop3State.Transaction ? decision.Data.User : null));
                    if (Log.IsDebugEnabled)
                    {
                        // The PASS argument is never logged: only the verb.
                        Log.Debug("{Command} in {State}: {Reply}", command.Name, state, decision.Replies.Count > 0 ? (decision.Replies[0].Ok ? "+OK" : "-ERR") : "wait");
                    }

                    break;
                case LineStatus.TooLong:
                    _commands++;
                    decision = Pop3Decider.LineTooLong(_policy, state, data);
                    break;
            }

            Input.Advance(before - span.Length);
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

        // Replies gathered after small retrieved messages leave with them, in one write.
        if (!_pending.IsEmpty && replies.Length > 0)
        {
            _pending = _pending.Concat(ByteString.FromString(replies.ToString(), Encoding.ASCII));
            replies.Clear();
        }

        WritePending();
        Write(replies);
        if (state == Pop3State.Closed)
        {
            Close();
        }
        else if (_stream is null && state is Pop3State.Authorization or Pop3State.Transaction)
        {
            ReadAgain();
        }

        return GoTo(state).Using(data);
    }

    private Pop3Decision Carry(Pop3Decision decision, StringBuilder replies)
    {
        switch (decision.Effect)
        {
            case Pop3Effect.CheckPassword check:
                _passwords.Tell(new AuthCommands.CheckPassword(check.User, check.Password, Start.Address, ++_correlation));
                break;
            case Pop3Effect.OpenMaildrop open:
                Log.Info("{User} signed in", open.User);
                _mailboxes.Tell(new OpenMaildrop(open.User, ++_correlation));
                break;
            case Pop3Effect.DelayAuthFailure:
                // The checker logs each failure it checked; what the throttle refused unchecked is
                // logged once per window there, so a guessing storm does not become a log storm.
                Log.Debug("Sign-in failed for {User} ({Failures} so far)", MailboxName.ForLog(decision.Data.User), decision.Data.AuthFailures);
                SetTimer(AuthTimer, AuthDelayOver.Instance, _options.Pop3.AuthFailureDelay, repeat: false);
                break;
            case Pop3Effect.CommitDeletions commit:
                _mailboxes.Tell(new CommitDeletions(decision.Data.User!, ++_correlation, commit.FileNames));
                break;
            case Pop3Effect.SendMessage send:
                var stream = MessageStream.Open(_maildir!.MessagePath(send.Message.FileName), send.BodyLines, _options.Pop3.RetrChunkSize);
                if (stream is null)
                {
                    Log.Error("Message {FileName} of {User} could not be opened", send.Message.FileName, decision.Data.User);
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
                EndReason = "too many errors";
                break;
            case Pop3Effect.Close when decision.Replies.Contains(Pop3Replies.TooManyAuthFailures):
                EndReason = "too many failed sign-ins";
                break;
            case Pop3Effect.Close when EndReason == "peer closed":
                EndReason = "quit";
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
            Write(chunk, ChunkWritten.Instance);
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
            Write(_pending);
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

    private void DropStream()
    {
        _stream?.Dispose();
        _stream = null;
    }

    private void Finish()
    {
        Journal(new SessionEnded(EndReason));
        DropStream();
        Log.Info("POP3 session ended ({EndReason}): {Commands} commands, {Retrieved} messages sent, {BytesIn} octets in, {DurationMs} ms",
            EndReason, _commands, _retrieved, Input.TotalReceived, Clock.ElapsedMilliseconds);
    }

    private sealed record CommandTimedOut
    {
        public static CommandTimedOut Instance { get; } = new();
    }

    private sealed record AuthDelayOver
    {
        public static AuthDelayOver Instance { get; } = new();
    }

    private sealed record ChunkWritten
    {
        public static ChunkWritten Instance { get; } = new();
    }
}
