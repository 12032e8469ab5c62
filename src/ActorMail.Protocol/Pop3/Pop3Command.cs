using System.Globalization;
using System.Text;

namespace ActorMail.Protocol.Pop3;

/// <summary>The POP3 verbs the server knows; anything else is <see cref="Unknown"/>.</summary>
public enum Pop3Verb
{
    Unknown,
    User,
    Pass,
    Quit,
    Stat,
    List,
    Retr,
    Dele,
    Noop,
    Rset,
    Top,
    Uidl,
    Capa,
    Stls,
    Auth,
}

/// <summary>One POP3 command line: the verb and its arguments as sent.</summary>
/// <param name="Verb">The verb, or <see cref="Pop3Verb.Unknown"/>.</param>
/// <param name="Arguments">The space-separated arguments (for PASS, the whole rest of the line as one).</param>
/// <param name="Malformed">Why the line cannot be a command (control or non-ASCII characters), or null.</param>
public sealed record Pop3Command(Pop3Verb Verb, IReadOnlyList<string> Arguments, string? Malformed = null)
{
    /// <summary>The verb as the log shows it.</summary>
    public string Name => Verb == Pop3Verb.Unknown ? "UNKNOWN" : Verb.ToString().ToUpperInvariant();
}

/// <summary>Pure parsing of POP3 command lines and their numeric arguments.</summary>
public static class Pop3Parser
{
    private static readonly Dictionary<string, Pop3Verb> Verbs = Enum.GetValues<Pop3Verb>()
        .Where(v => v != Pop3Verb.Unknown)
        .ToDictionary(v => v.ToString().ToUpperInvariant(), StringComparer.OrdinalIgnoreCase);

    /// <summary>Parses one command line (without its line end).</summary>
    public static Pop3Command Parse(ReadOnlySpan<byte> line)
    {
        foreach (var b in line)
        {
            if (b is < 0x20 || b >= 0x7F)
            {
                return new Pop3Command(Pop3Verb.Unknown, [], "Command contains a control or non-ASCII character");
            }
        }

        var text = Encoding.ASCII.GetString(line);
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        var verbText = space < 0 ? text : text[..space];
        var rest = space < 0 ? null : text[(space + 1)..];
        if (!Verbs.TryGetValue(verbText, out var verb))
        {
            return new Pop3Command(Pop3Verb.Unknown, []);
        }

        if (rest is null)
        {
            return new Pop3Command(verb, []);
        }

        // A password may hold spaces; every other argument is one token between single spaces.
        return verb == Pop3Verb.Pass
            ? new Pop3Command(verb, [rest])
            : new Pop3Command(verb, rest.Split(' '));
    }

    /// <summary>Reads a message number or line count: ASCII digits only, no sign, at most 9 of them.</summary>
    public static bool TryNumber(string text, out int value)
    {
        value = 0;
        return text.Length is > 0 and <= 9
            && text.All(char.IsAsciiDigit)
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
