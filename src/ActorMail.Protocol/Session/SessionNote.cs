using System.Text;
using System.Text.RegularExpressions;

namespace ActorMail.Protocol.Session;

/// <summary>How much a note matters, as the log levels say it.</summary>
public enum NoteLevel
{
    /// <summary>A detail for someone chasing a problem.</summary>
    Debug,

    /// <summary>A fact of normal work.</summary>
    Information,

    /// <summary>Something refused or taken back that a client or operator may want to know.</summary>
    Warning,

    /// <summary>Something that failed on the server's side.</summary>
    Error,
}

/// <summary>
/// A fact of a session worth one line in its log, as a structured template and its values:
/// what was refused and why, never message content or a password. Deciders make them; the
/// session shell logs them.
/// </summary>
/// <param name="Template">The log template, with one <c>{Name}</c> hole per value.</param>
/// <param name="Values">The values, in the order of the holes.</param>
/// <param name="Level">The log level.</param>
public sealed partial record SessionNote(string Template, IReadOnlyList<object> Values, NoteLevel Level = NoteLevel.Information)
{
    /// <summary>The template with its values in place, as a plain-text log shows it.</summary>
    public override string ToString()
    {
        var i = 0;
        return Hole().Replace(Template, _ => i < Values.Count ? Values[i++].ToString() ?? string.Empty : string.Empty);
    }

    /// <summary>Client text with everything outside printable ASCII (an 8-bit address) shown as '?', so it cannot disturb the log.</summary>
    public static string Printable(string text)
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

/// <summary>The facts of a TLS upgrade that a session's log records, for either protocol.</summary>
public static class TlsNote
{
    /// <summary>The handshake finished; <paramref name="description"/> names the version and cipher.</summary>
    public static SessionNote Established(string description) => new("TLS established: {Tls}", [description]);

    /// <summary>The handshake failed or did not finish in time.</summary>
    public static SessionNote Failed(string reason) => new("TLS handshake failed: {Reason}", [reason], NoteLevel.Warning);
}
