using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ActorMail.Protocol.Auth;

/// <summary>
/// Salted PBKDF2-SHA256 password hashes in the form <c>pbkdf2-sha256$iterations$salt$hash</c>
/// (salt and hash in base64), so the configuration never holds a password.
/// </summary>
public static class PasswordHash
{
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>Iterations for new hashes.</summary>
    public const int DefaultIterations = 100_000;

    /// <summary>Makes a hash line for <paramref name="password"/> with a fresh random salt.</summary>
    public static string Create(string password, int iterations = DefaultIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>The iteration count of a hash line, or <see cref="DefaultIterations"/> for none or a malformed one.</summary>
    public static int IterationsOf(string? encoded) =>
        encoded is not null && TryDecode(encoded, out var iterations, out _, out _) ? iterations : DefaultIterations;

    /// <summary>True if the text is a hash line this class can check.</summary>
    public static bool IsWellFormed(string encoded) => TryDecode(encoded, out _, out _, out _);

    /// <summary>Checks <paramref name="password"/> against a hash line in constant time; false for a malformed line.</summary>
    public static bool Verify(string password, string encoded)
    {
        if (!TryDecode(encoded, out var iterations, out var salt, out var expected))
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static bool TryDecode(string encoded, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        var parts = encoded.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 1)
        {
            return false;
        }

        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }

        return salt.Length > 0 && hash.Length > 0;
    }
}
