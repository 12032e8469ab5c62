using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ActorMail.Protocol.Mail;

/// <summary>
/// The unique Maildir file name <c>&lt;sec&gt;.M&lt;usec&gt;P&lt;pid&gt;Q&lt;seq&gt;.&lt;host&gt;,S=&lt;octets&gt;</c>,
/// built and read without touching the disk. <c>S=</c> lets POP3 and the admin command size a
/// message from its name alone.
/// </summary>
public static class MaildirName
{
    /// <summary>
    /// Builds a name; the host has <c>/</c> and <c>:</c> escaped so the name stays one path element.
    /// Microseconds are zero-padded so that names sort as text in delivery order.
    /// </summary>
    public static string Build(DateTimeOffset time, int processId, long sequence, string host, long size)
    {
        var unixMicros = (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        var seconds = unixMicros / 1_000_000;
        var micros = unixMicros % 1_000_000;
        return string.Create(CultureInfo.InvariantCulture, $"{seconds}.M{micros:D6}P{processId}Q{sequence}.{EscapeHost(host)},S={size}");
    }

    /// <summary>Escapes the characters a Maildir host part may not hold.</summary>
    public static string EscapeHost(string host) =>
        host.Replace("/", "\\057", StringComparison.Ordinal).Replace(":", "\\072", StringComparison.Ordinal);

    /// <summary>The unique part of a name: everything before the <c>:2,</c> flags that cur/ adds.</summary>
    public static string UniquePart(string fileName)
    {
        var colon = fileName.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? fileName : fileName[..colon];
    }

    /// <summary>The unique part of a name without a new string.</summary>
    public static ReadOnlySpan<char> UniqueSpan(ReadOnlySpan<char> fileName)
    {
        var colon = fileName.IndexOf(':');
        return colon < 0 ? fileName : fileName[..colon];
    }

    /// <summary>True if the unique part of the name is its own UIDL (<see cref="Uid"/> needs no hash).</summary>
    public static bool IsOwnUid(ReadOnlySpan<char> fileName)
    {
        var unique = UniqueSpan(fileName);
        return unique.Length is > 0 and <= MessageId.MaxLength && !unique.ContainsAnyExceptInRange('!', '~');
    }

    /// <summary>
    /// The POP3 UIDL of a file name, which the HTTP API uses as the message id. RFC 1939 §7: a
    /// UID is 1 to 70 characters from 0x21 to 0x7E. The unique part of the name qualifies unless
    /// the host part makes it too long, then 40 hex digits of its SHA-256 stand in.
    /// </summary>
    public static string Uid(string fileName) =>
        IsOwnUid(fileName) ? UniquePart(fileName) : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(UniquePart(fileName))))[..40];

    /// <summary>Reads <c>S=</c> from a name; false if it has none.</summary>
    public static bool TryGetSize(ReadOnlySpan<char> fileName, out long size)
    {
        size = 0;
        var unique = UniqueSpan(fileName);
        var at = unique.LastIndexOf(",S=");
        if (at < 0)
        {
            return false;
        }

        var digits = unique[(at + 3)..];
        var comma = digits.IndexOf(',');
        if (comma >= 0)
        {
            digits = digits[..comma];
        }

        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out size);
    }

    /// <summary>Reads the delivery time (whole seconds) from the front of a name; false if it has none.</summary>
    public static bool TryGetTime(string fileName, out DateTimeOffset time)
    {
        time = default;
        var dot = fileName.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !long.TryParse(fileName.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > 253_402_300_799)
        {
            return false;
        }

        time = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }
}
