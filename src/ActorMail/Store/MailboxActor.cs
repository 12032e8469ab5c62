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
    private readonly StoreSync _sync;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<Delivery> _batch = [];
    private IActorRef? _holder;

    public MailboxActor(NodeOptions options, string mailbox)
    {
        _maildir = new Maildir(options.DataRoot, mailbox);
        _sync = options.StoreSync;
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

        foreach (var d in _batch.Where(d => !d.Answered))
        {
            Fail(d, StoreFailure.Error, why);
        }

        _batch.Clear();
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

    // Group commit: deliveries are gathered, not stored one by one. The first of a batch sends
    // SyncDeliveries to the back of this actor's mailbox, so every delivery that queues up
    // meanwhile (while the previous batch was being flushed) joins the batch.
    private void Deliver(DeliverMessage m)
    {
        if (_batch.Count == 0)
        {
            Self.Tell(SyncDeliveries.Instance);
        }

        _batch.Add(new Delivery(Sender, m));
    }

    // The spool files are made durable before any name in new/ points at them, then linked, then
    // the links are made durable; only then is each delivery answered. A delivery that fails on
    // its own (its spool file is gone) fails alone; a failed flush fails the whole batch.
    private void Sync()
    {
        try
        {
            if (_sync == StoreSync.Syncfs)
            {
                Native.SyncFileSystem(_maildir.Root);
            }

            foreach (var d in _batch)
            {
                try
                {
                    if (_sync == StoreSync.Fsync)
                    {
                        Native.FsyncFile(d.Request.SpoolPath);
                    }

                    d.FileName = _maildir.Deliver(d.Request.SpoolPath, d.Request.Size);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _log.Error("Delivery to {Mailbox} failed: {Reason}", d.Request.Mailbox, e.Message);
                    Fail(d, StoreErrors.Classify(e), e.Message);
                }
            }

            if (_batch.Any(d => d.FileName is not null))
            {
                _maildir.SyncNew();
            }

            foreach (var d in _batch.Where(d => !d.Answered))
            {
                d.Answered = true;
                d.Sender.Tell(new MessageDelivered(d.Request.Mailbox, d.Request.CorrelationId, d.FileName!));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error("Sync of {Mailbox} failed: {Reason}", Self.Path.Name, e.Message);
            foreach (var d in _batch.Where(d => !d.Answered))
            {
                Fail(d, StoreErrors.Classify(e), e.Message);
            }
        }
        finally
        {
            _batch.Clear();
        }
    }

    // Not known to be durable: a copy already linked is taken back, so that the retry the 451
    // asks for cannot duplicate it.
    private void Fail(Delivery d, StoreFailure failure, string why)
    {
        if (d.FileName is { } name)
        {
            TryRetract(name);
        }

        d.Answered = true;
        d.Sender.Tell(new DeliveryFailed(d.Request.Mailbox, d.Request.CorrelationId, failure, why));
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

    private sealed class Delivery(IActorRef sender, DeliverMessage request)
    {
        public IActorRef Sender { get; } = sender;

        public DeliverMessage Request { get; } = request;

        public string? FileName { get; set; }

        public bool Answered { get; set; }
    }

    private sealed record SyncDeliveries
    {
        public static SyncDeliveries Instance { get; } = new();
    }
}
