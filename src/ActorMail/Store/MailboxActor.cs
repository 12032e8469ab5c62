using ActorMail.Protocol.Store;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Event;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Pop3;
using ActorMail.Protocol.Smtp;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Store;

/// <summary>
/// The single writer of one mailbox: every delivery, deletion, lock and read for it passes through
/// here, one at a time, so the Maildir needs no file locks. Runs on the store dispatcher because it
/// blocks on the disk. When the node serves HTTP it publishes a <see cref="MailboxEvent"/> on the
/// event stream for each message that arrives or goes.
/// </summary>
public sealed class MailboxActor : ReceiveActor
{
    private readonly Maildir _maildir;
    private readonly StoreSync _sync;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<Delivery> _batch = [];
    private bool _stopping;
    private readonly bool _publish;
    private readonly int _snippetLength;
    private readonly NodeMetrics _metrics;
    private readonly string _mailbox;
    private readonly bool _sharded;
    private readonly TimeSpan _passivateAfter;

    // Summaries by maildrop entry ("new/<name>"): a delivered file never changes, so each message
    // is parsed once; entries whose file is gone are dropped at the next listing.
    private readonly Dictionary<string, MessageSummary> _summaries = new(StringComparer.Ordinal);
    private IActorRef? _holder;

    // The last maildrop listing and the times of new/ and cur/ it was made at: the next sign-in
    // gets it again while neither folder has changed, instead of reading every name again
    // (Dovecot keeps an index for the same reason). Any change, ours or another program's, moves a time.
    private readonly TimeSpan _listingSettleTime;
    private Maildrop? _listing;
    private (DateTime New, DateTime Cur) _listedAt;

    public MailboxActor(NodeOptions options, string mailbox)
    {
        _maildir = new Maildir(options.DataRoot, mailbox);
        _mailbox = mailbox;
        _sharded = options.Cluster.Enabled;
        _passivateAfter = options.Cluster.PassivateIdleAfter;
        _sync = options.StoreSync;
        _listingSettleTime = options.ListingSettleTime;
        _publish = options.RunsHttp;
        _snippetLength = options.Http.SnippetLength;
        _metrics = NodeMetrics.Get(Context.System);
        Receive<DeliverMessage>(Deliver);
        Receive<StopMailbox>(_ => Stop());
        Receive<ReceiveTimeout>(_ => PassivateIfIdle());
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
                _log.Warning("Retracted {FileName} from {Mailbox}: its message was answered 451", m.FileName, m.Mailbox);
                Publish(new MessageRemoved(m.Mailbox, UidOf(m.FileName)));
            }
        });
        Receive<CountMessages>(m => Answer(m.Mailbox, m.CorrelationId, () =>
        {
            var drop = Listing();
            return new MessagesCounted(m.Mailbox, m.CorrelationId, drop.Count, drop.Octets);
        }));
        Receive<ListMessages>(m => Answer(m.Mailbox, m.CorrelationId, () => new MessagesListed(m.Mailbox, m.CorrelationId, List())));
        Receive<ReadMessage>(m => Answer(m.Mailbox, m.CorrelationId, () => Read(m)));
        Receive<DeleteMessages>(m => Delete(m.Mailbox, m.CorrelationId, drop => drop.Where(d => m.Ids.Contains(d.Uid))));
        Receive<DeleteAllMessages>(m => Delete(m.Mailbox, m.CorrelationId, drop => drop));
    }

    public static Props Props(NodeOptions options, string mailbox) =>
        Akka.Actor.Props.Create(() => new MailboxActor(options, mailbox)).WithDispatcher("akka.actor.store-dispatcher");

    protected override void PreStart()
    {
        _maildir.EnsureExists();
        if (_sharded)
        {
            // Where a shard lands is where its mailboxes start: this line is the log of shard moves.
            _log.Info("Mailbox {Mailbox} now served by this node", _mailbox);
            Context.SetReceiveTimeout(_passivateAfter);
        }
    }

    // However the actor stops (handoff, rebalance, passivation racing a grant, the node
    // leaving), the session holding the maildrop is told: the lock lives only here.
    protected override void PostStop()
    {
        if (_holder is not null)
        {
            _log.Warning("Mailbox {Mailbox} stopped while its maildrop was held; the session is told", _mailbox);
            _holder.Tell(new MaildropLost(_mailbox));
            _holder = null;
        }

        if (_sharded)
        {
            _log.Info("Mailbox {Mailbox} no longer served by this node (idle, handed off, or the node is leaving)", _mailbox);
        }
    }

    // Only the mailbox knows whether it holds a maildrop, so it asks its shard to passivate it
    // (sharding's own idle passivation is off): a held lock keeps it alive however long.
    private void PassivateIfIdle()
    {
        if (_holder is null && _batch.Count == 0)
        {
            Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(StopMailbox.Instance));
        }
    }

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
            case CountMessages or ListMessages or ReadMessage or DeleteMessages or DeleteAllMessages:
                var command = (IMailboxCommand)message;
                Sender.Tell(new RequestFailed(command.Mailbox, CorrelationOf(message), why));
                break;
        }

        foreach (var d in _batch.Where(d => !d.Answered))
        {
            Fail(d, StoreFailure.Error, why);
        }

        _batch.Clear();
        _holder?.Tell(new MaildropLost(_mailbox));
        _holder = null;
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
            var messages = Listing();
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
            PublishRemoved(m.Mailbox, removed);
            _metrics.Deletions.Add(removed.Count);
            Sender.Tell(new DeletionsCommitted(m.Mailbox, m.CorrelationId, removed.Count));
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
        var started = Stopwatch.GetTimestamp();
        _metrics.DeliveryBatchSize.Record(_batch.Count);
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

                    d.Linked = _maildir.Deliver(d.Request.SpoolPath, d.Request.FileName);
                    d.InNew = true;

                    // Which process linked which file: the name is the delivering session's.
                    if (d.Linked && _log.IsDebugEnabled)
                    {
                        _log.Debug("Linked {FileName} into {Mailbox}", d.Request.FileName, d.Request.Mailbox);
                    }

                    if (!d.Linked)
                    {
                        _log.Info("{FileName} is already in {Mailbox}: a delivery asked again is answered as stored", d.Request.FileName, d.Request.Mailbox);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _log.Error("Delivery to {Mailbox} failed: {Reason}", d.Request.Mailbox, e.Message);
                    Fail(d, StoreErrors.Classify(e), e.Message);
                }
            }

            // An entry an earlier request linked is synced again too: its node may have died first.
            if (_batch.Any(d => d.InNew))
            {
                _maildir.SyncNew();
            }

            foreach (var d in _batch.Where(d => !d.Answered))
            {
                d.Answered = true;
                d.Sender.Tell(new MessageDelivered(d.Request.Mailbox, d.Request.CorrelationId, d.Request.FileName));
                if (d.Linked)
                {
                    Publish(new MessageArrived(d.Request.Mailbox, UidOf(d.Request.FileName), d.Request.Size));
                }
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
            _metrics.FlushSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    // Not known to be durable: a copy this request linked is taken back, so that the retry the
    // 451 asks for cannot duplicate it. One an earlier request linked may already have been
    // answered as stored, so it stays.
    private void Fail(Delivery d, StoreFailure failure, string why)
    {
        if (d.Linked)
        {
            TryRetract(d.Request.FileName);
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

    // The HTTP side's requests: a disk error is answered, never thrown, so the actor keeps its state.
    private void Answer(string mailbox, long correlationId, Func<object> work)
    {
        try
        {
            Sender.Tell(work());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error("Request on {Mailbox} failed: {Reason}", mailbox, e.Message);
            Sender.Tell(new RequestFailed(mailbox, correlationId, e.Message));
        }
    }

    // The maildrop as it is now: the listing kept from before while new/ and cur/ are unchanged.
    // A listing made while a folder was still changing within the settle time is not kept, since
    // a later change in the same tick of the file system's clock would leave its time as it was.
    private Maildrop Listing()
    {
        var times = _maildir.FolderTimes();
        if (_listing is not null && times == _listedAt)
        {
            return _listing;
        }

        var listing = _maildir.OpenDrop();
        var newest = times.New > times.Cur ? times.New : times.Cur;
        _listing = DateTime.UtcNow - newest >= _listingSettleTime ? listing : null;
        _listedAt = times;
        return listing;
    }

    // Newest first; a message is parsed only the first time it is listed.
    private ImmutableArray<MessageSummary> List()
    {
        var drop = Listing();
        var listed = ImmutableArray.CreateBuilder<MessageSummary>(drop.Count);
        var present = new HashSet<string>(StringComparer.Ordinal);
        for (var i = drop.Count - 1; i >= 0; i--)
        {
            var entry = drop[i];
            if (!_summaries.TryGetValue(entry.FileName, out var summary))
            {
                var received = MaildirName.TryGetTime(entry.Uid, out var time) ? time : (DateTimeOffset?)null;
                summary = MessageSummary.Read(_maildir.MessagePath(entry.FileName), entry.Uid, entry.Size, received, _snippetLength);
                if (summary is null)
                {
                    continue;
                }

                _summaries[entry.FileName] = summary;
            }

            present.Add(entry.FileName);
            listed.Add(summary);
        }

        foreach (var gone in _summaries.Keys.Where(k => !present.Contains(k)).ToList())
        {
            _summaries.Remove(gone);
        }

        return listed.DrainToImmutable();
    }

    private object Read(ReadMessage m)
    {
        if (_maildir.Find(m.Id) is not { } entry)
        {
            return new MessageNotFound(m.Mailbox, m.CorrelationId, m.Id);
        }

        try
        {
            // The array is handed over, never touched again here: no copy of a large message.
            var bytes = File.ReadAllBytes(_maildir.MessagePath(entry.FileName));
            return new MessageRead(m.Mailbox, m.CorrelationId, m.Id, ImmutableCollectionsMarshal.AsImmutableArray(bytes));
        }
        catch (FileNotFoundException)
        {
            return new MessageNotFound(m.Mailbox, m.CorrelationId, m.Id);
        }
    }

    // The POP3 lock holds against HTTP too: a session's snapshot must not lose messages under it.
    private void Delete(string mailbox, long correlationId, Func<Maildrop, IEnumerable<DropMessage>> select)
    {
        if (_holder is not null)
        {
            Sender.Tell(new MaildropLocked(mailbox, correlationId));
            return;
        }

        Answer(mailbox, correlationId, () =>
        {
            var removed = _maildir.Remove(select(Listing()).Select(d => d.FileName).ToList());
            if (removed.Count > 0)
            {
                _log.Info("{Count} messages of {Mailbox} deleted over HTTP", removed.Count, mailbox);
            }

            PublishRemoved(mailbox, removed);
            return new MessagesDeleted(mailbox, correlationId, [.. removed.Select(UidOf)]);
        });
    }

    private void PublishRemoved(string mailbox, IEnumerable<string> fileNames)
    {
        foreach (var name in fileNames)
        {
            Publish(new MessageRemoved(mailbox, UidOf(name)));
        }
    }

    // A maildrop entry ("new/<name>", "cur/<name>:2,S") or a bare name.
    private static string UidOf(string entry) => MaildirName.Uid(Path.GetFileName(entry));

    private void Publish(MailboxEvent e)
    {
        if (_publish)
        {
            Context.System.EventStream.Publish(e);
        }
    }

    private static long CorrelationOf(object message) => message switch
    {
        CountMessages m => m.CorrelationId,
        ListMessages m => m.CorrelationId,
        ReadMessage m => m.CorrelationId,
        DeleteMessages m => m.CorrelationId,
        DeleteAllMessages m => m.CorrelationId,
        _ => 0,
    };

    private sealed class Delivery(IActorRef sender, DeliverMessage request)
    {
        public IActorRef Sender { get; } = sender;

        public DeliverMessage Request { get; } = request;

        // This request made the link in new/.
        public bool Linked { get; set; }

        // new/ holds the name, linked by this request or an earlier one.
        public bool InNew { get; set; }

        public bool Answered { get; set; }
    }

    // Deliveries gathered for the next sync are stored and answered before the actor stops, so
    // a handoff to another node fails none of them.
    // The first stop message goes to the back of the mailbox once more, so what was queued behind
    // it (at handoff, a delivery from another node's region can arrive after the shard's stop) is
    // still answered; the second stores the batch and stops. The handoff waits for this actor to
    // terminate before the mailbox starts elsewhere, so it stays the only writer.
    private void Stop()
    {
        if (!_stopping)
        {
            _stopping = true;
            Self.Tell(StopMailbox.Instance);
            return;
        }

        if (_batch.Count > 0)
        {
            Sync();
        }

        Context.Stop(Self);
    }

    /// <summary>Stops a mailbox actor once what it has accepted is answered: the message a shard sends at handoff.</summary>
    public sealed record StopMailbox
    {
        public static StopMailbox Instance { get; } = new();
    }

    private sealed record SyncDeliveries
    {
        public static SyncDeliveries Instance { get; } = new();
    }
}
