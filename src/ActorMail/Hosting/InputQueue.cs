using Akka.IO;

namespace ActorMail.Hosting;

/// <summary>
/// Received bytes not yet used by a session, in arrival order. A session that must wait (for
/// the store, a delay or a stream) leaves the rest here and takes it up again afterwards, so
/// pipelined commands are answered in order and never lost.
/// </summary>
public sealed class InputQueue
{
    private readonly Queue<ByteString> _chunks = new();
    private int _offset;

    /// <summary>True when nothing is waiting.</summary>
    public bool IsEmpty => _chunks.Count == 0;

    /// <summary>Octets received in all.</summary>
    public long TotalReceived { get; private set; }

    /// <summary>Adds a received chunk at the back.</summary>
    public void Enqueue(ByteString data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        TotalReceived += data.Count;
        _chunks.Enqueue(data);
    }

    /// <summary>Drops everything waiting; returns how many octets were dropped.</summary>
    public long Clear()
    {
        var dropped = _chunks.Sum(c => (long)c.Count) - _offset;
        _chunks.Clear();
        _offset = 0;
        return dropped;
    }

    /// <summary>The unused part of the front chunk.</summary>
    public ReadOnlySpan<byte> Current => _chunks.Peek().ToReadOnlySpan()[_offset..];

    /// <summary>Marks <paramref name="count"/> octets of <see cref="Current"/> as used.</summary>
    public void Advance(int count)
    {
        _offset += count;
        if (_offset >= _chunks.Peek().Count)
        {
            _chunks.Dequeue();
            _offset = 0;
        }
    }
}
