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
}
