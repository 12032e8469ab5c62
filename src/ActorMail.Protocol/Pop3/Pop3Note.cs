using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Session;

namespace ActorMail.Protocol.Pop3;

/// <summary>The facts of a POP3 session that its log records, as <see cref="SessionNote"/>s; never a password.</summary>
public static class Pop3Note
{
    /// <summary>The password was accepted; the maildrop is asked for.</summary>
    public static SessionNote SignedIn(string user) => new("{User} signed in", [user]);

    /// <summary>
    /// A sign-in failed. The password checker logs each failure it checked; what the throttle
    /// refused unchecked is logged once per window there, so this one is a detail.
    /// </summary>
    public static SessionNote SignInFailed(string? user, int failures) =>
        new("Sign-in failed for {User} ({Failures} so far)", [MailboxName.ForLog(user), failures], NoteLevel.Debug);

    /// <summary>Too many password checks wait in the checker: the client is asked to come back.</summary>
    public static SessionNote CheckerBusy(string? user) =>
        new("Sign-in of {User} refused: too many password checks waiting", [MailboxName.ForLog(user)], NoteLevel.Warning);

    /// <summary>The maildrop is open and locked for this session.</summary>
    public static SessionNote Opened(string user, int messages) => new("Maildrop of {User} opened: {Count} messages", [user, messages]);

    /// <summary>UPDATE removed the marked messages.</summary>
    public static SessionNote Removed(string user, int removed) => new("UPDATE removed {Removed} messages of {User}", [removed, user]);

    /// <summary>A message of the snapshot could not be opened for sending.</summary>
    public static SessionNote Unavailable(string user, string fileName) =>
        new("Message {FileName} of {User} could not be opened", [fileName, user], NoteLevel.Error);
}
