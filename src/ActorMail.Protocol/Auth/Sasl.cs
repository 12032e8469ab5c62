using System.Text;

namespace ActorMail.Protocol.Auth;

/// <summary>Where a sign-in that shows the password to anyone on the path (SMTP AUTH, POP3 USER/PASS and AUTH) is allowed before TLS.</summary>
public enum ClearTextAuth
{
    /// <summary>Only over TLS.</summary>
    Never,

    /// <summary>Over TLS, or from a client on a loopback address (127.0.0.0/8, ::1).</summary>
    Loopback,

    /// <summary>Everywhere.</summary>
    Always,
}

/// <summary>The clear-text rule applied to one session.</summary>
public static class ClearTextAuthRule
{
    /// <summary>True if a password may be sent in this session now: over TLS, or where <paramref name="rule"/> allows it in clear.</summary>
    public static bool Allows(this ClearTextAuth rule, bool secure, bool loopback) =>
        secure || rule == ClearTextAuth.Always || (rule == ClearTextAuth.Loopback && loopback);
}

/// <summary>The SASL mechanisms the server offers.</summary>
public enum SaslMechanism
{
    /// <summary>RFC 4616: authorization id, user and password in one message.</summary>
    Plain,

    /// <summary>The user name and the password each in a response of its own (draft-murchison-sasl-login).</summary>
    Login,
}

/// <summary>A user name and password taken from a SASL exchange.</summary>
public sealed record SaslCredentials(string User, string Password)
{
    /// <summary>Never shows the password, wherever the record is printed.</summary>
    public override string ToString() => $"SaslCredentials {{ User = {User}, Password = **** }}";
}

/// <summary>
/// Decoding of SASL responses (RFC 4422) for PLAIN and LOGIN: base64 as RFC 4954 §4 and RFC 5034
/// §4 send it, and the PLAIN message of RFC 4616. Pure: no state, no I/O.
/// </summary>
public static class Sasl
{
    /// <summary>The client's response that cancels the exchange (RFC 4954 §4, RFC 5034 §4).</summary>
    public const string Cancel = "*";

    // RFC 4616 §2: authcid and passwd are 1 to 255 octets of UTF-8.
    private const int MaxField = 255;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The mechanism named in an AUTH command, or null if it is not one offered.</summary>
    public static SaslMechanism? Mechanism(string name) =>
        name.Equals("PLAIN", StringComparison.OrdinalIgnoreCase) ? SaslMechanism.Plain
        : name.Equals("LOGIN", StringComparison.OrdinalIgnoreCase) ? SaslMechanism.Login
        : null;

    /// <summary>
    /// Decodes a base64 response. A lone <c>=</c> is the empty response (RFC 4954 §4); anything
    /// but strict, padded base64 (white space, a stray character, a missing pad) is refused.
    /// </summary>
    public static bool TryDecodeBase64(string text, out byte[] octets)
    {
        octets = [];
        if (text == "=")
        {
            return true;
        }

        if (text.Length == 0 || text.Length % 4 != 0 || text.Any(c => !IsBase64Char(c)))
        {
            return false;
        }

        try
        {
            octets = Convert.FromBase64String(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads a PLAIN message: <c>[authzid] NUL authcid NUL passwd</c>. Refused (null): not
    /// exactly two NULs, an empty or over-long user or password, invalid UTF-8, or an
    /// authorization id other than the user (the server lets no one act as someone else).
    /// </summary>
    public static SaslCredentials? DecodePlain(ReadOnlySpan<byte> message)
    {
        var first = message.IndexOf((byte)0);
        if (first < 0)
        {
            return null;
        }

        var rest = message[(first + 1)..];
        var second = rest.IndexOf((byte)0);
        if (second < 0)
        {
            return null;
        }

        var authzid = message[..first];
        var authcid = rest[..second];
        var passwd = rest[(second + 1)..];
        if (passwd.IndexOf((byte)0) >= 0 || authcid.Length is 0 or > MaxField || passwd.Length is 0 or > MaxField)
        {
            return null;
        }

        if (Text(authzid) is not { } zid || Text(authcid) is not { } user || Text(passwd) is not { } password)
        {
            return null;
        }

        return zid.Length == 0 || zid == user ? new SaslCredentials(user, password) : null;
    }

    /// <summary>
    /// Reads one LOGIN response (a user name or a password): base64 of 1 to 255 octets of UTF-8
    /// without NUL; null otherwise.
    /// </summary>
    public static string? DecodeLoginField(string base64) =>
        TryDecodeBase64(base64, out var octets) && octets.Length is > 0 and <= MaxField && Array.IndexOf(octets, (byte)0) < 0
            ? Text(octets)
            : null;

    /// <summary>The base64 of <paramref name="text"/>, as a server challenge is sent.</summary>
    public static string Encode(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static bool IsBase64Char(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=';

    private static string? Text(ReadOnlySpan<byte> octets)
    {
        try
        {
            return StrictUtf8.GetString(octets);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
