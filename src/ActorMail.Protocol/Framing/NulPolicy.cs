namespace ActorMail.Protocol.Framing;

/// <summary>What to do with a NUL octet in a DATA body.</summary>
public enum NulPolicy
{
    /// <summary>Read to the terminator, then refuse the message with 554 5.6.0.</summary>
    Reject,

    /// <summary>Store it unchanged.</summary>
    Accept,
}
