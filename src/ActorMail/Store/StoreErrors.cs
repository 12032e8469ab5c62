using ActorMail.Protocol.Store;
using ActorMail.Protocol.Smtp;

namespace ActorMail.Store;

/// <summary>Maps an I/O error to the SMTP store failure it means.</summary>
public static class StoreErrors
{
    /// <summary>Full disk → <see cref="StoreFailure.Full"/> (452 4.3.1); anything else → <see cref="StoreFailure.Error"/> (451 4.3.0).</summary>
    public static StoreFailure Classify(Exception e) =>
        e is NativeIOException { Errno: Native.ENOSPC }
        || e.HResult == Native.ENOSPC
        || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
            ? StoreFailure.Full
            : StoreFailure.Error;
}
