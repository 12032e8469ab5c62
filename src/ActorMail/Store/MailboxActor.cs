using Akka.Actor;
using Akka.Event;
using ActorMail.Configuration;
using ActorMail.Protocol.Smtp;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Store;

/// <summary>
/// The single writer of one mailbox: every delivery, deletion and lock for it passes through here,
/// one at a time, so the Maildir needs no file locks. Runs on the store dispatcher because it blocks on the disk.
/// </summary>
public sealed class MailboxActor : ReceiveActor
{
    private readonly Maildir _maildir;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef? _holder;

    public MailboxActor(NodeOptions options, string mailbox)
    {
        _maildir = new Maildir(options.DataRoot, mailbox);
        Receive<DeliverMessage>(Deliver);
        Receive<OpenMaildrop>(Open);
        Receive<CommitDeletions>(Commit);
        Receive<Terminated>(t =>
        {
            if (t.ActorRef.Equals(_holder))
            {
                _log.Info("Maildrop {Mailbox} released: its session ended without QUIT", Self.Path.Name);
                _holder = null;
            }
        });
        Receive<RetractMessage>(m =>
        {
            if (_maildir.Retract(m.FileName))
            {
                _log.Warning("Retracted {FileName} from {Mailbox} after a failed multi-recipient delivery", m.FileName, m.Mailbox);
            }
        });
    }

    public static Props Props(NodeOptions options, string mailbox) =>
        Akka.Actor.Props.Create(() => new MailboxActor(options, mailbox)).WithDispatcher("akka.actor.store-dispatcher");

    protected override void PreStart() => _maildir.EnsureExists();

    private void Open(OpenMaildrop m)
    {
        if (_holder is not null && !_holder.Equals(Sender))
        {
            Sender.Tell(new MaildropLocked(m.Mailbox, m.CorrelationId));
            return;
        }

        try
        {
            var messages = _maildir.OpenDrop();
            _holder = Sender;
            Context.Watch(_holder);
            Sender.Tell(new MaildropOpened(m.Mailbox, m.CorrelationId, messages));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error("Maildrop {Mailbox} could not be opened: {Reason}", m.Mailbox, e.Message);
            Sender.Tell(new MaildropFailed(m.Mailbox, m.CorrelationId, e.Message));
        }
    }

    private void Commit(CommitDeletions m)
    {
        if (!Sender.Equals(_holder))
        {
            Sender.Tell(new DeletionsFailed(m.Mailbox, m.CorrelationId, "maildrop not held by this session"));
            return;
        }

        try
        {
            var removed = _maildir.Remove(m.FileNames);
            Sender.Tell(new DeletionsCommitted(m.Mailbox, m.CorrelationId, removed));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error("Deletions in {Mailbox} failed: {Reason}", m.Mailbox, e.Message);
            Sender.Tell(new DeletionsFailed(m.Mailbox, m.CorrelationId, e.Message));
        }
        finally
        {
            Context.Unwatch(_holder);
            _holder = null;
        }
    }

    private void Deliver(DeliverMessage m)
    {
        try
        {
            var name = _maildir.Deliver(m.SpoolPath, m.Size);
            Sender.Tell(new MessageDelivered(m.Mailbox, m.CorrelationId, name));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var failure = StoreErrors.Classify(e);
            _log.Error("Delivery to {Mailbox} failed: {Reason}", m.Mailbox, e.Message);
            Sender.Tell(new DeliveryFailed(m.Mailbox, m.CorrelationId, failure, e.Message));
        }
    }
}
