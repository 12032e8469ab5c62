namespace ActorMail.Protocol.Store;

/// <summary>How a store attempt failed.</summary>
public enum StoreFailure
{
    /// <summary>An I/O error; SMTP answers 451 4.3.0.</summary>
    Error,

    /// <summary>No space left; SMTP answers 452 4.3.1.</summary>
    Full,
}

/// <summary>One message of a maildrop listing, as a mailbox reports it to POP3 and HTTP.</summary>
/// <param name="FileName">The file's name under the mailbox folder (<c>cur/…</c> or <c>new/…</c>).</param>
/// <param name="Uid">Its unique name: the POP3 UIDL and the HTTP id, stable across sessions, never reused.</param>
/// <param name="Size">Octets with CRLF line ends, from <c>S=</c>.</param>
public sealed record DropMessage(string FileName, string Uid, long Size);

/// <summary>One copy of a message a mailbox has linked into its <c>new/</c> folder.</summary>
/// <param name="Mailbox">The mailbox that holds it.</param>
/// <param name="FileName">Its file name in that mailbox.</param>
public sealed record StoredCopy(string Mailbox, string FileName);
