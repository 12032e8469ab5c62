using ActorMail.Protocol.Session;

namespace ActorMail.Hosting;

/// <summary>Something a session tells the <see cref="Http.SessionJournal"/> (the session shell publishes them).</summary>
public abstract record JournalEntry;

/// <summary>A session began; <paramref name="States"/> are its protocol's states, for the diagram.</summary>
public sealed record SessionOpened(string Protocol, string Remote, IReadOnlyList<string> States) : JournalEntry;

/// <summary>
/// One command and the decision applied for it: the states before and after and the replies.
/// An empty <paramref name="Command"/> is the session's own step that finishes the previous
/// command (a checked password, an opened maildrop, a stored message).
/// </summary>
public sealed record CommandJournaled(string Before, string Command, IReadOnlyList<string> Replies, string After, string? User) : JournalEntry
{
    /// <summary>A command line as received; secrets are masked here, before anything is kept.</summary>
    public static CommandJournaled Of(object before, ReadOnlySpan<byte> line, IEnumerable<object> replies, object after, string? user = null) =>
        new(before.ToString()!, TranscriptMask.Command(line, line.Length), [.. replies.Select(r => r.ToString()!)], after.ToString()!, user);

    /// <summary>The end of a message body: only its size is kept.</summary>
    public static CommandJournaled Body(object before, long octets, IEnumerable<object> replies, object after) =>
        new(before.ToString()!, $"(message body, {octets} octets)", [.. replies.Select(r => r.ToString()!)], after.ToString()!, null);
}

/// <summary>The session ended, for <paramref name="Reason"/>.</summary>
public sealed record SessionEnded(string Reason) : JournalEntry;

/// <summary>An entry as published on the event stream: which session, and when.</summary>
public sealed record Journaled(string SessionId, DateTimeOffset At, JournalEntry Entry);
