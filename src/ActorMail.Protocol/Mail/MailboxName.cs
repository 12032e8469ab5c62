using System.Diagnostics.CodeAnalysis;

namespace ActorMail.Protocol.Mail;

/// <summary>
/// A local user's mailbox name, checked against a strict grammar before it may name a directory:
/// <c>[a-z0-9][a-z0-9._-]{0,63}</c> with no <c>..</c>.
/// </summary>
public static class MailboxName
{
    /// <summary>The longest name in octets.</summary>
    public const int MaxLength = 64;

    /// <summary>True if <paramref name="name"/> is safe to use as a directory name under the mail root.</summary>
    public static bool IsValid([NotNullWhen(true)] string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength || !IsAlphaNum(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!IsAlphaNum(c) && c != '.' && c != '_' && c != '-')
            {
                return false;
            }
        }

        return !name.Contains("..", StringComparison.Ordinal);
    }

    /// <summary>
    /// <paramref name="name"/> as a log may show it: itself if it fits the grammar, else <c>&lt;invalid&gt;</c>,
    /// so that a password typed at a user-name prompt never reaches a log.
    /// </summary>
    public static string ForLog(string? name) => IsValid(name) ? name : "<invalid>";

    private static bool IsAlphaNum(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
}
