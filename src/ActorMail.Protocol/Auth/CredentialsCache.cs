using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace ActorMail.Protocol.Auth;

/// <summary>
/// Credentials that the password checker accepted, remembered for a short time so that each HTTP
/// request does not cost a PBKDF2 derivation. An entry is found by an HMAC-SHA256 of the user name
/// and password under a key drawn at random for the process: the cache holds no password, and
/// its keys are worthless outside this process. Safe for concurrent requests.
/// </summary>
/// <param name="ttl">How long an entry lasts after the check that made it.</param>
/// <param name="capacity">Entries held at once; past it, expired ones are dropped, then all.</param>
/// <param name="key">The HMAC key; a fresh random one if null (tests pass their own).</param>
public sealed class CredentialsCache(TimeSpan ttl, int capacity, byte[]? key = null)
{
    private const int KeyBytes = 32;
    private readonly byte[] _key = key ?? RandomNumberGenerator.GetBytes(KeyBytes);
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly double _ttl = ttl.TotalSeconds;

    /// <summary>Entries held now, expired ones included until they are dropped.</summary>
    public int Count => _entries.Count;

    /// <summary>The HMAC that stands for these credentials (base64).</summary>
    public string KeyOf(string user, string password)
    {
        // The length prefix keeps ("a:b", "c") and ("a", "b:c") apart whatever the characters.
        var text = Encoding.UTF8.GetBytes($"{user.Length}:{user}:{password}");
        try
        {
            return Convert.ToBase64String(HMACSHA256.HashData(_key, text));
        }
        finally
        {
            Array.Clear(text);
        }
    }

    /// <summary>True if these credentials were accepted less than the lifetime before <paramref name="now"/> (seconds on a monotonic clock).</summary>
    public bool IsVerified(string user, string password, double now)
    {
        var key = KeyOf(user, password);
        if (!_entries.TryGetValue(key, out var entry))
        {
            return false;
        }

        if (now - entry.At < _ttl && string.Equals(entry.User, user, StringComparison.Ordinal))
        {
            return true;
        }

        _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
        return false;
    }

    /// <summary>Remembers credentials the password checker accepted at <paramref name="now"/>.</summary>
    public void Remember(string user, string password, double now)
    {
        if (_entries.Count >= capacity)
        {
            foreach (var (key, entry) in _entries)
            {
                if (now - entry.At >= _ttl)
                {
                    _entries.TryRemove(key, out _);
                }
            }

            if (_entries.Count >= capacity)
            {
                _entries.Clear();
            }
        }

        _entries[KeyOf(user, password)] = new Entry(user, now);
    }

    private sealed record Entry(string User, double At);
}
