using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Pop3;
using Akka.IO;

namespace ActorMail.Pop3;

/// <summary>
/// A message file read in chunks and dot-stuffed for RETR or TOP. Owned by one session; the file
/// cannot vanish meanwhile because only the session holding the maildrop may delete from it.
/// </summary>
public sealed class MessageStream : IReplyStream
{
    private readonly FileStream _file;
    private readonly DotStuffer _stuffer = new();
    private readonly TopFilter? _top;
    private readonly byte[] _buffer;

    private MessageStream(FileStream file, int? bodyLines, int chunkSize)
    {
        _file = file;
        _top = bodyLines is { } k ? new TopFilter(k) : null;
        // No larger than the file: a 2 KiB message no longer costs a 64 KiB array per RETR.
        _buffer = new byte[(int)Math.Clamp(file.Length, 1, chunkSize)];
    }

    /// <summary>Opens the file, or returns null if it cannot be read.</summary>
    public static MessageStream? Open(string path, int? bodyLines, int chunkSize)
    {
        try
        {
            return new MessageStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1), bodyLines, chunkSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The next stuffed chunk. When it is the last one (end of the file, or of what TOP sends) the
    /// terminator is already appended and <paramref name="last"/> is true, so a small message goes
    /// out in one write.
    /// </summary>
    public ByteString Next(out bool last)
    {
        var chunk = ByteString.Empty;
        last = true;
        while (_top is null || !_top.Done)
        {
            var read = _file.Read(_buffer);
            if (read == 0)
            {
                break;
            }

            var part = _top is null ? _buffer.AsSpan(0, read) : _top.Take(_buffer.AsSpan(0, read));
            if (part.IsEmpty)
            {
                continue;
            }

            var output = new byte[DotStuffer.OutputSizeFor(part.Length)];
            var written = _stuffer.Encode(part, output);
            chunk = ByteString.FromBytes(output, 0, written);
            last = _file.Position >= _file.Length || (_top?.Done ?? false);
            break;
        }

        return last ? chunk.Concat(ByteString.CopyFrom(_stuffer.Terminator().ToArray())) : chunk;
    }

    public void Dispose() => _file.Dispose();
}
