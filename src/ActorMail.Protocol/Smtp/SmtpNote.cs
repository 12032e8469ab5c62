using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Session;

namespace ActorMail.Protocol.Smtp;

/// <summary>The facts of an SMTP session that its log records, as <see cref="SessionNote"/>s.</summary>
public static class SmtpNote
{
    /// <summary>A recipient refused by policy: unknown user, relaying, a non-ASCII address.</summary>
    public static SessionNote RecipientRefused(string address, SmtpReply reply) =>
        new("Recipient {Recipient} refused: {Reply}", [SessionNote.Printable(address), reply.ToString()]);

    /// <summary>A body refused at the end of DATA (size, line length, NUL, bare newline under reject).</summary>
    public static SessionNote MessageRefused(SmtpReply reply) => new("Message refused: {Reply}", [reply.ToString()]);

    /// <summary>A body with bare CR or LF, stored with CRLF under the normalize policy: one note per message, not per line.</summary>
    public static SessionNote BareNewlineNormalized { get; } = new("Bare CR or LF in the message body stored as CRLF", []);

    /// <summary>A message every recipient's mailbox stored, with its queue id (the one in the 250 reply).</summary>
    public static SessionNote MessageStored(string queueId, IEnumerable<string> mailboxes, long size) =>
        new("Message {QueueId} stored for {Recipients} ({Size} octets)", [queueId, string.Join(",", mailboxes), size]);

    /// <summary>A budget ran out and the session closes with 421 4.7.0.</summary>
    public static SessionNote Closing(int count, string what) => new("Closing after {Count} {Limit}", [count, what]);

    /// <summary>A mailbox stored its copy after the message was answered 451: the copy is taken back.</summary>
    public static SessionNote LateCopyTakenBack(string mailbox) => new("Late delivery to {Mailbox} taken back", [mailbox], NoteLevel.Warning);

    /// <summary>Mailboxes that have not answered a delivery within the resend interval are asked again.</summary>
    public static SessionNote AskingAgain(IEnumerable<string> mailboxes) =>
        new("Mailboxes {Mailboxes} have not answered; asking again", [string.Join(",", mailboxes)], NoteLevel.Warning);

    /// <summary>AUTH succeeded: the session is signed in as <paramref name="user"/>.</summary>
    public static SessionNote SignedIn(string user) => new("{User} authenticated", [MailboxName.ForLog(user)]);

    /// <summary>An AUTH failed (the password checker logs the failure it checked; this is a detail).</summary>
    public static SessionNote AuthFailed(string user, int failures) =>
        new("Authentication failed for {User} ({Failures} so far)", [MailboxName.ForLog(user), failures], NoteLevel.Debug);

    /// <summary>Too many password checks wait in the checker: the client is asked to come back.</summary>
    public static SessionNote CheckerBusy(string user) =>
        new("Authentication of {User} refused: too many password checks waiting", [MailboxName.ForLog(user)], NoteLevel.Warning);
}
