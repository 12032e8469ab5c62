using System.Collections.Immutable;
using System.Threading.Channels;
using ActorMail.Store;
using Akka.Actor;
using Akka.Event;

namespace ActorMail.Http;

/// <summary>Messages between the events endpoint and the <see cref="EventHub"/>.</summary>
public static class EventHubCommands
{
    /// <summary>
    /// Start sending the events of <paramref name="Mailboxes"/> (null: every mailbox) to
    /// <paramref name="Writer"/>, a bounded channel whose only writer is the hub from now on.
    /// </summary>
    public sealed record Listen(long ListenerId, ChannelWriter<MailboxEvent> Writer, ImmutableHashSet<string>? Mailboxes);

    /// <summary>The hub follows the mailboxes for that listener: every event from now on reaches it.</summary>
    public sealed record Listening(long ListenerId);

    /// <summary>The events client has gone.</summary>
    public sealed record StopListening(long ListenerId);
}

/// <summary>
/// Fans the mailbox actors' <see cref="MailboxEvent"/>s out to the /api/v1/events clients. Each
/// client has a bounded channel (actormail.http.event-buffer): one that falls that far behind
/// has its channel completed, which ends its stream with an "overflow" event, so a slow reader
/// costs bounded memory and never holds up the mailboxes.
/// </summary>
public sealed class EventHub : ReceiveActor
{
    /// <summary>The actor's name under /user.</summary>
    public const string Name = "http-events";

    private readonly Dictionary<long, EventHubCommands.Listen> _listeners = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _following;

    public EventHub()
    {
        Receive<EventHubCommands.Listen>(l =>
        {
            _listeners[l.ListenerId] = l;
            Follow();
            Sender.Tell(new EventHubCommands.Listening(l.ListenerId));
        });
        Receive<EventHubCommands.StopListening>(s =>
        {
            _listeners.Remove(s.ListenerId);
            Follow();
        });
        Receive<MailboxEvent>(e =>
        {
            foreach (var listener in _listeners.Values.Where(l => l.Mailboxes is null || l.Mailboxes.Contains(e.Mailbox)).ToList())
            {
                if (!listener.Writer.TryWrite(e))
                {
                    _log.Warning("Events client {ListenerId} fell a whole buffer behind: its stream ends", listener.ListenerId);
                    listener.Writer.TryComplete(new ChannelClosedException("overflow"));
                    _listeners.Remove(listener.ListenerId);
                }
            }

            Follow();
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new EventHub());

    // Subscribed to the event stream only while a client listens: with none, a delivery's
    // publish finds no subscriber and costs the mailbox actor next to nothing.
    private void Follow()
    {
        if (_listeners.Count > 0 && !_following)
        {
            _following = Context.System.EventStream.Subscribe(Self, typeof(MailboxEvent));
        }
        else if (_listeners.Count == 0 && _following)
        {
            Context.System.EventStream.Unsubscribe(Self, typeof(MailboxEvent));
            _following = false;
        }
    }

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        foreach (var listener in _listeners.Values)
        {
            listener.Writer.TryComplete();
        }
    }
}
