using System.Text;
using ActorMail.Auth;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Protocol.Pop3;
using ActorMail.Protocol.Session;
using ActorMail.Store;
using ActorMail.Tls;
using Akka.Actor;
using Akka.Event;
using Akka.IO;
using static ActorMail.Hosting.SessionMessages;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Pop3;

/// <summary>
/// One POP3 connection: <see cref="Pop3Decider"/> over the <see cref="SessionShell{TState, TData, TDecision, TDecider}"/>,
/// with the effects that need the outside world. RETR and TOP stream the file in chunks, each
/// written only after the previous one is acknowledged, so a large message never piles up in
/// the write queue. Passwords are checked by the node's <see cref="PasswordChecker"/>, never on
/// the session's thread.
/// </summary>
public sealed class Pop3Session : SessionShell<Pop3State, Pop3Conversation, Pop3Decision, Pop3Decider>
{
    private const string AuthTimer = "auth-delay";

    private readonly Pop3Options _options;
    private readonly string _dataRoot;
    private readonly Pop3Policy _policy;
    private readonly IActorRef _mailboxes;
    private readonly IActorRef _passwords;
    private readonly NodeMetrics _metrics;
    private IReplyStream? _stream;
    private Maildir? _maildir;
    // The mailbox actor that granted the maildrop (on this node or another): if it stops, the lock is gone.
    private IActorRef? _maildropOwner;
    private long _correlation;
    private int _retrieved;

    public Pop3Session(SessionStart start, NodeOptions options, Pop3Policy policy, IActorRef mailboxes, IActorRef passwords, SessionTls? tls = null)
        : base(start, options.Pop3, "POP3", Pop3Decider.Connect(start.Admission, start.IsLoopback, start.ImplicitTls), tls)
    {
        _options = options.Pop3;
        _dataRoot = options.DataRoot;
        _policy = policy;
        _mailboxes = mailboxes;
        _passwords = passwords;
        _metrics = NodeMetrics.Get(Context.System);
    }

    public static Props Props(SessionStart start, NodeOptions options, Pop3Policy policy, IActorRef mailboxes, IActorRef passwords, SessionTls? tls = null) =>
        Akka.Actor.Props.Create(() => new Pop3Session(start, options, policy, mailboxes, passwords, tls)).WithDispatcher("akka.actor.pop3-session-dispatcher");

    protected override Pop3State ClosedState => Pop3State.Closed;

    protected override int Messages => _retrieved;

    protected override bool TakesInput(Pop3State state) => _stream is null && Pop3Decider.ReadsCommands(state);

    protected override Pop3Decision Line(Pop3State state, Pop3Conversation data, ReadOnlySpan<byte> line) =>
        state == Pop3State.AuthResponse
            ? Pop3Decider.SaslResponse(_policy, data, Encoding.Latin1.GetString(line))
            : Pop3Decider.Decide(_policy, state, data, Pop3Parser.Parse(line));

    protected override Pop3Decision LineTooLong(Pop3State state, Pop3Conversation data) => Pop3Decider.LineTooLong(_policy, state, data);

    protected override Pop3Decision? Answer(Pop3State state, Pop3Conversation data, object message) => (state, message) switch
    {
        (Pop3State.Verifying, AuthCommands.PasswordChecked c) when c.CorrelationId == _correlation => Pop3Decider.PasswordChecked(data, c.Outcome),
        (Pop3State.AuthDelay, AuthDelayOver) => Pop3Decider.AuthDelayOver(_policy, data),
        (Pop3State.Opening, MaildropOpened o) when o.CorrelationId == _correlation => Opened(data, o),
        (Pop3State.Opening, MaildropLocked l) when l.CorrelationId == _correlation => Pop3Decider.MaildropLocked(data),
        (Pop3State.Opening, MaildropFailed f) when f.CorrelationId == _correlation => Pop3Decider.MaildropFailed(data),
        (Pop3State.Update, DeletionsCommitted c) when c.CorrelationId == _correlation => Pop3Decider.Committed(data, c.Removed),
        (Pop3State.Update, DeletionsFailed f) when f.CorrelationId == _correlation => Pop3Decider.CommitFailed(data),
        (not Pop3State.Closed, MaildropLost) => Pop3Decider.MaildropLost(data),
        (not Pop3State.Closed, Terminated t) when t.ActorRef.Equals(_maildropOwner) => Pop3Decider.MaildropLost(data),
        _ => null,
    };

    protected override State<Pop3State, Pop3Conversation> OnWritten(object? then, bool drained) =>
        then is ChunkWritten && _stream is not null && Pop3Decider.ReadsCommands(StateName)
            ? WriteNextChunk(ByteString.Empty) ? Stay() : Pump(StateName, StateData, new StringBuilder())
            : base.OnWritten(then, drained);

    protected override Pop3Decision Run(Pop3Decision decision, StringBuilder replies)
    {
        if (decision.State == Pop3State.Closed)
        {
            DropStream();
        }

        switch (decision.Effect)
        {
            case Pop3Effect.CheckPassword check:
                _passwords.Tell(new AuthCommands.CheckPassword(check.User, check.Password, Start.Address, ++_correlation));
                break;
            case Pop3Effect.OpenMaildrop open:
                _mailboxes.Tell(new OpenMaildrop(open.User, ++_correlation));
                break;
            case Pop3Effect.StartTls:
                StartTls();
                break;
            case Pop3Effect.DelayAuthFailure:
                SetTimer(AuthTimer, AuthDelayOver.Instance, _options.AuthFailureDelay, repeat: false);
                break;
            case Pop3Effect.CommitDeletions commit:
                _mailboxes.Tell(new CommitDeletions(decision.Data.User!, ++_correlation, commit.FileNames));
                break;
            case Pop3Effect.SendMessage send:
                if (MessageStream.Open(_maildir!.MessagePath(send.Message.FileName), send.BodyLines, _options.RetrChunkSize) is not { } stream)
                {
                    return Run(Pop3Decider.MessageUnavailable(decision.Data, send.Message), replies);
                }

                _retrieved++;
                if (send.BodyLines is null)
                {
                    _metrics.Retrievals.Increment();
                }

                return Stream(decision, replies, stream);
            case Pop3Effect.SendListing list:
                return Stream(decision, replies, new ListingStream(new Pop3Listing(decision.Data.Messages, decision.Data.Deleted, list.Kind), _options.RetrChunkSize));
        }

        decision.Replies.AppendTo(replies);
        return decision;
    }

    protected override void Release() => DropStream();

    // The replies so far go out with the stream's first chunk.
    private Pop3Decision Stream(Pop3Decision decision, StringBuilder replies, IReplyStream stream)
    {
        decision.Replies.AppendTo(replies);
        var head = ByteString.FromString(replies.ToString(), Encoding.ASCII);
        replies.Clear();
        _stream = stream;
        WriteNextChunk(head);
        return decision;
    }

    protected override string? SignedIn(Pop3Decision decision) => decision.State == Pop3State.Transaction ? decision.Data.User : null;

    private Pop3Decision Opened(Pop3Conversation data, MaildropOpened opened)
    {
        _maildropOwner = Sender;
        Context.Watch(_maildropOwner);
        _maildir = new Maildir(_dataRoot, data.User!);
        return Pop3Decider.MaildropOpened(data, opened.Messages);
    }

    // Writes the next chunk after `head` (replies not yet written) and returns true while more is
    // to come; the last chunk carries the terminator and ends the stream. A message that ends in
    // its first chunk leaves with the replies that follow, so pipelined RETRs of small messages
    // cost one write (up to a chunk's size) instead of one each.
    private bool WriteNextChunk(ByteString head)
    {
        var chunk = head.Concat(_stream!.Next(out var last));
        if (!last)
        {
            Write(chunk, ChunkWritten.Instance);
            return true;
        }

        DropStream();
        WriteWithNext(chunk, _options.RetrChunkSize);
        return false;
    }

    private void DropStream()
    {
        _stream?.Dispose();
        _stream = null;
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
