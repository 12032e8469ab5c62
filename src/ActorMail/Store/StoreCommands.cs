using System.Collections.Immutable;
using ActorMail.Protocol.Pop3;
using ActorMail.Protocol.Smtp;

namespace ActorMail.Store;

/// <summary>The messages sessions exchange with mailbox actors. Each request names its mailbox and a correlation id; each reply echoes both.</summary>
public static class StoreCommands
{
    /// <summary>Anything the router forwards by mailbox id.</summary>
    public interface IMailboxCommand
    {
        string Mailbox { get; }
    }

    /// <summary>Store the complete, fsynced spool file as a new message in <see cref="Mailbox"/>.</summary>
    public sealed record DeliverMessage(string Mailbox, long CorrelationId, string SpoolPath, long Size) : IMailboxCommand;

    /// <summary>The message is durable in new/ under <see cref="FileName"/>.</summary>
    public sealed record MessageDelivered(string Mailbox, long CorrelationId, string FileName);

    /// <summary>Nothing was stored in <see cref="Mailbox"/>.</summary>
    public sealed record DeliveryFailed(string Mailbox, long CorrelationId, StoreFailure Failure, string Reason);

    /// <summary>Take back a message delivered as part of a transaction that failed elsewhere.</summary>
    public sealed record RetractMessage(string Mailbox, string FileName) : IMailboxCommand;

    /// <summary>Grant the maildrop to the sending session alone, and snapshot it.</summary>
    public sealed record OpenMaildrop(string Mailbox, long CorrelationId) : IMailboxCommand;

    /// <summary>The maildrop is locked to the session; these are its messages for the whole session.</summary>
    public sealed record MaildropOpened(string Mailbox, long CorrelationId, ImmutableArray<DropMessage> Messages);

    /// <summary>Another live session holds the maildrop.</summary>
    public sealed record MaildropLocked(string Mailbox, long CorrelationId);

    /// <summary>The maildrop could not be read; it is not locked.</summary>
    public sealed record MaildropFailed(string Mailbox, long CorrelationId, string Reason);

    /// <summary>POP3 UPDATE: remove exactly these files, then release the maildrop.</summary>
    public sealed record CommitDeletions(string Mailbox, long CorrelationId, ImmutableArray<string> FileNames) : IMailboxCommand;

    /// <summary>The files are removed and the maildrop released.</summary>
    public sealed record DeletionsCommitted(string Mailbox, long CorrelationId, int Removed);

    /// <summary>Some files could not be removed; the maildrop is released anyway.</summary>
    public sealed record DeletionsFailed(string Mailbox, long CorrelationId, string Reason);

    /// <summary>The mailbox actor failed and restarted: the session that held the maildrop holds it no longer.</summary>
    public sealed record MaildropLost(string Mailbox);
}
