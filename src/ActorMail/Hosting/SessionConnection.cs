using System.Text;
using Akka.Actor;
using Akka.IO;

namespace ActorMail.Hosting;

/// <summary>
/// A session's side of its Akka.IO connection: registration with the first reply, batched text
/// replies, and the close. Both protocols' sessions talk to the socket only through this.
/// </summary>
public sealed class SessionConnection(IActorRef connection)
{
    /// <summary>Registers <paramref name="session"/> (kept open after the peer's FIN, so what it sent is still answered) and writes the first line: the greeting, or the refusal followed by a close.</summary>
    public void Open(IActorRef session, bool refuse, string greeting, string refusal)
    {
        connection.Tell(new Tcp.Register(session, keepOpenOnPeerClosed: true, useResumeWriting: false));
        Write(refuse ? refusal : greeting);
        if (refuse)
        {
            Close();
        }
    }

    /// <summary>Writes the replies gathered so far in one write, and empties the buffer.</summary>
    public void Flush(StringBuilder replies)
    {
        if (replies.Length > 0)
        {
            Write(replies.ToString());
            replies.Clear();
        }
    }

    /// <summary>Writes <paramref name="before"/> (bytes already gathered) and then the replies, in one write, and empties the buffer.</summary>
    public void Flush(ByteString before, StringBuilder replies)
    {
        if (before.IsEmpty)
        {
            Flush(replies);
            return;
        }

        var bytes = replies.Length > 0 ? before.Concat(ByteString.FromString(replies.ToString(), Encoding.ASCII)) : before;
        replies.Clear();
        Write(bytes);
    }

    /// <summary>Writes bytes; <paramref name="ack"/>, if given, comes back once they are written.</summary>
    public void Write(ByteString bytes, Tcp.Event? ack = null) =>
        connection.Tell(ack is null ? Tcp.Write.Create(bytes) : Tcp.Write.Create(bytes, ack));

    /// <summary>Writes ASCII text.</summary>
    public void Write(string text) => connection.Tell(Tcp.Write.Create(ByteString.FromString(text, Encoding.ASCII)));

    /// <summary>Closes after everything written so far has gone out.</summary>
    public void Close() => connection.Tell(Tcp.Close.Instance);
}
