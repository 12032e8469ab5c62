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
}
