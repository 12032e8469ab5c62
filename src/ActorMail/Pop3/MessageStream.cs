using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Pop3;
using Akka.IO;

namespace ActorMail.Pop3;

/// <summary>
/// A message file read in chunks and dot-stuffed for RETR or TOP. Owned by one session; the file
/// cannot vanish meanwhile because only the session holding the maildrop may delete from it.
/// </summary>
public sealed class MessageStream : IDisposable
{
    private readonly FileStream _file;
    private readonly DotStuffer _stuffer = new();
    private readonly TopFilter? _top;
    private readonly byte[] _buffer;

    private MessageStream(FileStream file, int? bodyLines, int chunkSize)
    {
        _file = file;
        _top = bodyLines is { } k ? new TopFilter(k) : null;
        _buffer = new byte[chunkSize];
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

    /// <summary>The next stuffed chunk, or null at the end (of the file, or of what TOP sends).</summary>
    public ByteString? Next()
    {
        while (_top is null || !_top.Done)
        {
            var read = _file.Read(_buffer);
            if (read == 0)
            {
                return null;
            }

            var part = _top is null ? _buffer.AsSpan(0, read) : _top.Take(_buffer.AsSpan(0, read));
            if (part.IsEmpty)
            {
                continue;
            }

            var output = new byte[DotStuffer.OutputSizeFor(part.Length)];
            var written = _stuffer.Encode(part, output);
            return ByteString.FromBytes(output, 0, written);
        }

        return null;
    }

    /// <summary>The end of the multi-line response.</summary>
    public ByteString Terminator() => ByteString.CopyFrom(_stuffer.Terminator().ToArray());

    public void Dispose() => _file.Dispose();
}
