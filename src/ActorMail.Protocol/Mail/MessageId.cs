using System.Diagnostics.CodeAnalysis;

namespace ActorMail.Protocol.Mail;

/// <summary>
/// The id the HTTP API gives a message: its POP3 UIDL (<see cref="MaildirName.Uid"/>), checked
/// against a strict grammar before the store looks for it: <c>[A-Za-z0-9][A-Za-z0-9._,=\-\\]{0,69}</c>
/// with no <c>..</c>. That covers the unique names ActorMail and the common Maildir writers make
/// (<c>1700000000.M123456P42Q7.host,S=1234</c>, an escaped host's <c>\057</c>) and the 40 hex
/// digits that stand in for a name too long for a UIDL; it holds no <c>/</c>, so it is one path element.
/// </summary>
public static class MessageId
{
    /// <summary>The longest id, as for a UIDL (RFC 1939 §7).</summary>
    public const int MaxLength = 70;

    /// <summary>True if <paramref name="id"/> may name a message.</summary>
    public static bool IsValid([NotNullWhen(true)] string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength || !char.IsAsciiLetterOrDigit(id[0]))
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or ',' or '=' or '-' or '\\'))
            {
                return false;
            }
        }

        return !id.Contains("..", StringComparison.Ordinal);
    }
}
