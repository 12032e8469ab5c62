using System.Collections.Immutable;
using ActorMail.Configuration;
using ActorMail.Protocol.Session;
using ActorMail.Hosting;
using Akka.Actor;

namespace ActorMail.Http;

/// <summary>One command of a kept transcript.</summary>
public sealed record TranscriptLine(string Before, string Command, ImmutableArray<string> Replies, string After);

/// <summary>A kept session, as the sessions endpoints answer it.</summary>
public sealed record SessionRecord(
    string Id,
    string Protocol,
    string Remote,
    string? User,
    DateTimeOffset Start,
    long DurationMs,
    string? End,
    int CommandsNotKept,
    ImmutableArray<string> States,
    ImmutableArray<TranscriptLine> Transcript);

/// <summary>Questions to the <see cref="SessionJournal"/> and its answers.</summary>
public static class SessionJournalCommands
{
    /// <summary>The kept sessions, newest first, that <paramref name="User"/> may see (null: all).</summary>
    public sealed record ListSessions(string? User);

    /// <summary>The answer to <see cref="ListSessions"/>, without transcripts.</summary>
    public sealed record SessionsListed(ImmutableArray<SessionRecord> Sessions);

    /// <summary>One session with its transcript, if kept and visible to <paramref name="User"/> (null: any).</summary>
    public sealed record ReadSession(string Id, string? User);

    /// <summary>The answer to <see cref="ReadSession"/>: null if there is no such session for that user.</summary>
    public sealed record SessionRead(SessionRecord? Session);
}

/// <summary>
/// Keeps the last <c>actormail.journal.sessions</c> SMTP and POP3 sessions of this process in
/// memory, each with at most <c>actormail.journal.commands</c> commands, from the entries the
/// sessions publish on the event stream. A user sees the sessions they signed in with; an admin
/// sees all. Nothing secret arrives here: sessions mask passwords and keep only body sizes.
/// </summary>
public sealed class SessionJournal : ReceiveActor
{
    /// <summary>The actor's name under /user.</summary>
    public const string Name = "session-journal";

    private readonly JournalOptions _options;
    private readonly Dictionary<string, Kept> _sessions = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public SessionJournal(JournalOptions options)
    {
        _options = options;
        Receive<Journaled>(Keep);
        Receive<SessionJournalCommands.ListSessions>(q => Sender.Tell(new SessionJournalCommands.SessionsListed(
            [.. _order.Reverse().Select(id => _sessions[id]).Where(s => Visible(s, q.User)).Select(s => s.Snapshot(transcript: false))])));
        Receive<SessionJournalCommands.ReadSession>(q => Sender.Tell(new SessionJournalCommands.SessionRead(
            _sessions.TryGetValue(q.Id, out var s) && Visible(s, q.User) ? s.Snapshot(transcript: true) : null)));
    }

    public static Props Props(JournalOptions options) => Akka.Actor.Props.Create(() => new SessionJournal(options));

    private static bool Visible(Kept session, string? user) => user is null || session.User == user;

    private void Keep(Journaled j)
    {
        if (j.Entry is SessionOpened opened)
        {
            while (_order.Count >= _options.Sessions)
            {
                _sessions.Remove(_order.Dequeue());
            }

            _order.Enqueue(j.SessionId);
            _sessions[j.SessionId] = new Kept(j.SessionId, opened, j.At);
            return;
        }

        // A session dropped to make room (or opened before the journal started) is not kept.
        if (!_sessions.TryGetValue(j.SessionId, out var session))
        {
            return;
        }

        switch (j.Entry)
        {
            case CommandJournaled command:
                session.User ??= command.User;
                if (session.Transcript.Count < _options.Commands)
                {
                    session.Transcript.Add(new TranscriptLine(command.Before, Cut(command.Command), Lines(command.Replies), command.After));
                }
                else
                {
                    session.CommandsNotKept++;
                }

                break;
            case SessionEnded ended:
                session.End = ended.Reason;
                session.Ended = j.At;
                break;
        }
    }

    // Each reply cut to reply-lines lines of line-chars characters.
    private ImmutableArray<string> Lines(IReadOnlyList<string> replies)
    {
        var lines = replies.SelectMany(r => r.Split("\r\n")).ToList();
        var kept = lines.Take(_options.ReplyLines).Select(Cut);
        return lines.Count > _options.ReplyLines ? [.. kept, $"… {lines.Count - _options.ReplyLines} more lines"] : [.. kept];
    }

    private string Cut(string line) => line.Length > _options.LineChars ? string.Concat(line.AsSpan(0, _options.LineChars), "…") : line;

    // The actor's own state of one session; only snapshots of it leave the actor.
    private sealed class Kept(string id, SessionOpened opened, DateTimeOffset start)
    {
        public string? User { get; set; }

        public string? End { get; set; }

        public DateTimeOffset? Ended { get; set; }

        public int CommandsNotKept { get; set; }

        public List<TranscriptLine> Transcript { get; } = [];

        public SessionRecord Snapshot(bool transcript) => new(
            id,
            opened.Protocol,
            opened.Remote,
            User,
            start,
            (long)((Ended ?? DateTimeOffset.UtcNow) - start).TotalMilliseconds,
            End,
            CommandsNotKept,
            transcript ? [.. opened.States] : [],
            transcript ? [.. Transcript] : []);
    }
}
