using System.Buffers;
using System.Text;
using ActorMail.Auth;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Session;
using ActorMail.Protocol.Smtp;
using ActorMail.Protocol.Store;
using ActorMail.Store;
using ActorMail.Tls;
using Akka.Actor;
using Akka.Event;
using static ActorMail.Hosting.SessionMessages;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Smtp;

/// <summary>
/// One SMTP connection: <see cref="SmtpDecider"/> over the <see cref="SessionShell{TState, TData, TDecision, TDecider}"/>,
/// with the effects that need the outside world: the spool file a body streams into, the
/// mailboxes it is handed to, and the store timeout; AUTH's password check (the node's
/// <see cref="PasswordChecker"/>) and its failure delay. STARTTLS is the shell's.
/// </summary>
public sealed class SmtpSession : SessionShell<SmtpState, SmtpConversation, SmtpDecision, SmtpDecider>
{
    private const string StoreTimer = "store-timeout";
    private const string ResendTimer = "store-resend";
    private const string AuthTimer = "auth-delay";

    private readonly NodeOptions _node;
    private readonly SmtpOptions _options;
    private readonly SmtpPolicy _policy;
    private readonly IActorRef _mailboxes;
    private readonly IActorRef _passwords;
    private readonly DataDecoder _decoder;
    private readonly TransferLimit _dataLimit;
    private readonly NodeMetrics _metrics;
    private Spool? _spool;
    private long _correlation;
    private long _check;

    // The name every copy of the message being stored gets in its Maildir's new/.
    private string? _fileName;

    // Messages of this session answered 451: a copy that arrives for one later is taken back,
    // while a late second answer for a message answered 250 is a request asked again.
    private readonly HashSet<long> _failed = [];

    public SmtpSession(SessionStart start, NodeOptions options, SmtpPolicy policy, IActorRef mailboxes, IActorRef? passwords = null, SessionTls? tls = null)
        : base(start, options.Smtp, "SMTP", SmtpDecider.Connect(policy, start.Admission, start.SessionId, start.IsLoopback, start.ImplicitTls), tls)
    {
        _node = options;
        _options = options.Smtp;
        _policy = policy;
        _mailboxes = mailboxes;
        _passwords = passwords ?? ActorRefs.Nobody;
        _decoder = new DataDecoder(_options.MaxMessageSize, _options.MaxTextLine, _options.BareNewline, _options.NulInBody);
        _dataLimit = new TransferLimit(_options.DataTimeout);
        _metrics = NodeMetrics.Get(Context.System);
    }

    public static Props Props(SessionStart start, NodeOptions options, SmtpPolicy policy, IActorRef mailboxes, IActorRef? passwords = null, SessionTls? tls = null) =>
        Akka.Actor.Props.Create(() => new SmtpSession(start, options, policy, mailboxes, passwords, tls)).WithDispatcher("akka.actor.smtp-session-dispatcher");

    protected override SmtpState ClosedState => SmtpState.Closed;

    protected override int Messages => StateData.MessagesAccepted;

    protected override TransferLimit? Transfer(SmtpState state) => state == SmtpState.ReceivingData ? _dataLimit : base.Transfer(state);

    protected override SmtpDecision? Next(SmtpState state, SmtpConversation data, ref ReadOnlySpan<byte> input, out string heard)
    {
        if (state != SmtpState.ReceivingData)
        {
            return base.Next(state, data, ref input, out heard);
        }

        var ended = DecodeData(ref input, data);
        heard = ended is null ? "" : $"(message body, {_spool?.Length ?? 0} octets)";
        return ended;
    }

    protected override SmtpDecision Line(SmtpState state, SmtpConversation data, ReadOnlySpan<byte> line) =>
        state == SmtpState.AuthResponse
            ? SmtpDecider.SaslResponse(_policy, data, Encoding.Latin1.GetString(line))
            : SmtpDecider.Decide(_policy, state, data, SmtpParser.Parse(line));

    protected override SmtpDecision LineTooLong(SmtpState state, SmtpConversation data) => SmtpDecider.LineTooLong(_policy, state, data);

    protected override SmtpDecision? Answer(SmtpState state, SmtpConversation data, object message)
    {
        var current = state == SmtpState.Storing;
        switch (message)
        {
            case MessageDelivered d when current && d.CorrelationId == _correlation:
                return SmtpDecider.MailboxStored(data, new StoredCopy(d.Mailbox, d.FileName));
            case MessageDelivered late:
                return SmtpDecider.LateDelivery(state, data, new StoredCopy(late.Mailbox, late.FileName), messageStored: !_failed.Contains(late.CorrelationId));
            case DeliveryFailed f when current && f.CorrelationId == _correlation:
                return SmtpDecider.MailboxFailed(data, f.Mailbox, f.Failure);
            case StoreTimedOut when current:
                Log.Error("Mailboxes did not answer within {Timeout}", _options.StoreTimeout);
                return SmtpDecider.StoreTimedOut(data);
            case ResendDue:
                return SmtpDecider.ResendDue(state, data);
            case AuthCommands.PasswordChecked c when state == SmtpState.Verifying && c.CorrelationId == _check:
                return SmtpDecider.PasswordChecked(data, c.Outcome);
            case AuthDelayOver when state == SmtpState.AuthDelay:
                return SmtpDecider.AuthDelayOver(_policy, data);
            default:
                return null;
        }
    }

    protected override SmtpDecision Run(SmtpDecision decision, StringBuilder replies)
    {
        switch (decision.Effect)
        {
            case SmtpEffect.BeginData:
                BeginData(decision.Data);
                break;
            case SmtpEffect.Deliver deliver when !_spool!.Complete():
                Log.Error("Spool write failed: {Reason}", _spool.Failure!.Message);
                return Run(SmtpDecider.SpoolFailed(decision.Data, StoreErrors.Classify(_spool.Failure!)), replies);
            case SmtpEffect.Deliver deliver:
                _fileName = Maildir.NewName(_spool.Length);
                Deliver(deliver.Mailboxes);
                SetTimer(StoreTimer, StoreTimedOut.Instance, _options.StoreTimeout, repeat: false);

                // Only between nodes can a request be lost; a local mailbox answers every one.
                if (_node.Cluster.Enabled)
                {
                    SetTimer(ResendTimer, ResendDue.Instance, _node.Cluster.StoreResendInterval, repeat: true);
                }

                break;
            case SmtpEffect.Resend resend:
                Deliver(resend.Mailboxes);
                break;
            case SmtpEffect.Settle settle:
                CancelTimer(StoreTimer);
                CancelTimer(ResendTimer);
                _metrics.MessageAnswered(settle.Stored, decision.Replies[0].Code, _spool?.Length ?? 0);
                DropSpool();
                if (!settle.Stored)
                {
                    _failed.Add(_correlation);
                }

                Retract(settle.TakeBack);
                Retract(settle.Unanswered.Select(mailbox => new StoredCopy(mailbox, _fileName!)));
                break;
            case SmtpEffect.Retract late:
                Retract([late.Copy]);
                break;
            case SmtpEffect.StartTls:
                StartTls();
                break;
            case SmtpEffect.CheckPassword check:
                _passwords.Tell(new AuthCommands.CheckPassword(check.User, check.Password, Start.Address, ++_check));
                break;
            case SmtpEffect.DelayAuthFailure:
                SetTimer(AuthTimer, AuthDelayOver.Instance, _options.AuthFailureDelay, repeat: false);
                break;
        }

        if (decision.State == SmtpState.Closed)
        {
            DropSpool();
        }

        decision.Replies.AppendTo(replies);
        return decision;
    }

    protected override void Release() => DropSpool();

    protected override string? SignedIn(SmtpDecision decision) => decision.Replies is [{ Code: 235 }] ? decision.Data.User : null;

    private SmtpDecision? DecodeData(ref ReadOnlySpan<byte> span, SmtpConversation data)
    {
        var output = ArrayPool<byte>.Shared.Rent(DataDecoder.OutputSizeFor(span.Length));
        try
        {
            var ended = _decoder.Decode(span, output, out var consumed, out var written);
            _spool?.Write(output.AsSpan(0, written));
            span = span[consumed..];
            return ended ? SmtpDecider.DataEnded(_policy, data, DataOutcome.Of(_decoder)) : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    private void BeginData(SmtpConversation data)
    {
        _decoder.Reset();
        _correlation++;
        _spool = Spool.Create(_node.DataRoot, $"{Start.SessionId}.{_correlation}", _node.NodeId);
        _spool.Write(TraceHeaders.Build(
            data.Mail!.From, data.ClientName!, Start.Address, _node.Hostname, data.Extended, Start.SessionId, DateTimeOffset.Now));
    }

    private void Deliver(IEnumerable<string> mailboxes)
    {
        foreach (var mailbox in mailboxes)
        {
            _mailboxes.Tell(new DeliverMessage(mailbox, _correlation, _spool!.Path, _spool.Length, _fileName!));
        }
    }

    private void Retract(IEnumerable<StoredCopy> copies)
    {
        foreach (var copy in copies)
        {
            _mailboxes.Tell(new RetractMessage(copy.Mailbox, copy.FileName));
        }
    }

    private void DropSpool()
    {
        _spool?.Dispose();
        _spool = null;
    }

    private sealed record StoreTimedOut
    {
        public static StoreTimedOut Instance { get; } = new();
    }

    private sealed record ResendDue
    {
        public static ResendDue Instance { get; } = new();
    }

    private sealed record AuthDelayOver
    {
        public static AuthDelayOver Instance { get; } = new();
    }
}
