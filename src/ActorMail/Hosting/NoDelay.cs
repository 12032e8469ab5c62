using System.Net.Sockets;
using Akka.IO;

namespace ActorMail.Hosting;

/// <summary>
/// Turns off Nagle's algorithm on each accepted connection. Every write is a whole reply (or a whole
/// RETR chunk), so holding a small reply back for coalescing only adds a delayed-ACK stall (~40 ms)
/// to the next round trip of a pipelining client.
/// </summary>
public sealed class NoDelay : Inet.SocketOption
{
    public static NoDelay Instance { get; } = new();

    public override void AfterConnect(Socket s) => s.NoDelay = true;
}
