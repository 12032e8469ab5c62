using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using ActorMail.Protocol.Session;
using Akka.Actor;

namespace ActorMail.Hosting;

/// <summary>One counter or gauge of one label set, bumped with an interlocked add from any thread.</summary>
public sealed class Metric
{
    private long _value;

    /// <summary>The current value.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <summary>Adds one.</summary>
    public void Increment() => Interlocked.Increment(ref _value);

    /// <summary>Takes one away (gauges only).</summary>
    public void Decrement() => Interlocked.Decrement(ref _value);
}

/// <summary>
/// The node's counters, one set per actor system (an Akka extension), rendered by /metrics in
/// the Prometheus text format (version 0.0.4). A series is looked up once, by the actor that
/// bumps it, and then costs one interlocked add: nothing on the SMTP path waits for it.
/// </summary>
public sealed class NodeMetrics : IExtension
{
    /// <summary>The content type of <see cref="Render"/>.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly ConcurrentDictionary<string, Family> _families = new(StringComparer.Ordinal);

    private NodeMetrics()
    {
        // The node-wide series exist from the start, so a scrape shows 0 rather than nothing.
        MessagesAccepted = Counter("actormail_messages_accepted_total", "Messages accepted by SMTP (answered 250 once stored).");
        const string help = "Failed sign-ins, POP3 and HTTP together: checked and wrong, or refused unchecked by the throttle.";
        WrongPasswords = Counter("actormail_signin_failures_total", help, "reason", "wrong");
        ThrottledSignIns = Counter("actormail_signin_failures_total", help, "reason", "throttled");
        PasswordChecks = Counter("actormail_password_checks_total", "Passwords checked by PBKDF2 (POP3 and HTTP; HTTP requests with remembered credentials need none).");
    }

    /// <summary>PBKDF2 checks the password checker ran.</summary>
    public Metric PasswordChecks { get; }

    /// <summary>Messages SMTP answered with 250.</summary>
    public Metric MessagesAccepted { get; }

    /// <summary>Sign-ins the password checker checked and found wrong.</summary>
    public Metric WrongPasswords { get; }

    /// <summary>Sign-ins the throttle refused without a check.</summary>
    public Metric ThrottledSignIns { get; }

    /// <summary>The metrics of <paramref name="system"/>.</summary>
    public static NodeMetrics Get(ActorSystem system) => system.WithExtension<NodeMetrics, NodeMetricsProvider>();

    /// <summary>The label value that names an admission refusal: <c>server_full</c>, <c>address_full</c>, ...</summary>
    public static string ReasonLabel(Admission admission) => admission switch
    {
        Admission.ServerFull => "server_full",
        Admission.AddressFull => "address_full",
        Admission.AddressTooFast => "address_too_fast",
        Admission.ShuttingDown => "shutting_down",
        _ => "accepted",
    };

    /// <summary>The counter <paramref name="name"/> with these labels (name, value pairs), made at first use.</summary>
    public Metric Counter(string name, string help, params string[] labels) => Series(name, help, "counter", labels);

    /// <summary>The gauge <paramref name="name"/> with these labels, made at first use.</summary>
    public Metric Gauge(string name, string help, params string[] labels) => Series(name, help, "gauge", labels);

    /// <summary>Connections a listener admitted, refused or closed: the same three series for SMTP, POP3 and HTTP.</summary>
    public ConnectionMetrics Connections(string protocol)
    {
        var label = protocol.ToLowerInvariant();
        var refused = new Dictionary<Admission, Metric>();
        foreach (var admission in Enum.GetValues<Admission>().Where(a => a != Admission.Accepted))
        {
            refused[admission] = Counter("actormail_connections_refused_total", "Connections refused at connect, by protocol and reason.", "protocol", label, "reason", ReasonLabel(admission));
        }

        return new ConnectionMetrics(
            Counter("actormail_sessions_total", "Sessions (connections) admitted, by protocol.", "protocol", label),
            Gauge("actormail_sessions_open", "Sessions (connections) open now, by protocol.", "protocol", label),
            refused);
    }

    /// <summary>Every series, in the Prometheus text format, families and series in name order.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        foreach (var (name, family) in _families.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {family.Help}\n# TYPE {name} {family.Type}\n");
            foreach (var (labels, metric) in family.Series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                text.Append(CultureInfo.InvariantCulture, $"{name}{labels} {metric.Value}\n");
            }
        }

        return text.ToString();
    }

    private Metric Series(string name, string help, string type, string[] labels)
    {
        if (labels.Length % 2 != 0)
        {
            throw new ArgumentException("labels come in name, value pairs", nameof(labels));
        }

        var family = _families.GetOrAdd(name, _ => new Family(help, type));
        var key = labels.Length == 0
            ? string.Empty
            : "{" + string.Join(",", Enumerable.Range(0, labels.Length / 2).Select(i => $"{labels[2 * i]}=\"{Escape(labels[(2 * i) + 1])}\"")) + "}";
        return family.Series.GetOrAdd(key, _ => new Metric());
    }

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed record Family(string Help, string Type)
    {
        public ConcurrentDictionary<string, Metric> Series { get; } = new(StringComparer.Ordinal);
    }

    private sealed class NodeMetricsProvider : ExtensionIdProvider<NodeMetrics>
    {
        public override NodeMetrics CreateExtension(ExtendedActorSystem system) => new();
    }
}

/// <summary>A listener's series: admitted, open now, and refused by reason.</summary>
public sealed record ConnectionMetrics(Metric Admitted, Metric Open, IReadOnlyDictionary<Admission, Metric> Refused)
{
    /// <summary>Counts one connection's admission decision.</summary>
    public void Decided(Admission admission)
    {
        if (admission == Admission.Accepted)
        {
            Admitted.Increment();
            Open.Increment();
        }
        else
        {
            Refused[admission].Increment();
        }
    }
}
