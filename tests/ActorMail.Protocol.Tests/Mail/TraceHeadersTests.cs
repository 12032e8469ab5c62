using System.Text;
using ActorMail.Protocol.Mail;

namespace ActorMail.Protocol.Tests.Mail;

public class TraceHeadersTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 7, 44, 46, TimeSpan.Zero);

    [Fact]
    public void BuildWritesReturnPathAndAFoldedReceivedLine()
    {
        var bytes = TraceHeaders.Build(new MailPath("alice", "remote.test"), "client.test", "192.0.2.7", "mx.test", true, "S1a2b", Now);

        Assert.Equal(
            "Return-Path: <alice@remote.test>\r\n" +
            "Received: from client.test ([192.0.2.7])\r\n" +
            "\tby mx.test (ActorMail) with ESMTP id S1a2b;\r\n" +
            "\tFri, 27 Nov 2026 07:44:46 +0000\r\n",
            Encoding.ASCII.GetString(bytes));
    }

    [Theory]
    [InlineData(true, "with ESMTP id")]
    [InlineData(false, "with SMTP id")]
    public void ProtocolIsEsmtpOnlyAfterEhlo(bool extended, string expected)
    {
        var text = Encoding.ASCII.GetString(TraceHeaders.Build(MailPath.Null, "c", "198.51.100.1", "mx", extended, "id1", Now));

        Assert.Contains(expected, text, StringComparison.Ordinal);
    }

    [Fact]
    public void NullSenderGivesAnEmptyReturnPath()
    {
        var text = Encoding.ASCII.GetString(TraceHeaders.Build(MailPath.Null, "c", "198.51.100.1", "mx", true, "id1", Now));

        Assert.StartsWith("Return-Path: <>\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryLineEndsInCrlfAndContinuationLinesStartWithATab()
    {
        var text = Encoding.ASCII.GetString(TraceHeaders.Build(new MailPath("a", "b.test"), "c", "::1", "mx", true, "id", Now));

        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
        var lines = text[..^2].Split("\r\n");
        Assert.Equal(4, lines.Length);
        Assert.All(lines, line => Assert.DoesNotContain('\n', line));
        Assert.All(lines, line => Assert.DoesNotContain('\r', line));
        Assert.StartsWith("Return-Path: ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("Received: ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("\t", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("\t", lines[3], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2026, 11, 27, 7, 44, 46, 0, "Fri, 27 Nov 2026 07:44:46 +0000")]
    [InlineData(2026, 3, 1, 23, 5, 9, 0, "Sun, 01 Mar 2026 23:05:09 +0000")]
    [InlineData(2024, 2, 29, 12, 0, 0, -300, "Thu, 29 Feb 2024 12:00:00 -0500")]
    [InlineData(2025, 7, 4, 18, 30, 0, -210, "Fri, 04 Jul 2025 18:30:00 -0330")]
    [InlineData(2025, 1, 15, 8, 0, 0, -30, "Wed, 15 Jan 2025 08:00:00 -0030")]
    [InlineData(2025, 12, 31, 23, 59, 59, 345, "Wed, 31 Dec 2025 23:59:59 +0545")]
    public void Rfc5322DateUsesTheLocalClockAndItsOffset(int year, int month, int day, int hour, int minute, int second, int offsetMinutes, string expected)
    {
        var time = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.FromMinutes(offsetMinutes));

        Assert.Equal(expected, TraceHeaders.Rfc5322Date(time));
    }
}
