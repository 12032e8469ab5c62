using System.Collections.Immutable;
using ActorMail.Protocol.Auth;
using ActorMail.Protocol.Session;
using ActorMail.Protocol.Store;

namespace ActorMail.Protocol.Pop3;

/// <summary>The states of one POP3 session (RFC 1939 §3, with the waits made explicit).</summary>
public enum Pop3State
{
    /// <summary>USER/PASS expected.</summary>
    Authorization,

    /// <summary>PASS received; the password is being checked off the session. Input waits.</summary>
    Verifying,

    /// <summary>A sign-in failed; the reply waits out the failure delay. Input waits.</summary>
    AuthDelay,

    /// <summary>Password accepted; waiting for the mailbox actor to grant the maildrop. Input waits.</summary>
    Opening,

    /// <summary>Maildrop open and locked; message commands allowed.</summary>
    Transaction,

    /// <summary>QUIT in TRANSACTION: the marked messages are being removed. Input waits.</summary>
    Update,

    /// <summary>AUTH answered with a continuation: the next line is the client's SASL response, not a command.</summary>
    AuthResponse,

    /// <summary>STLS answered +OK: the TLS handshake runs. Nothing is read as a command, and what arrived before the handshake is discarded.</summary>
    StartingTls,

    /// <summary>The last reply was sent; the connection closes.</summary>
    Closed,
}

/// <summary>What the session shell must do besides writing the reply.</summary>
public abstract record Pop3Effect
{
    /// <summary>Check <paramref name="Password"/> for <paramref name="User"/>, then call <see cref="Pop3Decider.PasswordChecked"/>.</summary>
    public sealed record CheckPassword(string User, string Password) : Pop3Effect
    {
        /// <summary>Never shows the password, wherever the record is printed.</summary>
        public override string ToString() => $"CheckPassword {{ User = {User}, Password = **** }}";
    }

    /// <summary>Ask the mailbox actor for the maildrop of <paramref name="User"/>.</summary>
    public sealed record OpenMaildrop(string User) : Pop3Effect;

    /// <summary>Wait the failure delay, then call <see cref="Pop3Decider.AuthDelayOver"/>.</summary>
    public sealed record DelayAuthFailure : Pop3Effect;

    /// <summary>Stream a message after the reply: whole, or headers plus <paramref name="BodyLines"/> lines.</summary>
    public sealed record SendMessage(DropMessage Message, int? BodyLines) : Pop3Effect;

    /// <summary>Stream the lines of a multi-line LIST or UIDL after the reply, from the session's snapshot (<see cref="Pop3Listing"/>).</summary>
    public sealed record SendListing(ListingKind Kind) : Pop3Effect;

    /// <summary>Remove exactly these files and release the maildrop.</summary>
    public sealed record CommitDeletions(ImmutableArray<string> FileNames) : Pop3Effect;

    /// <summary>After the +OK: discard every octet received so far, run the TLS handshake, then call <see cref="Pop3Decider.TlsEstablished"/> or <see cref="Pop3Decider.TlsFailed"/>.</summary>
    public sealed record StartTls : Pop3Effect;
}

/// <summary>What the POP3 decider needs to know about this server.</summary>
/// <param name="MaxBadCommands">Refused commands that close the session.</param>
/// <param name="MaxAuthFailures">Failed sign-ins that close the session.</param>
/// <param name="MaxJunkCommands">Commands that do no work (NOOP, a USER replacing a USER) that close the session.</param>
public sealed record Pop3Policy(int MaxBadCommands, int MaxAuthFailures, int MaxJunkCommands)
{
    /// <summary>STLS is offered (RFC 2595): a certificate is configured or was generated.</summary>
    public bool TlsOffered { get; init; }

    /// <summary>AUTH PLAIN is offered (RFC 5034), where <see cref="ClearText"/> allows it.</summary>
    public bool SaslOffered { get; init; }

    /// <summary>Where USER/PASS and AUTH may be used before TLS.</summary>
    public ClearTextAuth ClearText { get; init; } = ClearTextAuth.Always;
}

/// <summary>How a password check ended.</summary>
public enum PasswordOutcome
{
    /// <summary>The user exists and the password matches.</summary>
    Accepted,

    /// <summary>Unknown user, wrong password, or refused by the guessing throttle: told alike.</summary>
    Rejected,

    /// <summary>Too many checks already wait: try again later.</summary>
    Busy,
}

/// <summary>The immutable data of one POP3 session.</summary>
public sealed record Pop3Conversation(
    string? User,
    Maildrop Messages,
    ImmutableHashSet<int> Deleted,
    int BadCommands,
    int AuthFailures,
    int JunkCommands)
{
    /// <summary>A new session, before USER.</summary>
    public static Pop3Conversation Start { get; } = new(null, Maildrop.Empty, [], 0, 0, 0);

    /// <summary>Messages not marked deleted.</summary>
    public int LiveCount => Messages.Count - Deleted.Count;

    /// <summary>The session runs over TLS (after STLS).</summary>
    public bool Secure { get; init; }

    /// <summary>The client connected from a loopback address.</summary>
    public bool Loopback { get; init; }

    /// <summary>Octets of the messages not marked deleted.</summary>
    public long LiveOctets => Messages.Octets - Deleted.Sum(n => Messages.SizeOf(n - 1));
}

/// <summary>The outcome of one step: next state, new data, the reply (if any now), at most one effect, and why the session ends if it does.</summary>
public sealed record Pop3Decision(Pop3State State, Pop3Conversation Data, IReadOnlyList<Pop3Reply> Replies, Pop3Effect? Effect = null)
    : ISessionDecision<Pop3State, Pop3Conversation>
{
    /// <inheritdoc/>
    public string? Ends { get; init; }

    /// <inheritdoc/>
    public IReadOnlyList<SessionNote> Notes { get; init; } = [];

    /// <inheritdoc/>
    public IReadOnlyList<ISessionReply> Said => Replies;
}

/// <summary>
/// The POP3 state machine of RFC 1939 as pure functions. Deletions are only marks until QUIT in
/// TRANSACTION; message numbers never change within a session; a deleted message is gone from
/// every command's view.
/// </summary>
public sealed class Pop3Decider : ISessionDecider<Pop3State, Pop3Conversation, Pop3Decision>
{
    private Pop3Decider()
    {
    }

    /// <summary>Lines are read in AUTHORIZATION (and in the middle of AUTH) and TRANSACTION; every other state waits for an answer or is closed.</summary>
    public static bool ReadsSecret(Pop3State state) => state == Pop3State.AuthResponse;

    /// <inheritdoc/>
    public static bool ReadsCommands(Pop3State state) => state is Pop3State.Authorization or Pop3State.Transaction or Pop3State.AuthResponse;

    /// <summary>The greeting, or the refusal of a connection the listener did not admit.</summary>
    /// <param name="admission">What the listener decided.</param>
    /// <param name="loopback">The client connected from a loopback address (the clear-text rule).</param>
    /// <param name="secure">The connection is over TLS from the start (an implicit-TLS port, RFC 8314).</param>
    public static Pop3Decision Connect(Admission admission = Admission.Accepted, bool loopback = false, bool secure = false) => admission switch
    {
        Admission.Accepted => new(Pop3State.Authorization, Pop3Conversation.Start with { Loopback = loopback, Secure = secure }, [Pop3Replies.Greeting]),
        Admission.AddressFull => Refuse(Pop3Replies.AddressFull, admission),
        Admission.AddressTooFast => Refuse(Pop3Replies.AddressTooFast, admission),
        Admission.ShuttingDown => Refuse(Pop3Replies.ShuttingDown, admission),
        _ => Refuse(Pop3Replies.TooManyConnections, admission),
    };

    /// <summary>One command line.</summary>
    public static Pop3Decision Decide(Pop3Policy policy, Pop3State state, Pop3Conversation data, Pop3Command command)
    {
        if (command.Malformed is not null)
        {
            return Error(policy, state, data, Pop3Replies.BadCharacters(command.Malformed));
        }

        // STLS and AUTH are unknown commands where they are not offered, as before they were.
        if (command.Verb == Pop3Verb.Unknown || (command.Verb == Pop3Verb.Stls && !policy.TlsOffered) || (command.Verb == Pop3Verb.Auth && !policy.SaslOffered))
        {
            return Error(policy, state, data, Pop3Replies.UnknownCommand);
        }

        if (command.Verb == Pop3Verb.Capa)
        {
            var clear = policy.ClearText.Allows(data.Secure, data.Loopback);
            var authorization = state == Pop3State.Authorization;
            return command.Arguments.Count == 0
                ? Step(state, data, Pop3Replies.CapaFor(user: clear, stls: authorization && policy.TlsOffered && !data.Secure, sasl: authorization && policy.SaslOffered && clear))
                : Error(policy, state, data, Pop3Replies.Syntax("CAPA takes no argument"));
        }

        return state switch
        {
            Pop3State.Authorization => Authorization(policy, data, command),
            Pop3State.Transaction => Transaction(policy, data, command),
            _ => Error(policy, state, data, Pop3Replies.WrongState(command.Name, state.ToString().ToUpperInvariant())),
        };
    }

    /// <summary>A line over the limit was read and discarded; in the middle of AUTH it ends the exchange.</summary>
    public static Pop3Decision LineTooLong(Pop3Policy policy, Pop3State state, Pop3Conversation data) =>
        Error(policy, state == Pop3State.AuthResponse ? Pop3State.Authorization : state, data, Pop3Replies.LineTooLong);

    /// <summary>
    /// The TLS handshake after STLS succeeded: back to AUTHORIZATION with nothing remembered
    /// from before (RFC 2595 §4); only the budgets carry over, so that STLS cannot reset them.
    /// </summary>
    public static Pop3Decision TlsEstablished(Pop3Conversation data, string description) =>
        new(Pop3State.Authorization, Pop3Conversation.Start with
        {
            Loopback = data.Loopback,
            Secure = true,
            BadCommands = data.BadCommands,
            AuthFailures = data.AuthFailures,
            JunkCommands = data.JunkCommands,
        }, [])
        { Notes = [TlsNote.Established(description)] };

    /// <summary>The TLS handshake failed or did not finish in time: close without a word, since no reply could be read.</summary>
    public static Pop3Decision TlsFailed(Pop3Conversation data, string reason) =>
        new(Pop3State.Closed, data, []) { Ends = "TLS handshake failed", Notes = [TlsNote.Failed(reason)] };

    /// <summary>The line after AUTH PLAIN's continuation: the base64 PLAIN message, or <c>*</c> to cancel.</summary>
    public static Pop3Decision SaslResponse(Pop3Policy policy, Pop3Conversation data, string line) =>
        line == Sasl.Cancel
            ? Error(policy, Pop3State.Authorization, data, Pop3Replies.AuthCancelled)
            : PlainResponse(policy, data, line);

    /// <summary>The password check of PASS is done: open the maildrop, wait out the failure delay, or ask the client to come back.</summary>
    public static Pop3Decision PasswordChecked(Pop3Conversation data, PasswordOutcome outcome) => outcome switch
    {
        PasswordOutcome.Accepted => new Pop3Decision(Pop3State.Opening, data, [], new Pop3Effect.OpenMaildrop(data.User!)) { Notes = [Pop3Note.SignedIn(data.User!)] },
        PasswordOutcome.Rejected => new Pop3Decision(Pop3State.AuthDelay, data with { AuthFailures = data.AuthFailures + 1 }, [], new Pop3Effect.DelayAuthFailure())
        {
            Notes = [Pop3Note.SignInFailed(data.User, data.AuthFailures + 1)],
        },
        _ => Step(Pop3State.Authorization, data with { User = null }, Pop3Replies.AuthBusy) with { Notes = [Pop3Note.CheckerBusy(data.User)] },
    };

    /// <summary>The session has lasted as long as a session may: close without UPDATE. A QUIT being committed is let finish: the session closes right after it anyway.</summary>
    public static Pop3Decision LifetimeOver(Pop3State state, Pop3Conversation data) => state switch
    {
        Pop3State.Update or Pop3State.Closed => new(state, data, []),

        // In the middle of the handshake a reply in clear would be read as TLS: close without one.
        Pop3State.StartingTls => new(Pop3State.Closed, data, []) { Ends = "session lifetime" },
        _ => End(data, Pop3Replies.LifetimeOver, "session lifetime"),
    };

    /// <summary>The client half-closed and everything it sent before has been answered: close without QUIT, so nothing is deleted.</summary>
    public static Pop3Decision PeerClosed(Pop3State state, Pop3Conversation data) =>
        state is Pop3State.Authorization or Pop3State.Transaction or Pop3State.AuthResponse ? new(Pop3State.Closed, data, []) { Ends = "peer closed" } : new(state, data, []);

    /// <summary>The file of a message in the snapshot could not be opened for RETR or TOP: the message is not sent, the session goes on.</summary>
    public static Pop3Decision MessageUnavailable(Pop3Conversation data, DropMessage message) =>
        Step(Pop3State.Transaction, data, Pop3Replies.MaildropUnavailable) with { Notes = [Pop3Note.Unavailable(data.User!, message.FileName)] };

    /// <summary>The failure delay after a bad sign-in is over: answer, and close after the last allowed failure.</summary>
    public static Pop3Decision AuthDelayOver(Pop3Policy policy, Pop3Conversation data) =>
        data.AuthFailures >= policy.MaxAuthFailures
            ? new Pop3Decision(Pop3State.Closed, data, [Pop3Replies.AuthFailed, Pop3Replies.TooManyAuthFailures]) { Ends = "too many failed sign-ins" }
            : new Pop3Decision(Pop3State.Authorization, data with { User = null }, [Pop3Replies.AuthFailed]);

    /// <summary>The mailbox actor granted the maildrop: the snapshot is fixed for the session.</summary>
    public static Pop3Decision MaildropOpened(Pop3Conversation data, Maildrop messages)
    {
        var opened = data with { Messages = messages, Deleted = [] };
        return Step(Pop3State.Transaction, opened, Pop3Replies.Opened(opened.LiveCount, opened.LiveOctets)) with { Notes = [Pop3Note.Opened(data.User!, messages.Count)] };
    }

    /// <summary>Another session holds the maildrop.</summary>
    public static Pop3Decision MaildropLocked(Pop3Conversation data) =>
        Step(Pop3State.Authorization, data with { User = null }, Pop3Replies.InUse);

    /// <summary>The maildrop could not be read.</summary>
    public static Pop3Decision MaildropFailed(Pop3Conversation data) =>
        Step(Pop3State.Authorization, data with { User = null }, Pop3Replies.MaildropUnavailable);

    /// <summary>UPDATE finished: every marked file is gone (<paramref name="removed"/> of them were still there to remove).</summary>
    public static Pop3Decision Committed(Pop3Conversation data, int removed) =>
        End(data, Pop3Replies.SignOffAfterUpdate(data.LiveCount), "quit") with { Notes = [Pop3Note.Removed(data.User!, removed)] };

    /// <summary>UPDATE could not remove every marked file.</summary>
    public static Pop3Decision CommitFailed(Pop3Conversation data) =>
        End(data, Pop3Replies.CommitFailed, "quit");

    /// <summary>No input for the autologout time: close without UPDATE (nothing is deleted).</summary>
    public static Pop3Decision Idle(Pop3Conversation data) =>
        End(data, Pop3Replies.IdleTimeout, "autologout");

    /// <summary>The mailbox failed and no longer locks the maildrop for this session: close without UPDATE.</summary>
    public static Pop3Decision MaildropLost(Pop3Conversation data) =>
        End(data, Pop3Replies.MaildropLost, "maildrop lost");

    /// <summary>A command line did not complete within its time limit: close without UPDATE.</summary>
    public static Pop3Decision TransferTimedOut(Pop3Conversation data) =>
        End(data, Pop3Replies.CommandTimeout, "command too slow");

    /// <summary>The node is stopping: close without UPDATE, whatever the state.</summary>
    public static Pop3Decision Shutdown(Pop3State state, Pop3Conversation data) =>
        state == Pop3State.StartingTls ? new(Pop3State.Closed, data, []) { Ends = "shutdown" } : End(data, Pop3Replies.ShuttingDown, "shutdown");

    private static Pop3Decision Authorization(Pop3Policy policy, Pop3Conversation data, Pop3Command command)
    {
        if ((command.Verb is Pop3Verb.User or Pop3Verb.Pass or Pop3Verb.Auth) && !policy.ClearText.Allows(data.Secure, data.Loopback))
        {
            return Error(policy, Pop3State.Authorization, data, Pop3Replies.ClearTextRefused);
        }

        switch (command.Verb)
        {
            case Pop3Verb.Stls:
                return command.Arguments.Count > 0 ? Error(policy, Pop3State.Authorization, data, Pop3Replies.Syntax("STLS takes no argument"))
                    : data.Secure ? Error(policy, Pop3State.Authorization, data, Pop3Replies.TlsActive)
                    : new Pop3Decision(Pop3State.StartingTls, data, [Pop3Replies.BeginTls], new Pop3Effect.StartTls());
            case Pop3Verb.Auth:
                return Auth(policy, data, command.Arguments);
            case Pop3Verb.User:
                // Any name is accepted here: whether it exists is only told, with the password, after PASS.
                if (command.Arguments.Count != 1 || command.Arguments[0].Length == 0)
                {
                    return Error(policy, Pop3State.Authorization, data, Pop3Replies.Syntax("Syntax: USER name"));
                }

                var named = data with { User = command.Arguments[0] };
                return data.User is null
                    ? Step(Pop3State.Authorization, named, Pop3Replies.UserAccepted)
                    : Junk(policy, Pop3State.Authorization, named, Pop3Replies.UserAccepted);
            case Pop3Verb.Pass:
                if (data.User is null)
                {
                    return Error(policy, Pop3State.Authorization, data, Pop3Replies.NeedUser);
                }

                if (command.Arguments.Count != 1)
                {
                    return Error(policy, Pop3State.Authorization, data, Pop3Replies.Syntax("Syntax: PASS password"));
                }

                return new Pop3Decision(Pop3State.Verifying, data, [], new Pop3Effect.CheckPassword(data.User, command.Arguments[0]));
            case Pop3Verb.Quit:
                return command.Arguments.Count == 0
                    ? End(data, Pop3Replies.SignOff, "quit")
                    : Error(policy, Pop3State.Authorization, data, Pop3Replies.Syntax("QUIT takes no argument"));
            default:
                return Error(policy, Pop3State.Authorization, data, Pop3Replies.WrongState(command.Name, "AUTHORIZATION"));
        }
    }

    // AUTH PLAIN [initial-response] (RFC 5034 §4); PLAIN is the one mechanism offered.
    private static Pop3Decision Auth(Pop3Policy policy, Pop3Conversation data, IReadOnlyList<string> args)
    {
        if (args.Count is 0 or > 2 || args[0].Length == 0)
        {
            return Error(policy, Pop3State.Authorization, data, Pop3Replies.Syntax("Syntax: AUTH mechanism [initial-response]"));
        }

        if (Sasl.Mechanism(args[0]) != SaslMechanism.Plain)
        {
            return Error(policy, Pop3State.Authorization, data, Pop3Replies.UnknownMechanism);
        }

        return args.Count == 1
            ? Step(Pop3State.AuthResponse, data with { User = null }, Pop3Replies.EmptyChallenge)
            : PlainResponse(policy, data, args[1]);
    }

    private static Pop3Decision PlainResponse(Pop3Policy policy, Pop3Conversation data, string base64)
    {
        if (!Sasl.TryDecodeBase64(base64, out var message))
        {
            return Error(policy, Pop3State.Authorization, data with { User = null }, Pop3Replies.CannotDecode);
        }

        return Sasl.DecodePlain(message) is { } credentials
            ? new Pop3Decision(Pop3State.Verifying, data with { User = credentials.User }, [], new Pop3Effect.CheckPassword(credentials.User, credentials.Password))
            : Error(policy, Pop3State.Authorization, data with { User = null }, Pop3Replies.AuthFailed);
    }

    private static Pop3Decision Transaction(Pop3Policy policy, Pop3Conversation data, Pop3Command command)
    {
        var args = command.Arguments;
        switch (command.Verb)
        {
            case Pop3Verb.Stat when args.Count == 0:
                return Step(Pop3State.Transaction, data, Pop3Replies.Stat(data.LiveCount, data.LiveOctets));
            case Pop3Verb.List when args.Count == 0:
                return new Pop3Decision(Pop3State.Transaction, data, [Pop3Replies.ListAll(data.LiveCount, data.LiveOctets)], new Pop3Effect.SendListing(ListingKind.Sizes));
            case Pop3Verb.Uidl when args.Count == 0:
                return new Pop3Decision(Pop3State.Transaction, data, [Pop3Replies.UidlAll], new Pop3Effect.SendListing(ListingKind.Uids));
            case Pop3Verb.List or Pop3Verb.Uidl or Pop3Verb.Retr or Pop3Verb.Dele when args.Count == 1:
            case Pop3Verb.Top when args.Count == 2:
                return OneMessage(policy, data, command);
            case Pop3Verb.Noop when args.Count == 0:
                return Junk(policy, Pop3State.Transaction, data, Pop3Replies.Noop);
            case Pop3Verb.Rset when args.Count == 0:
                var reset = data with { Deleted = [] };
                return Step(Pop3State.Transaction, reset, Pop3Replies.Opened(reset.LiveCount, reset.LiveOctets));
            case Pop3Verb.Quit when args.Count == 0:
                var files = data.Deleted.Order().Select(n => data.Messages.FileNameOf(n - 1)).ToImmutableArray();
                return new Pop3Decision(Pop3State.Update, data, [], new Pop3Effect.CommitDeletions(files));
            case Pop3Verb.User or Pop3Verb.Pass or Pop3Verb.Stls or Pop3Verb.Auth:
                return Error(policy, Pop3State.Transaction, data, Pop3Replies.WrongState(command.Name, "TRANSACTION"));
            default:
                return Error(policy, Pop3State.Transaction, data, Pop3Replies.Syntax($"Wrong arguments for {command.Name}"));
        }
    }

    private static Pop3Decision OneMessage(Pop3Policy policy, Pop3Conversation data, Pop3Command command)
    {
        if (!Pop3Parser.TryNumber(command.Arguments[0], out var n))
        {
            return Error(policy, Pop3State.Transaction, data, Pop3Replies.Syntax("Message number must be a positive integer"));
        }

        if (n < 1 || n > data.Messages.Count)
        {
            return Error(policy, Pop3State.Transaction, data, Pop3Replies.NoSuchMessage);
        }

        if (data.Deleted.Contains(n))
        {
            return Error(policy, Pop3State.Transaction, data, Pop3Replies.AlreadyDeleted(n));
        }

        var message = data.Messages[n - 1];
        switch (command.Verb)
        {
            case Pop3Verb.List:
                return Step(Pop3State.Transaction, data, Pop3Replies.ListOne(n, message.Size));
            case Pop3Verb.Uidl:
                return Step(Pop3State.Transaction, data, Pop3Replies.UidlOne(n, message.Uid));
            case Pop3Verb.Dele:
                return Step(Pop3State.Transaction, data with { Deleted = data.Deleted.Add(n) }, Pop3Replies.Deleted(n));
            case Pop3Verb.Retr:
                return new Pop3Decision(Pop3State.Transaction, data, [Pop3Replies.Retr(message.Size)], new Pop3Effect.SendMessage(message, null));
            default:
                return Pop3Parser.TryNumber(command.Arguments[1], out var lines)
                    ? new Pop3Decision(Pop3State.Transaction, data, [Pop3Replies.Top], new Pop3Effect.SendMessage(message, lines))
                    : Error(policy, Pop3State.Transaction, data, Pop3Replies.Syntax("Line count must be a non-negative integer"));
        }
    }

    private static Pop3Decision Step(Pop3State state, Pop3Conversation data, Pop3Reply reply) => new(state, data, [reply]);

    private static Pop3Decision Refuse(Pop3Reply reply, Admission admission) =>
        new(Pop3State.Closed, Pop3Conversation.Start, [reply]) { Ends = $"refused: {admission}" };

    private static Pop3Decision End(Pop3Conversation data, Pop3Reply reply, string reason) => new(Pop3State.Closed, data, [reply]) { Ends = reason };

    private static Pop3Decision Error(Pop3Policy policy, Pop3State state, Pop3Conversation data, Pop3Reply reply)
    {
        var counted = data with { BadCommands = data.BadCommands + 1 };
        return Counted(state, counted, reply, counted.BadCommands >= policy.MaxBadCommands);
    }

    // A command that does no work counts against its own budget, so that a session cannot idle for ever on NOOPs.
    private static Pop3Decision Junk(Pop3Policy policy, Pop3State state, Pop3Conversation data, Pop3Reply reply)
    {
        var counted = data with { JunkCommands = data.JunkCommands + 1 };
        return Counted(state, counted, reply, counted.JunkCommands >= policy.MaxJunkCommands);
    }

    private static Pop3Decision Counted(Pop3State state, Pop3Conversation counted, Pop3Reply reply, bool overBudget) =>
        overBudget
            ? new Pop3Decision(Pop3State.Closed, counted, [reply, Pop3Replies.TooManyErrors]) { Ends = "too many errors" }
            : new Pop3Decision(state, counted, [reply]);
}
