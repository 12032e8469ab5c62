using System.Text;

namespace ActorMail.Protocol.Session;

/// <summary>What the session shell reads of any protocol's decision: where the session goes, and why it ends if it does.</summary>
/// <typeparam name="TState">The protocol's states.</typeparam>
/// <typeparam name="TData">The protocol's immutable session data.</typeparam>
public interface ISessionDecision<out TState, out TData>
{
    /// <summary>The next state.</summary>
    TState State { get; }

    /// <summary>The session's data after this step.</summary>
    TData Data { get; }

    /// <summary>Why the session ends, for its summary line; null while it goes on.</summary>
    string? Ends { get; }

    /// <summary>Facts of this step for the session's log, one line each.</summary>
    IReadOnlyList<SessionNote> Notes { get; }

    /// <summary>The replies of this step, in order.</summary>
    IReadOnlyList<ISessionReply> Said { get; }
}

/// <summary>A reply of any protocol, as it goes on the wire.</summary>
public interface ISessionReply
{
    /// <summary>The reply's octets as text, CRLF line ends included.</summary>
    string Render();
}

/// <summary>Writing replies out.</summary>
public static class SessionReplies
{
    /// <summary>Appends <paramref name="replies"/>, as they go on the wire, to <paramref name="wire"/>.</summary>
    public static void AppendTo(this IEnumerable<ISessionReply> replies, StringBuilder wire)
    {
        foreach (var reply in replies)
        {
            wire.Append(reply.Render());
        }
    }
}

/// <summary>
/// The inputs every session meets whatever its protocol, as the session shell asks them of a
/// decider. Static, like the deciders: a decider is pure functions, not an object.
/// </summary>
/// <typeparam name="TState">The protocol's states.</typeparam>
/// <typeparam name="TData">The protocol's immutable session data.</typeparam>
/// <typeparam name="TDecision">The protocol's decision.</typeparam>
public interface ISessionDecider<TState, TData, TDecision>
    where TDecision : ISessionDecision<TState, TData>
{
    /// <summary>True in the states that read command lines, which the idle timeout covers.</summary>
    static abstract bool ReadsCommands(TState state);

    /// <summary>True in the states whose line is a secret (a SASL response): never logged, masked in the journal.</summary>
    static abstract bool ReadsSecret(TState state);

    /// <summary>No input for the idle timeout.</summary>
    static abstract TDecision Idle(TData data);

    /// <summary>A command line or body did not finish within its time limit.</summary>
    static abstract TDecision TransferTimedOut(TData data);

    /// <summary>The session has lasted as long as a session may.</summary>
    static abstract TDecision LifetimeOver(TState state, TData data);

    /// <summary>The node is stopping.</summary>
    static abstract TDecision Shutdown(TState state, TData data);

    /// <summary>The client half-closed and all it sent before has been decided.</summary>
    static abstract TDecision PeerClosed(TState state, TData data);

    /// <summary>The TLS handshake the decider asked for finished; <paramref name="description"/> names the version and cipher suite.</summary>
    static abstract TDecision TlsEstablished(TData data, string description);

    /// <summary>The TLS handshake the decider asked for failed or did not finish in time.</summary>
    static abstract TDecision TlsFailed(TData data, string reason);
}
