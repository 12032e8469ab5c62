using Akka.Actor;
using Akka.IO;

namespace ActorMail.Hosting;

/// <summary>
/// Stops reading a connection when input arrives while its session waits (for the store, a
/// delay, a stream), and starts again once the session can take input. A client that waits for
/// each reply never sees the gate close, so the common case costs no extra messages.
/// </summary>
public sealed class ReadGate(IActorRef connection)
{
    private bool _closed;

    /// <summary>Input came in while the session could not use it: stop reading until <see cref="Open"/>.</summary>
    public void InputWhileWaiting()
    {
        if (!_closed)
        {
            _closed = true;
            connection.Tell(Tcp.SuspendReading.Instance);
        }
    }

    /// <summary>The session takes input again.</summary>
    public void Open()
    {
        if (_closed)
        {
            _closed = false;
            connection.Tell(Tcp.ResumeReading.Instance);
        }
    }
}
