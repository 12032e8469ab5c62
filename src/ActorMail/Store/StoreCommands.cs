using ActorMail.Protocol.Store;
using System.Collections.Immutable;
using ActorMail.Protocol.Pop3;
using ActorMail.Protocol.Smtp;

namespace ActorMail.Store;

/// <summary>The messages sessions exchange with mailbox actors. Each request names its mailbox and a correlation id; each reply echoes both.</summary>
public static class StoreCommands
{
    /// <summary>Every message of this contract: each may cross between cluster nodes, so each has a binding to <see cref="StoreSerializer"/>.</summary>
    public interface IStoreMessage
    {
        string Mailbox { get; }
    }

    /// <summary>Anything the router forwards by mailbox id.</summary>
    public interface IMailboxCommand : IStoreMessage;

    /// <summary>Store the complete spool file as a new message in <see cref="Mailbox"/>, named <see cref="FileName"/> in new/; asked again, a mailbox that holds that name answers as stored.</summary>
    public sealed record DeliverMessage(string Mailbox, long CorrelationId, string SpoolPath, long Size, string FileName) : IMailboxCommand;

    /// <summary>The message is durable in new/ under <see cref="FileName"/>.</summary>
    public sealed record MessageDelivered(string Mailbox, long CorrelationId, string FileName) : IStoreMessage;

    /// <summary>Nothing was stored in <see cref="Mailbox"/>.</summary>
    public sealed record DeliveryFailed(string Mailbox, long CorrelationId, StoreFailure Failure, string Reason) : IStoreMessage;

    /// <summary>Take back a message delivered as part of a transaction that failed elsewhere.</summary>
    public sealed record RetractMessage(string Mailbox, string FileName) : IMailboxCommand;

    /// <summary>Grant the maildrop to the sending session alone, and snapshot it.</summary>
    public sealed record OpenMaildrop(string Mailbox, long CorrelationId) : IMailboxCommand;

    /// <summary>The maildrop is locked to the session; these are its messages for the whole session.</summary>
    public sealed record MaildropOpened(string Mailbox, long CorrelationId, Maildrop Messages) : IStoreMessage;

    /// <summary>Another live session holds the maildrop.</summary>
    public sealed record MaildropLocked(string Mailbox, long CorrelationId) : IStoreMessage;

    /// <summary>The maildrop could not be read; it is not locked.</summary>
    public sealed record MaildropFailed(string Mailbox, long CorrelationId, string Reason) : IStoreMessage;

    /// <summary>POP3 UPDATE: remove exactly these files, then release the maildrop.</summary>
    public sealed record CommitDeletions(string Mailbox, long CorrelationId, ImmutableArray<string> FileNames) : IMailboxCommand;

    /// <summary>The files are removed and the maildrop released.</summary>
    public sealed record DeletionsCommitted(string Mailbox, long CorrelationId, int Removed) : IStoreMessage;

    /// <summary>Some files could not be removed; the maildrop is released anyway.</summary>
    public sealed record DeletionsFailed(string Mailbox, long CorrelationId, string Reason) : IStoreMessage;

    /// <summary>The mailbox actor failed and restarted, or stopped (handoff, rebalance, its node leaving): the session that held the maildrop holds it no longer.</summary>
    public sealed record MaildropLost(string Mailbox) : IStoreMessage;

    /// <summary>Count the messages of <see cref="Mailbox"/> and their octets, from the file names alone.</summary>
    public sealed record CountMessages(string Mailbox, long CorrelationId) : IMailboxCommand;

    /// <summary>The mailbox holds <see cref="Messages"/> messages of <see cref="Octets"/> octets in all.</summary>
    public sealed record MessagesCounted(string Mailbox, long CorrelationId, int Messages, long Octets) : IStoreMessage;

    /// <summary>Summarise every message of <see cref="Mailbox"/>.</summary>
    public sealed record ListMessages(string Mailbox, long CorrelationId) : IMailboxCommand;

    /// <summary>The mailbox's messages, newest first.</summary>
    public sealed record MessagesListed(string Mailbox, long CorrelationId, ImmutableArray<MessageSummary> Messages) : IStoreMessage;

    /// <summary>Read the stored octets of the message whose id (its UIDL) is <see cref="Id"/>.</summary>
    public sealed record ReadMessage(string Mailbox, long CorrelationId, string Id) : IMailboxCommand;

    /// <summary>The message's stored octets, exactly as in the file.</summary>
    public sealed record MessageRead(string Mailbox, long CorrelationId, string Id, ImmutableArray<byte> Content) : IStoreMessage;

    /// <summary>No message of the mailbox has that id.</summary>
    public sealed record MessageNotFound(string Mailbox, long CorrelationId, string Id) : IStoreMessage;

    /// <summary>Delete the messages with these ids, unless a POP3 session holds the maildrop.</summary>
    public sealed record DeleteMessages(string Mailbox, long CorrelationId, ImmutableArray<string> Ids) : IMailboxCommand;

    /// <summary>Delete every message of the mailbox, unless a POP3 session holds the maildrop.</summary>
    public sealed record DeleteAllMessages(string Mailbox, long CorrelationId) : IMailboxCommand;

    /// <summary>These messages are removed, durably; an id not found is not among them.</summary>
    public sealed record MessagesDeleted(string Mailbox, long CorrelationId, ImmutableArray<string> Ids) : IStoreMessage;

    /// <summary>A count, listing, read or deletion failed on the disk.</summary>
    public sealed record RequestFailed(string Mailbox, long CorrelationId, string Reason) : IStoreMessage;
}

/// <summary>What mailbox actors publish on the actor system's event stream as their mailbox changes.</summary>
/// <param name="Mailbox">The mailbox.</param>
/// <param name="Id">The message's id (its UIDL).</param>
public abstract record MailboxEvent(string Mailbox, string Id);

/// <summary>A message was delivered and is durable.</summary>
public sealed record MessageArrived(string Mailbox, string Id, long Size) : MailboxEvent(Mailbox, Id);

/// <summary>A message was removed: by POP3 UPDATE, an HTTP delete, or a failed delivery taking it back.</summary>
public sealed record MessageRemoved(string Mailbox, string Id) : MailboxEvent(Mailbox, Id);
