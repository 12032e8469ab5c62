using Akka.Actor;
using Akka.Event;
using Akka.IO;
using ActorMail.Protocol.Session;

namespace ActorMail.Hosting;

/// <summary>Messages between a listener, its sessions and the node's shutdown.</summary>
public static class SessionMessages
{
    /// <summary>The node is stopping: answer 421 (or -ERR) and close.</summary>
    public sealed record ShutdownSession
    {
        public static ShutdownSession Instance { get; } = new();
    }

    /// <summary>Stop accepting, tell every session to close, reply <see cref="Akka.Done"/> when none is left.</summary>
    public sealed record StopAccepting
    {
        public static StopAccepting Instance { get; } = new();
    }

    /// <summary>What a listener needs to start one session for a new connection.</summary>
    /// <param name="Connection">The Akka.IO connection actor.</param>
    /// <param name="Remote">The peer's address.</param>
    /// <param name="SessionId">A short id unique in this process, in every log line of the session.</param>
    /// <param name="Admission">Whether the listener admitted the connection; if not, the session answers the refusal and closes.</param>
    public sealed record SessionStart(IActorRef Connection, string Remote, string SessionId, Admission Admission = Admission.Accepted)
    {
        /// <summary>The client's address without its port.</summary>
        public string Address => Remote.LastIndexOf(':') is var colon and > 0 ? Remote[..colon] : Remote;

        /// <summary>The connection came to an implicit-TLS port: the handshake comes before the greeting.</summary>
        public bool ImplicitTls { get; init; }

        /// <summary>True if the client connected from a loopback address (127.0.0.0/8, ::1).</summary>
        public bool IsLoopback => System.Net.IPAddress.TryParse(Address.Trim('[', ']'), out var address)
            && System.Net.IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

        /// <summary><paramref name="log"/> with the properties every line of the session carries.</summary>
        public ILoggingAdapter Tag(ILoggingAdapter log, string protocol) =>
            log.WithContext("SessionId", SessionId).WithContext("Protocol", protocol).WithContext("Remote", Remote);
    }

    /// <summary>
    /// Why a session ends when its connection fails under it: a write refused, or a close with an
    /// error. Null for an orderly close, where the reason the session already has stands.
    /// </summary>
    public static string? EndReason(object connectionEvent) => connectionEvent switch
    {
        Tcp.CommandFailed failed => $"write failed: {failed.Cmd}",
        Tcp.ConnectionClosed closed when closed.IsErrorClosed || closed.IsAborted => $"connection error: {closed.Cause}",
        _ => null,
    };
}
