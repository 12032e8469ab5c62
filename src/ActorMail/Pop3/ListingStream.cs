using ActorMail.Protocol.Pop3;
using Akka.IO;

namespace ActorMail.Pop3;

/// <summary>The lines of a multi-line LIST or UIDL as chunks for the session to write one at a time.</summary>
public sealed class ListingStream(Pop3Listing listing, int chunkSize) : IReplyStream
{
    /// <inheritdoc/>
    public ByteString Next(out bool last)
    {
        // No larger than what is left: a listing of three messages does not cost a whole chunk.
        var chunk = new byte[Math.Clamp(listing.Remaining, Pop3Listing.MinimumChunk, Math.Max(chunkSize, Pop3Listing.MinimumChunk))];
        var written = listing.Fill(chunk);
        last = listing.Done;
        return ByteString.FromBytes(chunk, 0, written);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}

/// <summary>What a session streams after a reply, a chunk per acknowledged write: a message, or a listing.</summary>
public interface IReplyStream : IDisposable
{
    /// <summary>The next chunk; <paramref name="last"/> is true when it ends the stream (terminator included).</summary>
    ByteString Next(out bool last);
}
