namespace ActorMail.Protocol.Framing;

/// <summary>What to do with a CR or LF in a DATA body that is not part of a CRLF pair.</summary>
public enum BareNewlinePolicy
{
    /// <summary>Read to the terminator, then refuse the message with 550 5.5.2.</summary>
    Reject,

    /// <summary>Store the message with each bare CR or LF turned into CRLF.</summary>
    Normalize,
}
