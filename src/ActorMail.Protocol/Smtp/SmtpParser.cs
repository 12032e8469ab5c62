using System.Globalization;
using ActorMail.Protocol.Mail;

namespace ActorMail.Protocol.Smtp;

/// <summary>The MAIL FROM arguments once parsed.</summary>
public sealed record MailFromArgs(MailPath From, long? DeclaredSize, bool EightBit);

/// <summary>Pure parsing of SMTP command lines and their arguments: no state, no I/O.</summary>
public static class SmtpParser
{
    private static readonly Dictionary<string, SmtpVerb> Verbs = new(StringComparer.OrdinalIgnoreCase)
    {
        ["HELO"] = SmtpVerb.Helo,
        ["EHLO"] = SmtpVerb.Ehlo,
        ["MAIL"] = SmtpVerb.Mail,
        ["RCPT"] = SmtpVerb.Rcpt,
        ["DATA"] = SmtpVerb.Data,
        ["RSET"] = SmtpVerb.Rset,
        ["NOOP"] = SmtpVerb.Noop,
        ["VRFY"] = SmtpVerb.Vrfy,
        ["HELP"] = SmtpVerb.Help,
        ["QUIT"] = SmtpVerb.Quit,
        ["EXPN"] = SmtpVerb.Expn,
        ["STARTTLS"] = SmtpVerb.Starttls,
        ["AUTH"] = SmtpVerb.Auth,
        ["BDAT"] = SmtpVerb.Bdat,
        ["TURN"] = SmtpVerb.Turn,
        ["ETRN"] = SmtpVerb.Etrn,
    };

    private static readonly SmtpCommand Malformed = new(SmtpVerb.Unknown, string.Empty, "Command contains a control or non-ASCII character");

    /// <summary>Parses one command line (without its line end).</summary>
    /// <remarks>
    /// Octets over 0x7F are allowed only in the argument of MAIL and RCPT, kept one character per
    /// octet (Latin-1), so that the decider can answer a non-ASCII address with RFC 6531's 553 5.6.7.
    /// </remarks>
    public static SmtpCommand Parse(ReadOnlySpan<byte> line)
    {
        var eightBit = false;
        foreach (var b in line)
        {
            if (b is < 0x20 and not (byte)'\t' || b == 0x7F)
            {
                return Malformed;
            }

            eightBit |= b > 0x7F;
        }

        // Trailing blanks go before the split, so "QUIT\t" is still QUIT.
        var text = System.Text.Encoding.Latin1.GetString(line).TrimEnd(' ', '\t');
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        var verbText = space < 0 ? text : text[..space];
        var argument = space < 0 ? string.Empty : text[(space + 1)..];
        if (!Verbs.TryGetValue(verbText, out var verb))
        {
            return eightBit ? Malformed : new SmtpCommand(SmtpVerb.Unknown, argument);
        }

        return eightBit && verb is not (SmtpVerb.Mail or SmtpVerb.Rcpt) ? Malformed : new SmtpCommand(verb, argument);
    }

    /// <summary>True if <paramref name="text"/> holds only ASCII characters.</summary>
    public static bool IsAscii(string text) => System.Text.Ascii.IsValid(text);

    /// <summary>
    /// Splits <c>FROM:&lt;path&gt; params</c> (or <c>TO:</c>) into the path and its parameters.
    /// One space after the colon is tolerated, as common clients send it.
    /// </summary>
    public static bool TrySplitPath(string argument, string keyword, out string path, out string[] parameters)
    {
        path = string.Empty;
        parameters = [];
        if (!argument.StartsWith(keyword, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = argument[keyword.Length..];
        if (rest.StartsWith(' '))
        {
            rest = rest[1..];
        }

        var close = rest.IndexOf('>', StringComparison.Ordinal);
        if (!rest.StartsWith('<') || close < 0)
        {
            return false;
        }

        path = rest[..(close + 1)];
        var tail = rest[(close + 1)..];
        if (tail.Length > 0 && tail[0] != ' ')
        {
            return false;
        }

        parameters = tail.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return true;
    }

    /// <summary>Parses the MAIL FROM parameters it supports: SIZE=n and BODY=7BIT|8BITMIME.</summary>
    public static SmtpReply? ParseMailParameters(string[] parameters, out long? size, out bool eightBit)
    {
        size = null;
        eightBit = false;
        foreach (var p in parameters)
        {
            var eq = p.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? p : p[..eq];
            var value = eq < 0 ? null : p[(eq + 1)..];
            if (key.Equals("SIZE", StringComparison.OrdinalIgnoreCase))
            {
                // RFC 1870 allows 1 to 20 digits; a value past long.MaxValue is still valid, just over any limit.
                if (value is null || value.Length is 0 or > 20 || !value.All(char.IsAsciiDigit))
                {
                    return SmtpReplies.SyntaxInParameters("SIZE needs a number of octets");
                }

                size = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : long.MaxValue;
            }
            else if (key.Equals("BODY", StringComparison.OrdinalIgnoreCase))
            {
                if (string.IsNullOrEmpty(value))
                {
                    return SmtpReplies.SyntaxInParameters("BODY must be 7BIT or 8BITMIME");
                }

                if (value.Equals("8BITMIME", StringComparison.OrdinalIgnoreCase))
                {
                    eightBit = true;
                }
                else if (!value.Equals("7BIT", StringComparison.OrdinalIgnoreCase))
                {
                    // A body type such as BINARYMIME is well formed but not offered (RFC 5321 §4.1.1.11).
                    return SmtpReplies.ParameterNotRecognised(p);
                }
            }
            else
            {
                return SmtpReplies.ParameterNotRecognised(key);
            }
        }

        return null;
    }
}
