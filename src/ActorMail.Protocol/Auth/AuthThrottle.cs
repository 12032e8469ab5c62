namespace ActorMail.Protocol.Auth;

/// <summary>What the throttle says about one sign-in attempt.</summary>
public enum ThrottleVerdict
{
    /// <summary>Check the password.</summary>
    Check,

    /// <summary>Refuse without checking: the address failed too often in this window.</summary>
    AddressThrottled,

    /// <summary>Refuse without checking: the user name failed too often in this window, and this address failed for it too.</summary>
    UserThrottled,
}

/// <summary>
/// Counts failed sign-ins per client address and per user name in fixed windows. Past a budget,
/// further attempts are refused without a password check until the window ends, so guessing costs
/// the attacker time and the node no CPU. The owner of a name under attack still signs in from an
/// address that has not failed. Pure and single-threaded: one actor owns it.
/// </summary>
/// <param name="window">Length of one counting window.</param>
/// <param name="maxPerAddress">Failures an address may have in a window.</param>
/// <param name="maxPerUser">Failures a user name may have in a window, from all addresses together.</param>
/// <param name="maxTracked">Entries kept per kind; past it, expired ones are dropped, then the oldest.</param>
public sealed class AuthThrottle(TimeSpan window, int maxPerAddress, int maxPerUser, int maxTracked = 100_000)
{
    private readonly Dictionary<string, Entry> _addresses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _users = new(StringComparer.Ordinal);
    private readonly double _window = window.TotalSeconds;

    /// <summary>Whether to check an attempt.</summary>
    /// <param name="address">The client's address.</param>
    /// <param name="user">The user name as typed.</param>
    /// <param name="now">Seconds on a monotonic clock.</param>
    /// <param name="firstRefusal">True on the first refusal of this address or user in its window: the one to log.</param>
    public ThrottleVerdict Consider(string address, string user, double now, out bool firstRefusal)
    {
        firstRefusal = false;
        var byAddress = Current(_addresses, address, now);
        if (byAddress.Failures >= maxPerAddress)
        {
            firstRefusal = Notify(_addresses, address, byAddress);
            return ThrottleVerdict.AddressThrottled;
        }

        var byUser = Current(_users, user, now);
        if (byUser.Failures >= maxPerUser && byAddress.Failures > 0)
        {
            firstRefusal = Notify(_users, user, byUser);
            return ThrottleVerdict.UserThrottled;
        }

        return ThrottleVerdict.Check;
    }

    /// <summary>A checked attempt failed.</summary>
    public void Failed(string address, string user, double now)
    {
        Count(_addresses, address, now);
        Count(_users, user, now);
    }

    /// <summary>Failures counted for <paramref name="address"/> in its current window.</summary>
    public int FailuresOf(string address, double now) => Current(_addresses, address, now).Failures;

    private Entry Current(Dictionary<string, Entry> entries, string key, double now) =>
        entries.TryGetValue(key, out var entry) && now - entry.Start < _window ? entry : new Entry(now, 0, false);

    private void Count(Dictionary<string, Entry> entries, string key, double now)
    {
        var entry = Current(entries, key, now);
        if (!entries.ContainsKey(key) && entries.Count >= maxTracked)
        {
            Trim(entries, now);
        }

        entries[key] = entry with { Failures = entry.Failures + 1 };
    }

    private static bool Notify(Dictionary<string, Entry> entries, string key, Entry entry)
    {
        if (entry.Notified)
        {
            return false;
        }

        entries[key] = entry with { Notified = true };
        return true;
    }

    private void Trim(Dictionary<string, Entry> entries, double now)
    {
        foreach (var (key, entry) in entries.ToList())
        {
            if (now - entry.Start >= _window)
            {
                entries.Remove(key);
            }
        }

        if (entries.Count >= maxTracked)
        {
            foreach (var key in entries.OrderBy(kv => kv.Value.Start).Take(entries.Count - (maxTracked / 2)).Select(kv => kv.Key).ToList())
            {
                entries.Remove(key);
            }
        }
    }

    private readonly record struct Entry(double Start, int Failures, bool Notified);
}
