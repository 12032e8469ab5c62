using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ActorMail.Protocol.Mail;

/// <summary>An address from <c>MAIL FROM:&lt;…&gt;</c> or <c>RCPT TO:&lt;…&gt;</c>; an empty one is the null reverse-path.</summary>
public sealed record MailPath(string LocalPart, string Domain)
{
    /// <summary>RFC 5321 §4.5.3.1.1: the longest local part.</summary>
    public const int MaxLocalPart = 64;

    /// <summary>RFC 5321 §4.5.3.1.2: the longest domain.</summary>
    public const int MaxDomain = 255;

    /// <summary>RFC 5321 §4.5.3.1.3: the longest path, angle brackets included.</summary>
    public const int MaxPath = 256;

    /// <summary>The null reverse-path <c>&lt;&gt;</c>, used by bounces.</summary>
    public static MailPath Null { get; } = new(string.Empty, string.Empty);

    /// <summary>True for <c>&lt;&gt;</c>.</summary>
    public bool IsNull => LocalPart.Length == 0;

    /// <summary>The address as written between the angle brackets.</summary>
    public string Address => IsNull ? string.Empty : Domain.Length == 0 ? LocalPart : $"{LocalPart}@{Domain}";

    /// <summary>
    /// The local part without quotes it does not need: <c>"alice"</c> and <c>"al\ice"</c> are
    /// <c>alice</c> (RFC 5321 §4.1.2). A quoted string that is no dot-atom once unquoted stays as written.
    /// </summary>
    public string PlainLocalPart
    {
        get
        {
            if (LocalPart.Length < 2 || LocalPart[0] != '"')
            {
                return LocalPart;
            }

            var plain = new System.Text.StringBuilder(LocalPart.Length);
            for (var i = 1; i < LocalPart.Length - 1; i++)
            {
                plain.Append(LocalPart[i] == '\\' ? LocalPart[++i] : LocalPart[i]);
            }

            var text = plain.ToString();
            return text.Length > 0 && IsDotAtom(text) ? text : LocalPart;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"<{Address}>";

    /// <summary>
    /// Parses <c>&lt;local@domain&gt;</c> (or <c>&lt;&gt;</c> where <paramref name="allowNull"/>, or the
    /// bare <c>&lt;Postmaster&gt;</c>). A source route (<c>@a,@b:</c>) is accepted and dropped, as RFC 5321 asks.
    /// </summary>
    public static bool TryParse(string text, bool allowNull, [NotNullWhen(true)] out MailPath? path, out string error)
    {
        path = null;
        error = string.Empty;
        if (text.Length > MaxPath)
        {
            error = "Path too long";
            return false;
        }

        if (text.Length < 2 || text[0] != '<' || text[^1] != '>')
        {
            error = "Path must be enclosed in <>";
            return false;
        }

        var inner = text[1..^1];
        if (inner.Length == 0)
        {
            if (!allowNull)
            {
                error = "Null path not allowed here";
                return false;
            }

            path = Null;
            return true;
        }

        if (inner[0] == '@')
        {
            var colon = inner.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                error = "Bad source route";
                return false;
            }

            inner = inner[(colon + 1)..];
        }

        if (inner.Equals("postmaster", StringComparison.OrdinalIgnoreCase))
        {
            path = new MailPath("postmaster", string.Empty);
            return true;
        }

        var at = inner.LastIndexOf('@');
        if (at <= 0 || at == inner.Length - 1)
        {
            error = "Address must be local-part@domain";
            return false;
        }

        var local = inner[..at];
        var domain = inner[(at + 1)..];
        if (local.Length > MaxLocalPart)
        {
            error = "Local part too long";
            return false;
        }

        if (domain.Length > MaxDomain)
        {
            error = "Domain too long";
            return false;
        }

        if (!IsValidLocalPart(local))
        {
            error = "Bad local part";
            return false;
        }

        if (!IsValidDomain(domain))
        {
            error = "Bad domain";
            return false;
        }

        path = new MailPath(local, domain);
        return true;
    }

    /// <summary>
    /// Reads an address literal domain (RFC 5321 §4.1.3): <c>[192.0.2.1]</c>, four decimal numbers of
    /// one to three digits, or <c>[IPv6:2001:db8::1]</c>. Any other domain, general literals included, gives false.
    /// </summary>
    public static bool TryGetAddressLiteral(string domain, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (domain.Length < 3 || domain[0] != '[' || domain[^1] != ']')
        {
            return false;
        }

        var inner = domain[1..^1];
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
        {
            var v6 = inner[5..];
            if (v6.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')
                && IPAddress.TryParse(v6, out var parsed) && parsed.AddressFamily == AddressFamily.InterNetworkV6)
            {
                address = parsed;
            }

            return address is not null;
        }

        var parts = inner.Split('.');
        var octets = new byte[4];
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts.Length != 4 || parts[i].Length is 0 or > 3 || !parts[i].All(char.IsAsciiDigit)
                || !byte.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out octets[i]))
            {
                return false;
            }
        }

        address = new IPAddress(octets);
        return true;
    }

    // dot-atom or quoted-string (RFC 5321 §4.1.2), ASCII only: no SMTPUTF8 is offered.
    private static bool IsValidLocalPart(string local)
    {
        if (local.Length >= 2 && local[0] == '"' && local[^1] == '"')
        {
            var quoted = local[1..^1];
            for (var i = 0; i < quoted.Length; i++)
            {
                var c = quoted[i];
                if (c == '\\')
                {
                    if (++i >= quoted.Length || quoted[i] is < ' ' or > '~')
                    {
                        return false;
                    }
                }
                else if (c is < ' ' or > '~' || c == '"')
                {
                    return false;
                }
            }

            return true;
        }

        return IsDotAtom(local);
    }

    private static bool IsDotAtom(string local)
    {
        if (local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in local)
        {
            if (!IsAtext(c) && c != '.')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAtext(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
        || "!#$%&'*+-/=?^_`{|}~".Contains(c, StringComparison.Ordinal);

    private static bool IsValidDomain(string domain)
    {
        if (domain[0] == '[')
        {
            // An address literal: printable ASCII between the brackets, nothing else checked.
            if (domain[^1] != ']' || domain.Length < 3)
            {
                return false;
            }

            foreach (var c in domain.AsSpan(1, domain.Length - 2))
            {
                if (c is < '!' or > '~' || c is '[' or ']' or '\\')
                {
                    return false;
                }
            }

            return true;
        }

        foreach (var label in domain.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
