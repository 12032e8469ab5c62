using System.Collections.Immutable;
using ActorMail.Protocol.Auth;
using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Pop3;
using ActorMail.Protocol.Session;
using ActorMail.Protocol.Store;

namespace ActorMail.Protocol.Smtp;

/// <summary>The states of one SMTP session.</summary>
public enum SmtpState
{
    /// <summary>Greeting sent; HELO or EHLO expected.</summary>
    Greeted,

    /// <summary>Client identified; no transaction open.</summary>
    Ready,

    /// <summary>MAIL accepted; RCPT expected.</summary>
    MailGiven,

    /// <summary>At least one recipient accepted; more RCPT or DATA.</summary>
    RcptGiven,

    /// <summary>354 sent; the body streams in until CRLF.CRLF.</summary>
    ReceivingData,

    /// <summary>Body complete; waiting for every mailbox to store it. Input waits, in order.</summary>
    Storing,

    /// <summary>AUTH answered 334: the next line is the client's SASL response, not a command.</summary>
    AuthResponse,

    /// <summary>AUTH credentials are being checked off the session. Input waits.</summary>
    Verifying,

    /// <summary>An AUTH failed; the 535 waits out the failure delay. Input waits.</summary>
    AuthDelay,

    /// <summary>STARTTLS answered 220: the TLS handshake runs. Nothing is read as a command, and what arrived before the handshake is discarded.</summary>
    StartingTls,

    /// <summary>The last reply was sent; the connection closes.</summary>
    Closed,
}

/// <summary>What the session's effect runner must do besides writing the replies.</summary>
public abstract record SmtpEffect
{
    /// <summary>Switch the input to DATA mode and open a spool file with the trace headers.</summary>
    public sealed record BeginData : SmtpEffect;

    /// <summary>Hand the finished spool to each of <paramref name="Mailboxes"/>, then call <see cref="SmtpDecider.MailboxStored"/> or <see cref="SmtpDecider.MailboxFailed"/> per answer (<see cref="SmtpDecider.SpoolFailed"/> if the spool cannot be finished).</summary>
    public sealed record Deliver(ImmutableArray<string> Mailboxes) : SmtpEffect;

    /// <summary>The message is answered (stored, refused at its end, or failed in a mailbox): drop the spool, and take back <paramref name="TakeBack"/> (copies of a message that got no 250). A session that closes drops its spool with it.</summary>
    public sealed record Settle(bool Stored, ImmutableArray<StoredCopy> TakeBack) : SmtpEffect
    {
        /// <summary>Mailboxes that never answered a message answered 451: take back the copy each may hold under the name the delivery gave it.</summary>
        public ImmutableArray<string> Unanswered { get; init; } = [];
    }

    /// <summary>Ask <paramref name="Mailboxes"/> again for the copy they have not answered: a request to a mailbox on another node can be lost (a shard handed off, a node not yet downed). A mailbox that already holds the copy answers as stored.</summary>
    public sealed record Resend(ImmutableArray<string> Mailboxes) : SmtpEffect;

    /// <summary>Take back one copy that a mailbox stored after its message was answered 451.</summary>
    public sealed record Retract(StoredCopy Copy) : SmtpEffect;

    /// <summary>After the 220: discard every octet received so far, run the TLS handshake, then call <see cref="SmtpDecider.TlsEstablished"/> or <see cref="SmtpDecider.TlsFailed"/>.</summary>
    public sealed record StartTls : SmtpEffect;

    /// <summary>Check <paramref name="Password"/> for <paramref name="User"/>, then call <see cref="SmtpDecider.PasswordChecked"/>.</summary>
    public sealed record CheckPassword(string User, string Password) : SmtpEffect
    {
        /// <summary>Never shows the password, wherever the record is printed.</summary>
        public override string ToString() => $"CheckPassword {{ User = {User}, Password = **** }}";
    }

    /// <summary>Wait the failure delay, then call <see cref="SmtpDecider.AuthDelayOver"/>.</summary>
    public sealed record DelayAuthFailure : SmtpEffect;

}

/// <summary>A message handed to its recipients' mailboxes, while their answers come in.</summary>
/// <param name="Awaiting">Mailboxes that have not answered.</param>
/// <param name="Kept">Copies stored so far.</param>
/// <param name="Failure">The worst failure so far (a full disk wins over an error), or null.</param>
/// <param name="Size">Octets of the body, for the log.</param>
public sealed record PendingDelivery(ImmutableHashSet<string> Awaiting, ImmutableList<StoredCopy> Kept, StoreFailure? Failure, long Size);

/// <summary>A reason to close that came while a message was being stored: said after the message's own reply.</summary>
/// <param name="Reply">The closing reply.</param>
/// <param name="Reason">Why the session ends.</param>
public sealed record PendingEnd(SmtpReply Reply, string Reason);

/// <summary>An AUTH exchange under way.</summary>
/// <param name="Mechanism">The mechanism the client chose.</param>
/// <param name="User">The user name given so far (LOGIN's first response, or the one being checked), or null.</param>
public sealed record SaslExchange(SaslMechanism Mechanism, string? User);

/// <summary>An accepted recipient and the mailbox it delivers to.</summary>
public sealed record Recipient(MailPath Address, string Mailbox);

/// <summary>How a DATA body ended, as the decoder saw it under its policies.</summary>
/// <param name="Size">Octets of body as stored.</param>
/// <param name="TooBig">Over the size limit.</param>
/// <param name="LineTooLong">A line over the line limit.</param>
/// <param name="BareNewline">A bare CR or LF, refused by policy.</param>
/// <param name="Nul">A NUL octet, refused by policy.</param>
/// <param name="Normalized">A bare CR or LF, stored as CRLF by policy.</param>
public sealed record DataOutcome(long Size, bool TooBig, bool LineTooLong, bool BareNewline, bool Nul = false, bool Normalized = false)
{
    /// <summary>What <paramref name="decoder"/> saw of the body it just ended.</summary>
    public static DataOutcome Of(DataDecoder decoder) =>
        new(decoder.Size, decoder.TooBig, decoder.LineTooLong, decoder.BareNewlineRefused, decoder.NulRefused,
            Normalized: !decoder.BareNewlineRefused && (decoder.BareCr || decoder.BareLf));
}

/// <summary>The immutable data of one SMTP session.</summary>
/// <param name="ClientName">The HELO/EHLO argument.</param>
/// <param name="Extended">EHLO (not HELO) was used.</param>
/// <param name="Mail">The open transaction's MAIL FROM, or null.</param>
/// <param name="Recipients">The open transaction's accepted recipients.</param>
/// <param name="BadCommands">The client's mistakes (syntax, sequence, unknown commands) since the last delivered message.</param>
/// <param name="MessagesAccepted">Messages stored in this session.</param>
/// <param name="RefusedRecipients">Recipients refused by policy (unknown user, relaying, non-ASCII) in this session.</param>
/// <param name="JunkCommands">Commands that did no work (NOOP, RSET, HELP, VRFY, a non-ASCII sender) since the last delivered message.</param>
public sealed record SmtpConversation(
    string? ClientName,
    bool Extended,
    MailFromArgs? Mail,
    ImmutableList<Recipient> Recipients,
    int BadCommands,
    int MessagesAccepted,
    int RefusedRecipients,
    int JunkCommands)
{
    /// <summary>A new session, before HELO.</summary>
    public static SmtpConversation Start { get; } = new(null, false, null, [], 0, 0, 0, 0);

    /// <summary>The session's id, the first part of every queue id it gives.</summary>
    public string SessionId { get; init; } = "";

    /// <summary>The message being stored, while in <see cref="SmtpState.Storing"/>.</summary>
    public PendingDelivery? Delivery { get; init; }

    /// <summary>A close asked for while storing (shutdown, the session lifetime): done once the message is answered.</summary>
    public PendingEnd? AfterStore { get; init; }

    /// <summary>The session runs over TLS (after STARTTLS).</summary>
    public bool Secure { get; init; }

    /// <summary>The client connected from a loopback address.</summary>
    public bool Loopback { get; init; }

    /// <summary>The user the client signed in as with AUTH, or null.</summary>
    public string? User { get; init; }

    /// <summary>Failed AUTH attempts in this session.</summary>
    public int AuthFailures { get; init; }

    /// <summary>The AUTH exchange under way, or null.</summary>
    public SaslExchange? Sasl { get; init; }

    /// <summary>The same session with the mail transaction cleared (RSET, HELO, after a message).</summary>
    public SmtpConversation ClearTransaction() => this with { Mail = null, Recipients = [] };
}

/// <summary>The outcome of one step: next state, new data, replies in order, at most one effect, and why the session ends if it does.</summary>
public sealed record SmtpDecision(SmtpState State, SmtpConversation Data, IReadOnlyList<SmtpReply> Replies, SmtpEffect? Effect = null)
    : ISessionDecision<SmtpState, SmtpConversation>
{
    /// <inheritdoc/>
    public string? Ends { get; init; }

    /// <inheritdoc/>
    public IReadOnlyList<SessionNote> Notes { get; init; } = [];

    /// <inheritdoc/>
    public IReadOnlyList<ISessionReply> Said => Replies;
}

/// <summary>
/// The SMTP state machine as pure functions: (state, data, input) → decision. The session actor
/// frames bytes, calls these and carries out the effect; every rule of RFC 5321 the server
/// follows is here, testable without sockets or actors.
/// </summary>
public sealed class SmtpDecider : ISessionDecider<SmtpState, SmtpConversation, SmtpDecision>
{
    private SmtpDecider()
    {
    }

    /// <summary>Lines are read in every state but while storing, checking credentials, waiting out an AUTH failure, during the TLS handshake and once closed.</summary>
    public static bool ReadsSecret(SmtpState state) => state == SmtpState.AuthResponse;

    /// <inheritdoc/>
    public static bool ReadsCommands(SmtpState state) =>
        state is not (SmtpState.Storing or SmtpState.Closed or SmtpState.Verifying or SmtpState.AuthDelay or SmtpState.StartingTls);

    /// <summary>The first step: the greeting, or the refusal of a connection the listener did not admit.</summary>
    /// <param name="policy">The server's rules.</param>
    /// <param name="admission">What the listener decided.</param>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="loopback">The client connected from a loopback address (the clear-text rule of AUTH).</param>
    /// <param name="secure">The connection is over TLS from the start (an implicit-TLS port, RFC 8314).</param>
    public static SmtpDecision Connect(SmtpPolicy policy, Admission admission = Admission.Accepted, string sessionId = "", bool loopback = false, bool secure = false) => admission switch
    {
        Admission.Accepted => new(SmtpState.Greeted, SmtpConversation.Start with { SessionId = sessionId, Loopback = loopback, Secure = secure }, [SmtpReplies.Greeting(policy.Hostname)]),
        Admission.AddressFull => Refuse(SmtpReplies.AddressFull, admission),
        Admission.AddressTooFast => Refuse(SmtpReplies.AddressTooFast, admission),
        Admission.ShuttingDown => Refuse(SmtpReplies.ShuttingDown, admission),
        _ => Refuse(SmtpReplies.TooManyConnections, admission),
    };

    /// <summary>One command line.</summary>
    public static SmtpDecision Decide(SmtpPolicy policy, SmtpState state, SmtpConversation data, SmtpCommand command)
    {
        if (command.Malformed is not null)
        {
            return Error(policy, state, data, SmtpReplies.BadCharacters(command.Malformed));
        }

        if ((command.Verb == SmtpVerb.Starttls && !policy.TlsOffered) || (command.Verb == SmtpVerb.Auth && !policy.AuthOffered))
        {
            return Error(policy, state, data, SmtpReplies.NotImplemented(command.Name));
        }

        var step = SmtpStateTable.Step(state, command.Verb);
        if (step.Refusal is { } why)
        {
            return Error(policy, state, data, SmtpReplies.BadSequence(why));
        }

        return command.Verb switch
        {
            SmtpVerb.Helo or SmtpVerb.Ehlo => Hello(policy, state, step.Next!.Value, data, command),
            SmtpVerb.Mail => Mail(policy, state, step.Next!.Value, data, command.Argument),
            SmtpVerb.Rcpt => Rcpt(policy, state, step.Next!.Value, data, command.Argument),
            SmtpVerb.Data => Data(policy, state, step.Next!.Value, data, command.Argument),
            SmtpVerb.Rset => NoArgument(policy, state, data, command,
                () => Junk(policy, step.Next!.Value, data.ClearTransaction(), SmtpReplies.Ok)),
            SmtpVerb.Noop => Junk(policy, state, data, SmtpReplies.Ok),
            SmtpVerb.Vrfy => command.Argument.Length == 0
                ? Error(policy, state, data, SmtpReplies.SyntaxInParameters("VRFY needs an argument"))
                : Junk(policy, state, data, SmtpReplies.CannotVerify),
            SmtpVerb.Help => Junk(policy, state, data, SmtpReplies.Help),
            SmtpVerb.Quit => NoArgument(policy, state, data, command,
                () => End(data, SmtpReplies.Bye, "quit")),
            SmtpVerb.Starttls => StartTls(policy, state, data, command),
            SmtpVerb.Auth => Auth(policy, state, data, command.Argument),
            SmtpVerb.Expn or SmtpVerb.Bdat or SmtpVerb.Turn or SmtpVerb.Etrn =>
                Error(policy, state, data, SmtpReplies.NotImplemented(command.Name)),
            _ => Error(policy, state, data, SmtpReplies.UnknownCommand),
        };
    }

    /// <summary>A line over the limit was read and discarded; in the middle of AUTH it ends the exchange.</summary>
    public static SmtpDecision LineTooLong(SmtpPolicy policy, SmtpState state, SmtpConversation data) =>
        state == SmtpState.AuthResponse
            ? Error(policy, SmtpState.Ready, data with { Sasl = null }, SmtpReplies.LineTooLong)
            : Error(policy, state, data, SmtpReplies.LineTooLong);

    /// <summary>
    /// The TLS handshake after STARTTLS succeeded: the session starts again from the greeted state
    /// and forgets what it was told before (RFC 3207 §4.2); only the budgets carry over, so that
    /// STARTTLS cannot reset them. <paramref name="description"/> (version and cipher) is logged.
    /// </summary>
    public static SmtpDecision TlsEstablished(SmtpConversation data, string description) =>
        new(SmtpState.Greeted, SmtpConversation.Start with
        {
            SessionId = data.SessionId,
            Loopback = data.Loopback,
            Secure = true,
            BadCommands = data.BadCommands,
            JunkCommands = data.JunkCommands,
            RefusedRecipients = data.RefusedRecipients,
            MessagesAccepted = data.MessagesAccepted,
            AuthFailures = data.AuthFailures,
        }, [])
        { Notes = [TlsNote.Established(description)] };

    /// <summary>The TLS handshake failed or did not finish in time: close without a word, since no reply could be read.</summary>
    public static SmtpDecision TlsFailed(SmtpConversation data, string reason) =>
        new(SmtpState.Closed, data, []) { Ends = "TLS handshake failed", Notes = [TlsNote.Failed(reason)] };

    /// <summary>One line in answer to a 334 challenge of AUTH: a base64 SASL response, or <c>*</c> to cancel.</summary>
    public static SmtpDecision SaslResponse(SmtpPolicy policy, SmtpConversation data, string line)
    {
        var exchange = data.Sasl!;
        if (line == Sasl.Cancel)
        {
            return Error(policy, SmtpState.Ready, data with { Sasl = null }, SmtpReplies.AuthCancelled);
        }

        if (exchange.Mechanism == SaslMechanism.Plain)
        {
            return PlainResponse(policy, data, line);
        }

        var field = Sasl.DecodeLoginField(line);
        if (field is null)
        {
            return Error(policy, SmtpState.Ready, data with { Sasl = null }, SmtpReplies.CannotDecode);
        }

        return exchange.User is null
            ? Step(SmtpState.AuthResponse, data with { Sasl = exchange with { User = field } }, SmtpReplies.PasswordChallenge)
            : Credentials(policy, data, new SaslCredentials(exchange.User, field));
    }

    /// <summary>The password check of AUTH is done: signed in, the failure delay, or come back later.</summary>
    public static SmtpDecision PasswordChecked(SmtpConversation data, PasswordOutcome outcome)
    {
        var user = data.Sasl!.User!;
        return outcome switch
        {
            PasswordOutcome.Accepted => SignedIn(data, user),
            PasswordOutcome.Rejected => new(SmtpState.AuthDelay, data with { AuthFailures = data.AuthFailures + 1 }, [], new SmtpEffect.DelayAuthFailure())
            {
                Notes = [SmtpNote.AuthFailed(user, data.AuthFailures + 1)],
            },
            _ => Step(SmtpState.Ready, data with { Sasl = null }, SmtpReplies.AuthTemporaryFailure) with { Notes = [SmtpNote.CheckerBusy(user)] },
        };
    }

    /// <summary>The failure delay after a failed AUTH is over: 535, and close after the last allowed failure.</summary>
    public static SmtpDecision AuthDelayOver(SmtpPolicy policy, SmtpConversation data)
    {
        var cleared = data with { Sasl = null };
        return data.AuthFailures >= policy.MaxAuthFailures
            ? new(SmtpState.Closed, cleared, [SmtpReplies.AuthFailed, SmtpReplies.TooManyAuthFailures]) { Ends = "too many failed sign-ins" }
            : Step(SmtpState.Ready, cleared, SmtpReplies.AuthFailed);
    }

    /// <summary>The body ended with CRLF.CRLF: refuse it, or hand it to every recipient's mailbox and wait for their answers.</summary>
    public static SmtpDecision DataEnded(SmtpPolicy policy, SmtpConversation data, DataOutcome outcome)
    {
        SmtpReply? refusal = outcome.TooBig ? SmtpReplies.MessageTooBig(policy.MaxMessageSize)
            : outcome.LineTooLong ? SmtpReplies.TextLineTooLong
            : outcome.Nul ? SmtpReplies.NulInBody
            : outcome.BareNewline ? SmtpReplies.BareNewline
            : null;
        if (refusal is not null)
        {
            return new SmtpDecision(SmtpState.Ready, data.ClearTransaction(), [refusal], new SmtpEffect.Settle(false, [])) { Notes = [SmtpNote.MessageRefused(refusal)] };
        }

        var mailboxes = data.Recipients.Select(r => r.Mailbox).ToImmutableArray();
        var delivery = new PendingDelivery([.. mailboxes], [], null, outcome.Size);
        return new SmtpDecision(SmtpState.Storing, data with { Delivery = delivery }, [], new SmtpEffect.Deliver(mailboxes))
        {
            Notes = outcome.Normalized ? [SmtpNote.BareNewlineNormalized] : [],
        };
    }

    /// <summary>
    /// A recipient's mailbox stored its copy; the message is answered once every mailbox has. A
    /// request asked again can be answered twice: the second answer counts for nothing.
    /// </summary>
    public static SmtpDecision MailboxStored(SmtpConversation data, StoredCopy copy)
    {
        var delivery = data.Delivery!;
        return delivery.Kept.Contains(copy)
            ? new SmtpDecision(SmtpState.Storing, data, [])
            : Answered(data, delivery with { Awaiting = delivery.Awaiting.Remove(copy.Mailbox), Kept = delivery.Kept.Add(copy) });
    }

    /// <summary>A recipient's mailbox could not store its copy: the message will be answered as failed, and the copies kept so far taken back. Only a mailbox's first answer counts.</summary>
    public static SmtpDecision MailboxFailed(SmtpConversation data, string mailbox, StoreFailure failure)
    {
        var delivery = data.Delivery!;
        if (!delivery.Awaiting.Contains(mailbox))
        {
            return new SmtpDecision(SmtpState.Storing, data, []);
        }

        var worst = delivery.Failure == StoreFailure.Full ? StoreFailure.Full : failure;
        return Answered(data, delivery with { Awaiting = delivery.Awaiting.Remove(mailbox), Failure = worst });
    }

    /// <summary>The resend interval passed while storing: the mailboxes that have not answered are asked again.</summary>
    public static SmtpDecision ResendDue(SmtpState state, SmtpConversation data) =>
        state == SmtpState.Storing && data.Delivery is { Awaiting.IsEmpty: false } delivery
            ? new(state, data, [], new SmtpEffect.Resend([.. delivery.Awaiting])) { Notes = [SmtpNote.AskingAgain(delivery.Awaiting.Order(StringComparer.Ordinal))] }
            : new(state, data, []);

    /// <summary>Not every mailbox answered within the store timeout: the message fails; the copies kept, and any the silent mailboxes may hold, are taken back, and copies that come later too (<see cref="LateDelivery"/>).</summary>
    public static SmtpDecision StoreTimedOut(SmtpConversation data)
    {
        var delivery = data.Delivery!;
        var decision = Answered(data, delivery with { Awaiting = [], Failure = delivery.Failure ?? StoreFailure.Error });
        return decision.Effect is SmtpEffect.Settle settle
            ? decision with { Effect = settle with { Unanswered = [.. delivery.Awaiting] } }
            : decision;
    }

    /// <summary>The spool could not be finished (written and flushed), so no mailbox was asked.</summary>
    public static SmtpDecision SpoolFailed(SmtpConversation data, StoreFailure failure) =>
        Answered(data, data.Delivery! with { Awaiting = [], Failure = failure });

    /// <summary>A mailbox answered after its message was settled: a copy of a message answered 451 is taken back, since the client will retry; a second answer for a message answered 250 (a request asked again) changes nothing.</summary>
    public static SmtpDecision LateDelivery(SmtpState state, SmtpConversation data, StoredCopy copy, bool messageStored) =>
        messageStored
            ? new(state, data, [])
            : new(state, data, [], new SmtpEffect.Retract(copy)) { Notes = [SmtpNote.LateCopyTakenBack(copy.Mailbox)] };

    /// <summary>Every recipient's mailbox stored the message; as Postfix counts errors "without delivering mail", the bad and junk counts start again.</summary>
    public static SmtpDecision Stored(SmtpConversation data, string queueId) =>
        Step(SmtpState.Ready, data.ClearTransaction() with { MessagesAccepted = data.MessagesAccepted + 1, BadCommands = 0, JunkCommands = 0 }, SmtpReplies.Queued(queueId));

    /// <summary>At least one mailbox failed to store the message; none kept it.</summary>
    public static SmtpDecision StoreFailed(SmtpConversation data, StoreFailure failure) =>
        Step(SmtpState.Ready, data.ClearTransaction(), failure == StoreFailure.Full ? SmtpReplies.StoreFull : SmtpReplies.StoreFailed);

    /// <summary>No input for the idle timeout.</summary>
    public static SmtpDecision Idle(SmtpConversation data) => End(data, SmtpReplies.IdleTimeout, "idle timeout");

    /// <summary>A command line or a body did not complete within its time limit.</summary>
    public static SmtpDecision TransferTimedOut(SmtpConversation data) => End(data, SmtpReplies.TransferTimeout, "command or body too slow");

    /// <summary>The session has lasted as long as a session may; a message being stored is answered first.</summary>
    public static SmtpDecision LifetimeOver(SmtpState state, SmtpConversation data) =>
        EndOrWait(state, data, new PendingEnd(SmtpReplies.LifetimeOver, "session lifetime"));

    /// <summary>The node is stopping; a message being stored is answered first, so a client never retries one that was kept.</summary>
    public static SmtpDecision Shutdown(SmtpState state, SmtpConversation data) =>
        EndOrWait(state, data, new PendingEnd(SmtpReplies.ShuttingDown, "shutdown"));

    /// <summary>
    /// The client half-closed and everything it sent before has been answered: close without a
    /// reply. A body it did not finish is dropped; a message being stored is answered first.
    /// </summary>
    public static SmtpDecision PeerClosed(SmtpState state, SmtpConversation data) => state switch
    {
        SmtpState.Storing or SmtpState.Closed or SmtpState.Verifying or SmtpState.AuthDelay or SmtpState.StartingTls => new(state, data, []),
        _ => new(SmtpState.Closed, data, []) { Ends = "peer closed" },
    };

    // The last answer of a delivery (or a timeout) settles it: 250 if every copy is kept, else 451/452 and every copy taken back.
    private static SmtpDecision Answered(SmtpConversation data, PendingDelivery delivery)
    {
        if (!delivery.Awaiting.IsEmpty)
        {
            return new SmtpDecision(SmtpState.Storing, data with { Delivery = delivery }, []);
        }

        var settled = data with { Delivery = null };
        SmtpDecision decision;
        if (delivery.Failure is { } failure)
        {
            decision = StoreFailed(settled, failure) with { Effect = new SmtpEffect.Settle(false, [.. delivery.Kept]) };
        }
        else
        {
            var queueId = $"{data.SessionId}.{data.MessagesAccepted + 1}";
            decision = Stored(settled, queueId) with
            {
                Effect = new SmtpEffect.Settle(true, []),
                Notes = [SmtpNote.MessageStored(queueId, data.Recipients.Select(r => r.Mailbox), delivery.Size)],
            };
        }

        return data.AfterStore is { } end
            ? decision with { State = SmtpState.Closed, Replies = [.. decision.Replies, end.Reply], Ends = end.Reason }
            : decision;
    }

    private static SmtpDecision EndOrWait(SmtpState state, SmtpConversation data, PendingEnd end) => state switch
    {
        SmtpState.Storing => new(state, data with { AfterStore = data.AfterStore ?? end }, []),

        // In the middle of the handshake a reply in clear would be read as TLS: close without one.
        SmtpState.StartingTls => new(SmtpState.Closed, data, []) { Ends = end.Reason },
        _ => End(data, end.Reply, end.Reason),
    };

    private static SmtpDecision End(SmtpConversation data, SmtpReply reply, string reason) =>
        new(SmtpState.Closed, data, [reply]) { Ends = reason };

    private static SmtpDecision Hello(SmtpPolicy policy, SmtpState state, SmtpState next, SmtpConversation data, SmtpCommand command)
    {
        var client = command.Argument;
        if (client.Length == 0 || client.Contains(' ', StringComparison.Ordinal))
        {
            return Error(policy, state, data, SmtpReplies.SyntaxInParameters($"{command.Name} needs exactly one domain or address literal"));
        }

        var extended = command.Verb == SmtpVerb.Ehlo;
        var reply = extended
            ? SmtpReplies.Ehlo(policy.Hostname, client, policy.MaxMessageSize,
                startTls: policy.TlsOffered && !data.Secure, auth: policy.AuthAllowed(data.Secure, data.Loopback))
            : SmtpReplies.Helo(policy.Hostname, client);
        return Step(next, data.ClearTransaction() with { ClientName = client, Extended = extended }, reply);
    }

    private static SmtpDecision Mail(SmtpPolicy policy, SmtpState state, SmtpState next, SmtpConversation data, string argument)
    {
        if (policy.AuthRequired && data.User is null)
        {
            return Error(policy, state, data, SmtpReplies.AuthRequired);
        }

        if (!SmtpParser.TrySplitPath(argument, "FROM:", out var pathText, out var parameters))
        {
            return Error(policy, state, data, SmtpReplies.SyntaxInParameters("Syntax: MAIL FROM:<address> [SIZE=n] [BODY=7BIT|8BITMIME]"));
        }

        if (!SmtpParser.IsAscii(pathText))
        {
            return Junk(policy, state, data, SmtpReplies.NonAsciiAddress);
        }

        if (!MailPath.TryParse(pathText, allowNull: true, out var from, out var why))
        {
            return Error(policy, state, data, SmtpReplies.BadSenderSyntax(why));
        }

        if (!data.Extended && parameters.Length > 0)
        {
            return Error(policy, state, data, SmtpReplies.SyntaxInParameters("Parameters need EHLO"));
        }

        var refusal = SmtpParser.ParseMailParameters(parameters, out var size, out var eightBit);
        if (refusal is not null)
        {
            return Error(policy, state, data, refusal);
        }

        if (size > policy.MaxMessageSize)
        {
            return Step(state, data, SmtpReplies.MessageTooBig(policy.MaxMessageSize));
        }

        return Step(next, data with { Mail = new MailFromArgs(from, size, eightBit), Recipients = [] }, SmtpReplies.SenderOk);
    }

    private static SmtpDecision Rcpt(SmtpPolicy policy, SmtpState state, SmtpState next, SmtpConversation data, string argument)
    {
        if (!SmtpParser.TrySplitPath(argument, "TO:", out var pathText, out var parameters))
        {
            return Error(policy, state, data, SmtpReplies.SyntaxInParameters("Syntax: RCPT TO:<address>"));
        }

        if (!SmtpParser.IsAscii(pathText))
        {
            return Refuse(policy, state, data, SmtpReplies.NonAsciiAddress, pathText);
        }

        if (!MailPath.TryParse(pathText, allowNull: false, out var to, out var why))
        {
            return Error(policy, state, data, SmtpReplies.BadRecipientSyntax(why));
        }

        if (parameters.Length > 0)
        {
            var key = parameters[0].Split('=')[0];
            return Error(policy, state, data, SmtpReplies.ParameterNotRecognised(key));
        }

        if (data.Recipients.Count >= policy.MaxRecipients)
        {
            return Step(state, data, SmtpReplies.TooManyRecipients);
        }

        var mailbox = Resolve(policy, to);
        if (mailbox.Refusal is not null)
        {
            return Refuse(policy, state, data, mailbox.Refusal, to.ToString());
        }

        // The same mailbox named twice still gets one copy.
        var recipients = data.Recipients.Exists(r => r.Mailbox == mailbox.Name)
            ? data.Recipients
            : data.Recipients.Add(new Recipient(to, mailbox.Name!));
        return Step(next, data with { Recipients = recipients }, SmtpReplies.RecipientOk);
    }

    private static (string? Name, SmtpReply? Refusal) Resolve(SmtpPolicy policy, MailPath to)
    {
        if (to.Domain.Length == 0)
        {
            // Only <Postmaster> parses without a domain (RFC 5321 §4.1.1.3).
            return (policy.PostmasterMailbox, null);
        }

        if (!IsLocal(policy, to.Domain))
        {
            return (null, SmtpReplies.RelayDenied);
        }

        var local = to.PlainLocalPart.ToLowerInvariant();
        if (local == "postmaster")
        {
            return (policy.PostmasterMailbox, null);
        }

        return MailboxName.IsValid(local) && policy.Users.Contains(local)
            ? (local, null)
            : (null, SmtpReplies.UnknownUser);
    }

    private static bool IsLocal(SmtpPolicy policy, string domain) =>
        policy.LocalDomains.Contains(domain.ToLowerInvariant())
        || (MailPath.TryGetAddressLiteral(domain, out var address)
            && policy.LocalAddresses.Contains(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));

    private static SmtpDecision Data(SmtpPolicy policy, SmtpState state, SmtpState next, SmtpConversation data, string argument)
    {
        if (argument.Length > 0)
        {
            return Error(policy, state, data, SmtpReplies.SyntaxInParameters("DATA takes no argument"));
        }

        return new SmtpDecision(next, data, [SmtpReplies.StartMailInput], new SmtpEffect.BeginData());
    }

    private static SmtpDecision StartTls(SmtpPolicy policy, SmtpState state, SmtpConversation data, SmtpCommand command)
    {
        if (command.Argument.Length > 0)
        {
            return Error(policy, state, data, SmtpReplies.SyntaxInParameters("STARTTLS takes no argument"));
        }

        return data.Secure
            ? Error(policy, state, data, SmtpReplies.BadSequence("TLS already active"))
            : new SmtpDecision(SmtpState.StartingTls, data, [SmtpReplies.ReadyToStartTls], new SmtpEffect.StartTls());
    }

    // AUTH mechanism [initial-response] (RFC 4954 §4), in the Ready state only (the table says so).
    private static SmtpDecision Auth(SmtpPolicy policy, SmtpState state, SmtpConversation data, string argument)
    {
        if (data.User is not null)
        {
            return Error(policy, state, data, SmtpReplies.BadSequence("already authenticated"));
        }

        if (!policy.AuthAllowed(data.Secure, data.Loopback))
        {
            return Error(policy, state, data, SmtpReplies.EncryptionRequired);
        }

        var parts = argument.Split(' ');
        if (argument.Length == 0 || parts.Length > 2)
        {
            return Error(policy, state, data, SmtpReplies.SyntaxInParameters("Syntax: AUTH mechanism [initial-response]"));
        }

        if (Sasl.Mechanism(parts[0]) is not { } mechanism)
        {
            return Error(policy, state, data, SmtpReplies.UnknownMechanism);
        }

        var started = data with { Sasl = new SaslExchange(mechanism, null) };
        return (mechanism, parts.Length == 2) switch
        {
            (SaslMechanism.Plain, false) => Step(SmtpState.AuthResponse, started, SmtpReplies.EmptyChallenge),
            (SaslMechanism.Plain, true) => PlainResponse(policy, started, parts[1]),
            (_, false) => Step(SmtpState.AuthResponse, started, SmtpReplies.UserChallenge),
            _ => SaslResponse(policy, started, parts[1]),
        };
    }

    private static SmtpDecision PlainResponse(SmtpPolicy policy, SmtpConversation data, string base64)
    {
        if (!Sasl.TryDecodeBase64(base64, out var message))
        {
            return Error(policy, SmtpState.Ready, data with { Sasl = null }, SmtpReplies.CannotDecode);
        }

        return Sasl.DecodePlain(message) is { } credentials
            ? Credentials(policy, data, credentials)
            : Error(policy, SmtpState.Ready, data with { Sasl = null }, SmtpReplies.AuthFailed);
    }

    private static SmtpDecision Credentials(SmtpPolicy policy, SmtpConversation data, SaslCredentials credentials)
    {
        var checking = data with { Sasl = data.Sasl! with { User = credentials.User } };
        return policy.AcceptAnyCredentials
            ? SignedIn(checking, credentials.User)
            : new SmtpDecision(SmtpState.Verifying, checking, [], new SmtpEffect.CheckPassword(credentials.User, credentials.Password));
    }

    private static SmtpDecision SignedIn(SmtpConversation data, string user) =>
        Step(SmtpState.Ready, data with { Sasl = null, User = user }, SmtpReplies.AuthSucceeded) with { Notes = [SmtpNote.SignedIn(user)] };

    private static SmtpDecision NoArgument(SmtpPolicy policy, SmtpState state, SmtpConversation data, SmtpCommand command, Func<SmtpDecision> then) =>
        command.Argument.Length > 0
            ? Error(policy, state, data, SmtpReplies.SyntaxInParameters($"{command.Name} takes no argument"))
            : then();

    private static SmtpDecision Refuse(SmtpReply reply, Admission admission) =>
        new(SmtpState.Closed, SmtpConversation.Start, [reply]) { Ends = $"refused: {admission}" };

    private static SmtpDecision Step(SmtpState state, SmtpConversation data, SmtpReply reply) =>
        new(state, data, [reply]);

    // A client's mistake counts against the bad-command budget; the last one allowed also closes the session.
    private static SmtpDecision Error(SmtpPolicy policy, SmtpState state, SmtpConversation data, SmtpReply reply)
    {
        var counted = data with { BadCommands = data.BadCommands + 1 };
        return Counted(state, counted, reply, counted.BadCommands, policy.MaxBadCommands, "bad commands");
    }

    // A recipient refused by policy counts against its own budget, so that guessing names still ends.
    private static SmtpDecision Refuse(SmtpPolicy policy, SmtpState state, SmtpConversation data, SmtpReply reply, string address)
    {
        var counted = data with { RefusedRecipients = data.RefusedRecipients + 1 };
        var decision = Counted(state, counted, reply, counted.RefusedRecipients, policy.MaxRefusedRecipients, "refused recipients");
        return decision with { Notes = [SmtpNote.RecipientRefused(address, reply), .. decision.Notes] };
    }

    // A command that does no work counts against the junk budget, as Postfix's smtpd_junk_command_limit.
    private static SmtpDecision Junk(SmtpPolicy policy, SmtpState state, SmtpConversation data, SmtpReply reply)
    {
        var counted = data with { JunkCommands = data.JunkCommands + 1 };
        return Counted(state, counted, reply, counted.JunkCommands, policy.MaxJunkCommands, "commands that do no work");
    }

    private static SmtpDecision Counted(SmtpState state, SmtpConversation counted, SmtpReply reply, int count, int limit, string what) =>
        count >= limit
            ? new SmtpDecision(SmtpState.Closed, counted, [reply, SmtpReplies.TooManyErrors]) { Notes = [SmtpNote.Closing(count, what)], Ends = "too many errors" }
            : new SmtpDecision(state, counted, [reply]);
}
