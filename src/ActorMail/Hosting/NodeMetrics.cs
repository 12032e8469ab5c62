using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ActorMail.Protocol.Session;
using Akka.Actor;
using Prometheus;

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

    /// <summary>Adds <paramref name="amount"/>.</summary>
    public void Add(long amount) => Interlocked.Add(ref _value, amount);
}

/// <summary>
/// The node's instruments, one <see cref="Meter"/> per actor system (an Akka extension), exported
/// by prometheus-net's meter adapter into a registry of this node's own, which /metrics serialises.
/// Counters and gauges are observable instruments over interlocked values: the SMTP path pays one
/// add, and the value is read only when scraped. Histograms are recorded as they happen.
/// </summary>
public sealed class NodeMetrics : IExtension, IDisposable
{
    /// <summary>The meter's name, and the prefix prometheus-net gives every series.</summary>
    public const string MeterName = "actormail";

    /// <summary>The content type of <see cref="ExportAsync"/>.</summary>
    public const string ContentType = PrometheusConstants.TextContentTypeWithVersionAndEncoding;

    // Deliveries per group commit: 1 to 512 in powers of two.
    private static readonly double[] BatchBuckets = Prometheus.Histogram.ExponentialBuckets(1, 2, 10);

    // Seconds from a batch's first link to its durable directory: 0.25 ms to about 4 s.
    private static readonly double[] FlushBuckets = Prometheus.Histogram.ExponentialBuckets(0.00025, 2, 15);

    private readonly Meter _meter = new(MeterName);
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly IDisposable _adapter;
    private readonly ConcurrentDictionary<string, Family> _families = new(StringComparer.Ordinal);

    private NodeMetrics()
    {
        // Only this node's meter goes into this node's registry: nodes in one process (tests) count apart.
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            InstrumentFilterPredicate = instrument => ReferenceEquals(instrument.Meter, _meter),
            Registry = _registry,
            MetricFactory = Metrics.WithCustomRegistry(_registry),
            ResolveHistogramBuckets = instrument => instrument == DeliveryBatchSize ? BatchBuckets : FlushBuckets,
        });

        // The node-wide series exist from the start, so a scrape shows 0 rather than nothing.
        MessagesAccepted = Counter("messages_accepted_total", "Messages accepted by SMTP (answered 250 once stored).");
        OctetsReceived = Counter("message_octets_received_total", "Octets of the messages SMTP accepted, as stored (trace lines included).");
        const string help = "Failed sign-ins, POP3 and HTTP together: checked and wrong, or refused unchecked by the throttle.";
        WrongPasswords = Counter("signin_failures_total", help, "reason", "wrong");
        ThrottledSignIns = Counter("signin_failures_total", help, "reason", "throttled");
        PasswordChecks = Counter("password_checks_total", "Passwords checked by PBKDF2 (POP3 and HTTP; HTTP requests with remembered credentials need none).");
        Retrievals = Counter("pop3_retrievals_total", "Messages POP3 sent whole (RETR).");
        Deletions = Counter("pop3_deletions_total", "Messages POP3 removed at QUIT (UPDATE).");
        Waiting = Gauge("http_waiting", "Requests to /api/v1/mailboxes/{name}/wait waiting now.");
        DeliveryBatchSize = _meter.CreateHistogram<double>("delivery_batch_size", "messages", "Deliveries a mailbox actor made durable in one group commit.");
        FlushSeconds = _meter.CreateHistogram<double>("delivery_flush_seconds", "s", "Time a mailbox actor took to make one group commit durable (links and fsyncs).");
    }

    /// <summary>PBKDF2 checks the password checker ran.</summary>
    public Metric PasswordChecks { get; }

    /// <summary>Messages SMTP answered with 250.</summary>
    public Metric MessagesAccepted { get; }

    /// <summary>Octets of the accepted messages, as stored.</summary>
    public Metric OctetsReceived { get; }

    /// <summary>Sign-ins the password checker checked and found wrong.</summary>
    public Metric WrongPasswords { get; }

    /// <summary>Sign-ins the throttle refused without a check.</summary>
    public Metric ThrottledSignIns { get; }

    /// <summary>Messages POP3 sent with RETR.</summary>
    public Metric Retrievals { get; }

    /// <summary>Messages POP3 removed at QUIT.</summary>
    public Metric Deletions { get; }

    /// <summary>HTTP requests waiting for a message now.</summary>
    public Metric Waiting { get; }

    /// <summary>Deliveries per group commit of a mailbox actor.</summary>
    public Histogram<double> DeliveryBatchSize { get; }

    /// <summary>Seconds per group commit of a mailbox actor.</summary>
    public Histogram<double> FlushSeconds { get; }

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

    /// <summary>The counter <c>actormail_<paramref name="name"/></c> with these labels (name, value pairs), made at first use.</summary>
    public Metric Counter(string name, string help, params string[] labels) => Series(name, help, counter: true, labels);

    /// <summary>The gauge <c>actormail_<paramref name="name"/></c> with these labels, made at first use.</summary>
    public Metric Gauge(string name, string help, params string[] labels) => Series(name, help, counter: false, labels);

    /// <summary>Messages SMTP refused at the end of DATA or when storing, by reply code (552, 550, 451, ...).</summary>
    public Metric MessagesRefused(int code) =>
        Counter("messages_refused_total", "Messages SMTP refused at the end of DATA or in storing, by reply code.", "code", code.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Counts a message SMTP answered at the end of DATA: accepted with its <paramref name="octets"/> as stored, or refused by its reply <paramref name="code"/>.</summary>
    public void MessageAnswered(bool stored, int code, long octets)
    {
        if (stored)
        {
            MessagesAccepted.Increment();
            OctetsReceived.Add(octets);
        }
        else
        {
            MessagesRefused(code).Increment();
        }
    }

    /// <summary>HTTP requests answered, by status code.</summary>
    public Metric HttpRequests(int status) =>
        Counter("http_requests_total", "HTTP requests answered, by status code.", "status", status.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Connections a listener admitted, refused or closed: the same three series for SMTP, POP3 and HTTP.</summary>
    public ConnectionMetrics Connections(string protocol)
    {
        var label = protocol.ToLowerInvariant();
        var refused = new Dictionary<Admission, Metric>();
        foreach (var admission in Enum.GetValues<Admission>().Where(a => a != Admission.Accepted))
        {
            refused[admission] = Counter("connections_refused_total", "Connections refused at connect, by protocol and reason.", "protocol", label, "reason", ReasonLabel(admission));
        }

        return new ConnectionMetrics(
            Counter("sessions_total", "Sessions (connections) admitted, by protocol.", "protocol", label),
            Gauge("sessions_open", "Sessions (connections) open now, by protocol.", "protocol", label),
            refused);
    }

    /// <summary>Every series of this node in the Prometheus text format (0.0.4), written by prometheus-net.</summary>
    public Task ExportAsync(Stream to, CancellationToken cancel) => _registry.CollectAndExportAsTextAsync(to, cancel);

    /// <inheritdoc/>
    public void Dispose()
    {
        _adapter.Dispose();
        _meter.Dispose();
    }

    private Metric Series(string name, string help, bool counter, string[] labels)
    {
        if (labels.Length % 2 != 0)
        {
            throw new ArgumentException("labels come in name, value pairs", nameof(labels));
        }

        var family = _families.GetOrAdd(name, n => new Family(_meter, n, help, counter));
        var key = string.Join('\n', labels);
        return family.Series.GetOrAdd(key, _ => (new Metric(), [.. Enumerable.Range(0, labels.Length / 2).Select(i => new KeyValuePair<string, object?>(labels[2 * i], labels[(2 * i) + 1]))])).Metric;
    }

    // One observable instrument per family; its callback reports every label set's current value.
    private sealed class Family
    {
        public Family(Meter meter, string name, string help, bool counter)
        {
            if (counter)
            {
                meter.CreateObservableCounter(name, Observe, description: help);
            }
            else
            {
                meter.CreateObservableUpDownCounter(name, Observe, description: help);
            }
        }

        public ConcurrentDictionary<string, (Metric Metric, KeyValuePair<string, object?>[] Tags)> Series { get; } = new(StringComparer.Ordinal);

        private IEnumerable<Measurement<long>> Observe() => Series.Values.Select(s => new Measurement<long>(s.Metric.Value, s.Tags));
    }

    private sealed class NodeMetricsProvider : ExtensionIdProvider<NodeMetrics>
    {
        public override NodeMetrics CreateExtension(ExtendedActorSystem system)
        {
            var metrics = new NodeMetrics();
            system.RegisterOnTermination(metrics.Dispose);
            return metrics;
        }
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
