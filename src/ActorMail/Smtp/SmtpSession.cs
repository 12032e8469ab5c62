using System.Buffers;
using System.Text;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Http;
using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Session;
using ActorMail.Protocol.Smtp;
using ActorMail.Store;
using Akka.Actor;
using Akka.Event;
using Akka.IO;
using static ActorMail.Hosting.SessionMessages;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Smtp;

/// <summary>
/// One SMTP connection as an Akka FSM over the <see cref="SessionShell{TState, TData}"/>: it
/// frames bytes, asks <see cref="SmtpDecider"/> what to do, writes the replies and carries out
/// the one effect. Input that arrives while a message is being stored waits in order, with
/// reading suspended.
/// </summary>
public sealed class SmtpSession : SessionShell<SmtpState, SmtpConversation>
{
    private const string StoreTimer = "store-timeout";
    private const string TransferTimer = "transfer-timeout";

    private readonly NodeOptions _options;
    private readonly SmtpPolicy _policy;
    private readonly IActorRef _mailboxes;
    private readonly LineFramer _framer;
    private readonly DataDecoder _decoder;
    private readonly List<MessageDelivered> _delivered = [];
    private readonly Metric _accepted;
    private Spool? _spool;
    private long _correlation;
    private int _pendingStores;
    private StoreFailure? _storeFailure;
    private int _commands;
    private Func<SmtpConversation, SmtpDecision>? _endPending;
    private bool _peerClosed;
    private string? _transferKind;

    public SmtpSession(SessionStart start, NodeOptions options, SmtpPolicy policy, IActorRef mailboxes)
        : base(start, options.Smtp.Limits, "SMTP")
    {
        _options = options;
        _policy = policy;
        _mailboxes = mailboxes;
        _framer = new LineFramer(options.Smtp.MaxCommandLine);
        _decoder = new DataDecoder(options.Smtp.MaxMessageSize, options.Smtp.MaxTextLine, options.Smtp.BareNewline, options.Smtp.NulInBody);
        _accepted = NodeMetrics.Get(Context.System).MessagesAccepted;

        StartWith(start.Admission == Admission.Accepted ? SmtpState.Greeted : SmtpState.Closed, SmtpConversation.Start);
        foreach (var state in new[] { SmtpState.Greeted, SmtpState.Ready, SmtpState.MailGiven, SmtpState.RcptGiven, SmtpState.ReceivingData })
        {
            When(state, Active, options.Smtp.IdleTimeout);
        }

        When(SmtpState.Storing, Storing);
        When(SmtpState.Closed, e => e.FsmEvent is Tcp.Received ? Stay() : null!);
        WhenUnhandled(e =>
        {
            switch (e.FsmEvent)
            {
                case Tcp.PeerClosed when StateName != SmtpState.Closed:
                    // The client has sent all it will: answer what it sent, then close.
                    _peerClosed = true;
                    return StateName == SmtpState.Storing ? Stay() : Pump(StateName, e.StateData, new StringBuilder());
                case ShutdownSession when StateName == SmtpState.Storing:
                    // The message being stored is answered first, so a client never retries one that was kept.
                    EndReason = "shutdown";
                    _endPending = SmtpDecider.Shutdown;
                    return Stay();
                case ShutdownSession when StateName != SmtpState.Closed:
                    EndReason = "shutdown";
                    return Apply(SmtpDecider.Shutdown(e.StateData), new StringBuilder());
                case MessageDelivered late:
                    // A mailbox that answers after the store timeout: the client was told 451 and
                    // will retry, so this copy is taken back.
                    Log.Warning("Late delivery to {Mailbox} taken back", late.Mailbox);
                    _mailboxes.Tell(new RetractMessage(late.Mailbox, late.FileName));
                    return Stay();
                default:
                    return OnConnectionEvent(e) ?? Stay();
            }
        });
        OnTermination(_ => Finish());
        Initialize();
    }

    public static Props Props(SessionStart start, NodeOptions options, SmtpPolicy policy, IActorRef mailboxes) =>
        Akka.Actor.Props.Create(() => new SmtpSession(start, options, policy, mailboxes)).WithDispatcher("akka.actor.smtp-session-dispatcher");

    protected override SmtpState ClosedState => SmtpState.Closed;

    protected override void PreStart()
    {
        base.PreStart();
        Journal(new SessionOpened("SMTP", Start.Remote, Enum.GetNames<SmtpState>()));
        if (Start.Admission == Admission.Accepted)
        {
            Log.Debug("SMTP session opened");
        }
        else
        {
            EndReason = $"refused: {Start.Admission}";
        }

        Apply(SmtpDecider.Connect(_policy, Start.Admission), new StringBuilder());
    }

    protected override State<SmtpState, SmtpConversation> OnWritten(object? then, bool drained) =>
        drained && StateName is not (SmtpState.Storing or SmtpState.Closed) ? Pump(StateName, StateData, new StringBuilder()) : Stay();

    protected override State<SmtpState, SmtpConversation> OnLifetimeOver(SmtpConversation data)
    {
        if (StateName == SmtpState.Storing)
        {
            _endPending = SmtpDecider.LifetimeOver;
            return Stay();
        }

        return Apply(SmtpDecider.LifetimeOver(data), new StringBuilder());
    }

    private State<SmtpState, SmtpConversation> Active(Event<SmtpConversation> e)
    {
        switch (e.FsmEvent)
        {
            case Tcp.Received received when OutputFull():
                return Hold(received);
            case Tcp.Received received:
                Input.Enqueue(received.Data);
                return Pump(StateName, e.StateData, new StringBuilder());
            case StateTimeout:
                EndReason = "idle timeout";
                return Apply(SmtpDecider.Idle(e.StateData), new StringBuilder());
            case TransferTimedOut:
                EndReason = "command or body too slow";
                return Apply(SmtpDecider.TransferTimedOut(e.StateData), new StringBuilder());
            default:
                return null!;
        }
    }

    private State<SmtpState, SmtpConversation> Storing(Event<SmtpConversation> e)
    {
        switch (e.FsmEvent)
        {
            case Tcp.Received received:
                return Hold(received);
            case MessageDelivered d when d.CorrelationId == _correlation:
                _delivered.Add(d);
                return StoreAnswered(e.StateData);
            case DeliveryFailed f when f.CorrelationId == _correlation:
                _storeFailure = _storeFailure == StoreFailure.Full ? StoreFailure.Full : f.Failure;
                return StoreAnswered(e.StateData);
            case StoreTimedOut:
                Log.Error("Mailboxes did not answer within {Timeout}", _options.Smtp.StoreTimeout);
                _storeFailure ??= StoreFailure.Error;
                _pendingStores = 1;
                return StoreAnswered(e.StateData);
            default:
                return null!;
        }
    }

    private State<SmtpState, SmtpConversation> StoreAnswered(SmtpConversation data)
    {
        if (--_pendingStores > 0)
        {
            return Stay();
        }

        CancelTimer(StoreTimer);
        SmtpDecision decision;
        if (_storeFailure is { } failure)
        {
            foreach (var d in _delivered)
            {
                _mailboxes.Tell(new RetractMessage(d.Mailbox, d.FileName));
            }

            decision = SmtpDecider.StoreFailed(data, failure);
        }
        else
        {
            var queueId = $"{Start.SessionId}.{data.MessagesAccepted + 1}";
            Log.Info("Message {QueueId} stored for {Recipients} ({Size} octets)",
                queueId, string.Join(",", data.Recipients.Select(r => r.Mailbox)), _spool?.Length ?? 0);
            decision = SmtpDecider.Stored(data, queueId);
            _accepted.Increment();
        }

        Journal(CommandJournaled.Body(StateName, _spool?.Length ?? 0, decision.Replies, decision.State));
        DropSpool();
        var replies = new StringBuilder();
        foreach (var reply in decision.Replies)
        {
            replies.Append(reply.Render());
        }

        if (_endPending is { } end)
        {
            return Apply(end(decision.Data), replies);
        }

        return Pump(decision.State, decision.Data, replies);
    }

    // Runs buffered input through the framer and decider until it is used up or the session must wait.
    private State<SmtpState, SmtpConversation> Pump(SmtpState state, SmtpConversation data, StringBuilder replies)
    {
        // Input is taken only while the replies it makes have room; the rest waits for acknowledgements.
        while (!Input.IsEmpty && state is not (SmtpState.Storing or SmtpState.Closed) && !OutputFull(replies.Length))
        {
            var span = Input.Current;
            var before = span.Length;
            SmtpDecision? decision = null;
            if (state == SmtpState.ReceivingData)
            {
                decision = DecodeData(ref span, data);
            }
            else
            {
                switch (_framer.Next(ref span, out var line))
                {
                    case LineStatus.Line:
                        _commands++;
                        var command = SmtpParser.Parse(line);
                        decision = SmtpDecider.Decide(_policy, state, data, command);
                        Journal(CommandJournaled.Of(state, line, decision.Replies, decision.State));
                        if (Log.IsDebugEnabled)
                        {
                            Log.Debug("{Command} in {State}: {Reply}", command.Name, state, decision.Replies.Count > 0 ? decision.Replies[^1].Code : 0);
                        }

                        break;
                    case LineStatus.TooLong:
                        _commands++;
                        decision = SmtpDecider.LineTooLong(_policy, state, data);
                        break;
                }
            }

            Input.Advance(before - span.Length);

            if (decision is not null)
            {
                var next = Carry(decision, replies);
                state = next.State;
                data = next.Data;
            }
        }

        if (_peerClosed && state is not (SmtpState.Storing or SmtpState.Closed))
        {
            // Everything the client sent before its FIN is answered; a body it did not finish is dropped.
            state = SmtpState.Closed;
        }

        if (state is not (SmtpState.Storing or SmtpState.Closed))
        {
            ReadAgain(replies.Length);
        }

        Write(replies);
        if (state == SmtpState.Closed)
        {
            Close();
        }

        ArmTransferTimer(state);
        return GoTo(state).Using(data);
    }

    // The idle timer restarts on every read, so a client sending one octet at a time would never
    // meet it: a command line, or a whole body, must also finish within its own limit.
    private void ArmTransferTimer(SmtpState state)
    {
        var kind = state == SmtpState.ReceivingData ? "data"
            : state is not (SmtpState.Closed or SmtpState.Storing) && _framer.HasPartialLine ? "command"
            : null;
        if (kind is null)
        {
            _transferKind = null;
            CancelTimer(TransferTimer);
        }
        else if (_transferKind != kind)
        {
            _transferKind = kind;
            var limit = kind == "data" ? _options.Smtp.DataTimeout : _options.Smtp.CommandTimeout;
            SetTimer(TransferTimer, TransferTimedOut.Instance, limit, repeat: false);
        }
    }

    private SmtpDecision? DecodeData(ref ReadOnlySpan<byte> span, SmtpConversation data)
    {
        var output = ArrayPool<byte>.Shared.Rent(DataDecoder.OutputSizeFor(span.Length));
        try
        {
            var ended = _decoder.Decode(span, output, out var consumed, out var written);
            _spool?.Write(output.AsSpan(0, written));
            span = span[consumed..];
            if (!ended)
            {
                return null;
            }

            return SmtpDecider.DataEnded(_policy, data, DataOutcome.Of(_decoder));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    // Writes a decision's replies to the buffer and carries out its effect, which may change the decision.
    private SmtpDecision Carry(SmtpDecision decision, StringBuilder replies)
    {
        foreach (var note in decision.Notes)
        {
            Log.Info(note.Template, [.. note.Values]);
        }

        switch (decision.Effect)
        {
            case SmtpEffect.BeginData:
                BeginData(decision.Data);
                break;
            case SmtpEffect.DiscardData:
                DropSpool();
                break;
            case SmtpEffect.Deliver:
                decision = Deliver(decision);
                break;
            case SmtpEffect.Close when decision.Replies.Contains(SmtpReplies.TooManyErrors):
                EndReason = "too many errors";
                break;
            case SmtpEffect.Close when EndReason == "peer closed":
                EndReason = "quit";
                break;
        }

        foreach (var reply in decision.Replies)
        {
            replies.Append(reply.Render());
        }

        return decision;
    }

    private void BeginData(SmtpConversation data)
    {
        _decoder.Reset();
        _correlation++;
        _spool = Spool.Create(_options.DataRoot, $"{Start.SessionId}.{_correlation}");
        _spool.Write(TraceHeaders.Build(
            data.Mail!.From, data.ClientName!, Start.Address, _options.Hostname, data.Extended, Start.SessionId, DateTimeOffset.Now));
    }

    private SmtpDecision Deliver(SmtpDecision decision)
    {
        var spool = _spool!;
        if (!spool.Complete())
        {
            Log.Error("Spool write failed: {Reason}", spool.Failure!.Message);
            DropSpool();
            return SmtpDecider.StoreFailed(decision.Data, StoreErrors.Classify(spool.Failure!));
        }

        _delivered.Clear();
        _storeFailure = null;
        _pendingStores = decision.Data.Recipients.Count;
        foreach (var recipient in decision.Data.Recipients)
        {
            _mailboxes.Tell(new DeliverMessage(recipient.Mailbox, _correlation, spool.Path, spool.Length));
        }

        SetTimer(StoreTimer, StoreTimedOut.Instance, _options.Smtp.StoreTimeout, repeat: false);
        return decision;
    }

    private State<SmtpState, SmtpConversation> Apply(SmtpDecision decision, StringBuilder replies)
    {
        Carry(decision, replies);
        Write(replies);
        if (decision.State == SmtpState.Closed)
        {
            Close();
        }

        return GoTo(decision.State).Using(decision.Data);
    }

    private void DropSpool()
    {
        _spool?.Dispose();
        _spool = null;
    }

    private void Finish()
    {
        Journal(new SessionEnded(EndReason));
        DropSpool();
        Log.Info("SMTP session ended ({EndReason}): {Commands} commands, {Messages} messages, {BytesIn} octets in, {DurationMs} ms",
            EndReason, _commands, StateData.MessagesAccepted, Input.TotalReceived, Clock.ElapsedMilliseconds);
    }

    private sealed record StoreTimedOut
    {
        public static StoreTimedOut Instance { get; } = new();
    }

    private sealed record TransferTimedOut
    {
        public static TransferTimedOut Instance { get; } = new();
    }
}
