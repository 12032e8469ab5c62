using System.Text;
using System.Text.RegularExpressions;

namespace ActorMail.Protocol.Smtp;

/// <summary>
/// A fact of an SMTP session worth one Information line in its log, as a structured template and
/// its values: what was refused and why, never message content.
/// </summary>
/// <param name="Template">The log template, with one <c>{Name}</c> hole per value.</param>
/// <param name="Values">The values, in the order of the holes.</param>
public sealed partial record SmtpNote(string Template, IReadOnlyList<object> Values)
{
    /// <summary>A recipient refused by policy: unknown user, relaying, a non-ASCII address.</summary>
    public static SmtpNote RecipientRefused(string address, SmtpReply reply) =>
        new("Recipient {Recipient} refused: {Reply}", [Printable(address), reply.ToString()]);

    /// <summary>A body refused at the end of DATA (size, line length, NUL, bare newline under reject).</summary>
    public static SmtpNote MessageRefused(SmtpReply reply) => new("Message refused: {Reply}", [reply.ToString()]);

    /// <summary>A body with bare CR or LF, stored with CRLF under the normalize policy: one note per message, not per line.</summary>
    public static SmtpNote BareNewlineNormalized { get; } = new("Bare CR or LF in the message body stored as CRLF", []);

    /// <summary>A message every recipient's mailbox stored, with its queue id (the one in the 250 reply).</summary>
    public static SmtpNote MessageStored(string queueId, IEnumerable<string> mailboxes, long size) =>
        new("Message {QueueId} stored for {Recipients} ({Size} octets)", [queueId, string.Join(",", mailboxes), size]);

    /// <summary>A budget ran out and the session closes with 421 4.7.0.</summary>
    public static SmtpNote Closing(int count, string what) => new("Closing after {Count} {Limit}", [count, what]);

    /// <summary>The template with its values in place, as a plain-text log shows it.</summary>
    public override string ToString()
    {
        var i = 0;
        return Hole().Replace(Template, _ => i < Values.Count ? Values[i++].ToString() ?? string.Empty : string.Empty);
    }

    // Client text outside printable ASCII (an 8-bit address) is shown as '?', so it cannot disturb the log.
    private static string Printable(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            sb.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return sb.ToString();
    }

    [GeneratedRegex(@"\{[^{}]+\}")]
    private static partial Regex Hole();
}
