using System.Text;

namespace ActorMail.Protocol.Session;

/// <summary>The text a session transcript keeps of a command line: secrets masked, length bounded.</summary>
public static class TranscriptMask
{
    private const string Mask = "****";

    /// <summary>
    /// The line as text, cut at <paramref name="maxChars"/>: the argument of PASS, the digest of
    /// APOP and the initial response of AUTH become ****; control octets are shown as \xNN.
    /// </summary>
    public static string Command(ReadOnlySpan<byte> line, int maxChars)
    {
        var text = Printable(line);
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        if (space > 0)
        {
            var verb = text[..space];
            var rest = text[(space + 1)..].TrimStart(' ');
            if (verb.Equals("PASS", StringComparison.OrdinalIgnoreCase))
            {
                text = $"{verb} {Mask}";
            }
            else if ((verb.Equals("APOP", StringComparison.OrdinalIgnoreCase) || verb.Equals("AUTH", StringComparison.OrdinalIgnoreCase))
                && rest.IndexOf(' ', StringComparison.Ordinal) is var second and > 0)
            {
                // APOP keeps the user, AUTH the mechanism; what follows is the secret.
                text = $"{verb} {rest[..second]} {Mask}";
            }
        }

        return text.Length > maxChars ? string.Concat(text.AsSpan(0, maxChars), "…") : text;
    }

    private static string Printable(ReadOnlySpan<byte> line)
    {
        var text = new StringBuilder(line.Length);
        foreach (var b in line)
        {
            if (b is < 0x20 or 0x7f)
            {
                text.Append($"\\x{b:x2}");
            }
            else
            {
                text.Append((char)b);
            }
        }

        return text.ToString();
    }
}
