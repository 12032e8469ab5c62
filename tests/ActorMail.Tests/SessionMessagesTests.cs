using Akka.IO;
using static ActorMail.Hosting.SessionMessages;

namespace ActorMail.Tests;

/// <summary>The end reason both sessions log when their connection fails under them.</summary>
public sealed class SessionMessagesTests
{
    [Fact]
    public void A_failed_write_or_an_error_close_names_itself_and_an_orderly_close_keeps_the_reason_so_far()
    {
        Assert.StartsWith("write failed: ", EndReason(new Tcp.CommandFailed(Tcp.Write.Empty)), StringComparison.Ordinal);
        Assert.Equal("connection error: reset by peer", EndReason(new Tcp.ErrorClosed("reset by peer")));
        Assert.StartsWith("connection error: ", EndReason(Tcp.Aborted.Instance), StringComparison.Ordinal);
        Assert.Null(EndReason(Tcp.Closed.Instance));
        Assert.Null(EndReason(Tcp.PeerClosed.Instance));
        Assert.Null(EndReason(Tcp.ConfirmedClosed.Instance));
    }
}
