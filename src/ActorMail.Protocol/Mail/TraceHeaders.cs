using System.Globalization;
using System.Text;

namespace ActorMail.Protocol.Mail;

/// <summary>The trace lines RFC 5321 §4.4 asks a final-delivery server to prepend.</summary>
public static class TraceHeaders
{
    /// <summary>
    /// <c>Return-Path:</c> then <c>Received:</c> (helo name, remote address, session id, RFC 5322 date),
    /// folded with CRLF and a tab, ending with CRLF.
    /// </summary>
    public static byte[] Build(MailPath from, string heloName, string remoteAddress, string hostname, bool extended, string sessionId, DateTimeOffset now)
    {
        var protocol = extended ? "ESMTP" : "SMTP";
        var text =
            $"Return-Path: {from}\r\n" +
            $"Received: from {heloName} ([{remoteAddress}])\r\n" +
            $"\tby {hostname} (ActorMail) with {protocol} id {sessionId};\r\n" +
            $"\t{Rfc5322Date(now)}\r\n";
        return Encoding.ASCII.GetBytes(text);
    }

    /// <summary>An RFC 5322 date-time such as <c>Fri, 27 Nov 2026 07:44:46 +0000</c>.</summary>
    public static string Rfc5322Date(DateTimeOffset time)
    {
        var offset = time.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        var abs = offset.Duration();
        return string.Create(CultureInfo.InvariantCulture, $"{time:ddd, dd MMM yyyy HH:mm:ss} {sign}{abs.Hours:00}{abs.Minutes:00}");
    }
}
