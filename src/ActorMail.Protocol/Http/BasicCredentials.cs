using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace ActorMail.Protocol.Http;

/// <summary>A user name and password from an HTTP <c>Authorization: Basic</c> header (RFC 7617).</summary>
/// <param name="User">The user-id, before the first colon.</param>
/// <param name="Password">Everything after the first colon.</param>
public sealed record BasicCredentials(string User, string Password)
{
    private const string Scheme = "Basic";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The challenge a 401 carries.</summary>
    public const string Challenge = "Basic realm=\"ActorMail\", charset=\"UTF-8\"";

    /// <summary>Never shows the password, wherever the record is printed.</summary>
    public override string ToString() => $"BasicCredentials {{ User = {User}, Password = **** }}";

    /// <summary>
    /// Reads the header value: the scheme (any case), spaces, then base64 of UTF-8
    /// <c>user:password</c>. False for another scheme, bad base64 or UTF-8, no colon, an empty
    /// user, or a control character in either part (RFC 7617 §2 allows none).
    /// </summary>
    public static bool TryParse(string? header, [NotNullWhen(true)] out BasicCredentials? credentials)
    {
        credentials = null;
        if (header is null || header.Length <= Scheme.Length
            || !header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header[Scheme.Length] != ' ')
        {
            return false;
        }

        var token = header.AsSpan(Scheme.Length).Trim(' ');
        var bytes = new byte[(token.Length * 3 / 4) + 3];
        // Convert skips white space inside base64; a token68 has none.
        if (token.IsEmpty || token.ContainsAny(" \t\r\n") || !Convert.TryFromBase64Chars(token, bytes, out var length))
        {
            return false;
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(bytes, 0, length);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        finally
        {
            Array.Clear(bytes);
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || text.Any(char.IsControl))
        {
            return false;
        }

        credentials = new BasicCredentials(text[..colon], text[(colon + 1)..]);
        return true;
    }
}
