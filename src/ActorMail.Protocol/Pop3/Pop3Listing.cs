using System.Buffers.Text;
using System.Collections.Immutable;
using ActorMail.Protocol.Store;

namespace ActorMail.Protocol.Pop3;

/// <summary>What a multi-line LIST or UIDL shows of each message.</summary>
public enum ListingKind
{
    /// <summary>LIST: <c>n size</c>.</summary>
    Sizes,

    /// <summary>UIDL: <c>n uid</c>.</summary>
    Uids,
}

/// <summary>
/// The lines of a multi-line LIST or UIDL, rendered straight from the snapshot into chunks of
/// octets, the terminating dot after the last. A listing of 100,000 messages is never held
/// whole, neither as strings nor as one buffer: the session writes a chunk, waits for its
/// acknowledgement, and asks for the next. No line needs dot-stuffing: each starts with a digit.
/// </summary>
public sealed class Pop3Listing
{
    // A 10-digit number, a space, a UID of 70 characters (longer than a 19-digit size), CRLF.
    private const int LongestLine = 10 + 1 + Mail.MessageId.MaxLength + 2;

    private readonly Maildrop _messages;
    private readonly ImmutableHashSet<int> _deleted;
    private readonly ListingKind _kind;
    private int _next;

    /// <summary>A listing of the messages of <paramref name="messages"/> not in <paramref name="deleted"/> (numbers from 1).</summary>
    public Pop3Listing(Maildrop messages, ImmutableHashSet<int> deleted, ListingKind kind)
    {
        _messages = messages;
        _deleted = deleted;
        _kind = kind;
    }

    /// <summary>The smallest chunk <see cref="Fill"/> takes: two of the longest lines.</summary>
    public const int MinimumChunk = 2 * LongestLine;

    /// <summary>Every line and the terminator have been rendered.</summary>
    public bool Done { get; private set; }

    /// <summary>
    /// The octets still to render are at most this many.
    /// </summary>
    public long Remaining => (long)(_messages.Count - _next) * LongestLine + (Done ? 0 : 3);

    /// <summary>
    /// Renders the next lines into <paramref name="output"/> (<see cref="MinimumChunk"/> octets at least) and returns
    /// how many octets were written; the terminator comes with the last lines and sets <see cref="Done"/>.
    /// </summary>
    public int Fill(Span<byte> output)
    {
        if (output.Length < MinimumChunk)
        {
            throw new ArgumentException("a listing chunk holds at least two lines", nameof(output));
        }

        var written = 0;
        while (_next < _messages.Count && output.Length - written >= LongestLine)
        {
            var index = _next++;
            if (_deleted.Contains(index + 1))
            {
                continue;
            }

            written += Line(index, output[written..]);
        }

        if (_next == _messages.Count && !Done && output.Length - written >= 3)
        {
            ".\r\n"u8.CopyTo(output[written..]);
            written += 3;
            Done = true;
        }

        return written;
    }

    /// <summary>The whole listing as text, CRLF line ends and the terminator included (for tests and small listings).</summary>
    public static string Render(Maildrop messages, ImmutableHashSet<int> deleted, ListingKind kind)
    {
        var listing = new Pop3Listing(messages, deleted, kind);
        var buffer = new byte[4096];
        var text = new System.Text.StringBuilder();
        while (!listing.Done)
        {
            text.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, listing.Fill(buffer)));
        }

        return text.ToString();
    }

    private int Line(int index, Span<byte> output)
    {
        Utf8Formatter.TryFormat(index + 1, output, out var at);
        output[at++] = (byte)' ';
        if (_kind == ListingKind.Sizes)
        {
            Utf8Formatter.TryFormat(_messages.SizeOf(index), output[at..], out var digits);
            at += digits;
        }
        else
        {
            var uid = _messages.UidBytes(index);
            uid.CopyTo(output[at..]);
            at += uid.Length;
        }

        output[at++] = (byte)'\r';
        output[at++] = (byte)'\n';
        return at;
    }
}
