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

    public MailboxActor(NodeOptions options, string mailbox)
    {
        _maildir = new Maildir(options.DataRoot, mailbox);
        Receive<DeliverMessage>(Deliver);
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
