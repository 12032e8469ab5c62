using Akka.Actor;

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

    /// <summary>Asks a listener for the address it is bound to.</summary>
    public sealed record GetBoundAddress
    {
        public static GetBoundAddress Instance { get; } = new();
    }

    /// <summary>What a listener needs to start one session for a new connection.</summary>
    /// <param name="Connection">The Akka.IO connection actor.</param>
    /// <param name="Remote">The peer's address.</param>
    /// <param name="SessionId">A short id unique in this process, in every log line of the session.</param>
    /// <param name="Refuse">True when over the connection limit: answer the refusal and close.</param>
    public sealed record SessionStart(IActorRef Connection, string Remote, string SessionId, bool Refuse);
}
