namespace ActorMail.Protocol.Session;

/// <summary>What the listener decided about a new connection before its session starts.</summary>
public enum Admission
{
    /// <summary>Served: the session greets the client.</summary>
    Accepted,

    /// <summary>The protocol's connection limit is reached.</summary>
    ServerFull,

    /// <summary>The client's address already holds its share of connections.</summary>
    AddressFull,

    /// <summary>The client's address connects faster than its rate allows.</summary>
    AddressTooFast,

    /// <summary>The node is stopping.</summary>
    ShuttingDown,
}

/// <summary>
/// Per-address connection accounting for one listener: concurrent connections per address and a
/// token bucket for the connection rate. Pure and single-threaded: the listener actor owns it.
/// </summary>
/// <param name="maxConnections">Concurrent sessions in all.</param>
/// <param name="maxPerAddress">Concurrent sessions per client address.</param>
/// <param name="ratePerSecond">Connections per second an address earns back; 0 turns the rate limit off.</param>
/// <param name="burst">Connections an idle address may open at once.</param>
public sealed class AdmissionControl(int maxConnections, int maxPerAddress, double ratePerSecond, int burst)
{
    private readonly Dictionary<string, int> _open = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Sessions admitted and not yet released.</summary>
    public int Open { get; private set; }

    /// <summary>Addresses that hold at least one session.</summary>
    public int Addresses => _open.Count;

    /// <summary>Decides for a connection from <paramref name="address"/> at <paramref name="now"/> (seconds on any monotonic clock); an accepted one must be released once.</summary>
    public Admission Admit(string address, double now)
    {
        if (Open >= maxConnections)
        {
            return Admission.ServerFull;
        }

        var held = _open.GetValueOrDefault(address);
        if (held >= maxPerAddress)
        {
            return Admission.AddressFull;
        }

        if (ratePerSecond > 0 && !Take(address, now))
        {
            return Admission.AddressTooFast;
        }

        _open[address] = held + 1;
        Open++;
        return Admission.Accepted;
    }

    /// <summary>An admitted session from <paramref name="address"/> ended.</summary>
    public void Release(string address)
    {
        if (!_open.TryGetValue(address, out var held))
        {
            return;
        }

        Open--;
        if (held <= 1)
        {
            _open.Remove(address);
        }
        else
        {
            _open[address] = held - 1;
        }
    }

    /// <summary>Forgets buckets that have refilled, so idle addresses cost no memory.</summary>
    public void Prune(double now)
    {
        foreach (var (address, bucket) in _buckets.ToList())
        {
            if (bucket.TokensAt(now, ratePerSecond, burst) >= burst)
            {
                _buckets.Remove(address);
            }
        }
    }

    private bool Take(string address, double now)
    {
        var tokens = _buckets.TryGetValue(address, out var bucket) ? bucket.TokensAt(now, ratePerSecond, burst) : burst;
        if (tokens < 1)
        {
            _buckets[address] = new Bucket(tokens, now);
            return false;
        }

        _buckets[address] = new Bucket(tokens - 1, now);
        return true;
    }

    private readonly record struct Bucket(double Tokens, double At)
    {
        public double TokensAt(double now, double rate, int burst) => Math.Min(burst, Tokens + (Math.Max(0, now - At) * rate));
    }
}
