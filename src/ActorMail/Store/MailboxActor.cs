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
    private readonly List<(IActorRef Sender, DeliverMessage Request, string FileName)> _unsynced = [];
    private IActorRef? _holder;

    public MailboxActor(NodeOptions options, string mailbox)
    {
        _maildir = new Maildir(options.DataRoot, mailbox);
        Receive<DeliverMessage>(Deliver);
        Receive<SyncDeliveries>(_ => Sync());
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

    // A failure no handler expected: every request it leaves open gets an error reply, and a
    // session holding the maildrop is told it lost it, since the restarted actor starts from
    // what is on disk, with no lock and nothing waiting.
    protected override void PreRestart(Exception reason, object message)
    {
        _log.Error(reason, "Mailbox {Mailbox} failed; restarting from disk", Self.Path.Name);
        var why = $"mailbox failed: {reason.Message}";
        switch (message)
        {
            case DeliverMessage m:
                Sender.Tell(new DeliveryFailed(m.Mailbox, m.CorrelationId, StoreFailure.Error, why));
                break;
            case OpenMaildrop m:
                Sender.Tell(new MaildropFailed(m.Mailbox, m.CorrelationId, why));
                break;
            case CommitDeletions m:
                Sender.Tell(new DeletionsFailed(m.Mailbox, m.CorrelationId, why));
                break;
        }

        foreach (var (sender, m, name) in _unsynced)
        {
            TryRetract(name);
            sender.Tell(new DeliveryFailed(m.Mailbox, m.CorrelationId, StoreFailure.Error, why));
        }

        _unsynced.Clear();
        _holder?.Tell(new MaildropLost(Self.Path.Name));
        base.PreRestart(reason, message);
    }

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

    // Group commit: each delivery is renamed into new/ at once, but answered only after one fsync
    // of new/ covers every delivery that queued up meanwhile. The sync request goes to the back of
    // this actor's mailbox, so all deliveries already waiting join the batch.
    private void Deliver(DeliverMessage m)
    {
        try
        {
            var name = _maildir.Deliver(m.SpoolPath, m.Size);
            if (_unsynced.Count == 0)
            {
                Self.Tell(SyncDeliveries.Instance);
            }

            _unsynced.Add((Sender, m, name));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var failure = StoreErrors.Classify(e);
            _log.Error("Delivery to {Mailbox} failed: {Reason}", m.Mailbox, e.Message);
            Sender.Tell(new DeliveryFailed(m.Mailbox, m.CorrelationId, failure, e.Message));
        }
    }

    private void Sync()
    {
        try
        {
            _maildir.SyncNew();
            foreach (var (sender, m, name) in _unsynced)
            {
                sender.Tell(new MessageDelivered(m.Mailbox, m.CorrelationId, name));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error("Sync of {Mailbox}/new failed: {Reason}", Self.Path.Name, e.Message);
            foreach (var (sender, m, name) in _unsynced)
            {
                // Not known to be durable: take it back so that the retry the 451 asks for cannot duplicate it.
                TryRetract(name);
                sender.Tell(new DeliveryFailed(m.Mailbox, m.CorrelationId, StoreErrors.Classify(e), e.Message));
            }
        }
        finally
        {
            _unsynced.Clear();
        }
    }

    private void TryRetract(string name)
    {
        try
        {
            _maildir.Retract(name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error("Could not take back {FileName}: {Reason}", name, e.Message);
        }
    }

    private sealed record SyncDeliveries
    {
        public static SyncDeliveries Instance { get; } = new();
    }
}
