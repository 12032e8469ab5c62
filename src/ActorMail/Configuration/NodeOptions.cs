using System.Collections.Frozen;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Authentication;
using ActorMail.Protocol.Auth;
using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Pop3;
using ActorMail.Protocol.Session;
using ActorMail.Protocol.Smtp;
using Akka.Configuration;
using Serilog.Events;

namespace ActorMail.Configuration;

/// <summary>Which servers a node process runs.</summary>
public enum NodeRole
{
    All,
    Smtp,
    Pop3,
}

/// <summary>How the mailbox actors make a batch's spool files durable before linking them into new/ (which is then fsynced).</summary>
public enum StoreSync
{
    /// <summary>One syncfs(2) of the mail root's filesystem makes the batch's spool files durable.</summary>
    Syncfs,

    /// <summary>fsync(2) of each spool file makes it durable.</summary>
    Fsync,
}

/// <summary>What the console (standard output) gets of the log; the log files always get every line.</summary>
public enum LogConsole
{
    /// <summary>Every line on a terminal; warnings and errors only when standard output is redirected.</summary>
    Auto,

    /// <summary>Every line.</summary>
    All,

    /// <summary>Warnings and errors only.</summary>
    Warnings,
}

/// <summary>How log lines are written: plain text for people, compact JSON for machines.</summary>
public enum LogFormat
{
    /// <summary>One line of text per event.</summary>
    Text,

    /// <summary>Serilog's compact JSON, one object per line.</summary>
    Json,
}

/// <summary>A local user: mailbox name and PBKDF2 password hash.</summary>
public sealed record UserEntry(string Name, string PasswordHash);

/// <summary>
/// Who may connect, read the same way from <c>actormail.smtp</c>, <c>actormail.pop3</c> and
/// <c>actormail.http</c>: the keys every listener's <see cref="AdmissionControl"/> is built from.
/// </summary>
/// <param name="MaxConnections">Concurrent connections in all.</param>
/// <param name="MaxConnectionsPerAddress">Concurrent connections per client address.</param>
/// <param name="ConnectionRatePerAddress">Connections per second an address earns back (0: no rate limit).</param>
/// <param name="ConnectionBurstPerAddress">Connections an idle address may open at once.</param>
public sealed record AdmissionLimits(
    int MaxConnections,
    int MaxConnectionsPerAddress,
    double ConnectionRatePerAddress,
    int ConnectionBurstPerAddress)
{
    /// <summary>A new, empty admission count under these limits.</summary>
    public AdmissionControl NewControl() =>
        new(MaxConnections, MaxConnectionsPerAddress, ConnectionRatePerAddress, ConnectionBurstPerAddress);

    /// <summary>Reads the admission keys of one section; a bad value throws with the key's name.</summary>
    internal static AdmissionLimits From(Config config, string section)
    {
        var s = new NodeOptions.Section(config, section);
        var limits = new AdmissionLimits(
            MaxConnections: s.GetInt("max-connections"),
            MaxConnectionsPerAddress: s.GetInt("max-connections-per-address"),
            ConnectionRatePerAddress: s.GetDouble("connection-rate-per-address"),
            ConnectionBurstPerAddress: s.GetInt("connection-burst-per-address"));
        NodeOptions.Positive(limits.MaxConnections, $"{section}.max-connections");
        NodeOptions.Positive(limits.MaxConnectionsPerAddress, $"{section}.max-connections-per-address");
        NodeOptions.Positive(limits.ConnectionBurstPerAddress, $"{section}.connection-burst-per-address");
        if (limits.ConnectionRatePerAddress < 0)
        {
            throw new ConfigurationException($"{section}.connection-rate-per-address must be 0 (off) or more");
        }

        return limits;
    }
}

/// <summary>
/// The connection guards every session of one protocol shares, read the same way from
/// <c>actormail.smtp</c> and <c>actormail.pop3</c>.
/// </summary>
/// <param name="Admission">Who may connect.</param>
/// <param name="MaxUnsentOutput">Octets written and not yet acknowledged above which the session reads no further input.</param>
/// <param name="WriteTimeout">Longest wait for a write's acknowledgement before the connection is aborted.</param>
/// <param name="SessionLifetime">Longest a session may last, however busy.</param>
/// <param name="ListenBacklog">Connections the kernel keeps waiting to be accepted (the listen backlog).</param>
public sealed record SessionLimits(
    AdmissionLimits Admission,
    int MaxUnsentOutput,
    TimeSpan WriteTimeout,
    TimeSpan SessionLifetime,
    int ListenBacklog)
{
    /// <summary>Reads the guard keys of one protocol's section; a bad value throws with the key's name.</summary>
    internal static SessionLimits From(Config config, string section)
    {
        var s = new NodeOptions.Section(config, section);
        var limits = new SessionLimits(
            Admission: AdmissionLimits.From(config, section),
            MaxUnsentOutput: s.GetInt("max-unsent-output"),
            WriteTimeout: s.GetTimeSpan("write-timeout"),
            SessionLifetime: s.GetTimeSpan("session-lifetime"),
            ListenBacklog: s.GetInt("listen-backlog"));
        NodeOptions.Positive(limits.ListenBacklog, $"{section}.listen-backlog");
        NodeOptions.Positive(limits.MaxUnsentOutput, $"{section}.max-unsent-output");
        NodeOptions.Positive(limits.WriteTimeout.Ticks, $"{section}.write-timeout");
        NodeOptions.Positive(limits.SessionLifetime.Ticks, $"{section}.session-lifetime");
        return limits;
    }
}

/// <summary>Password checks and the guessing throttle, from <c>actormail.auth</c>.</summary>
/// <param name="Concurrency">Password checks that run at once, each on a thread of its own.</param>
/// <param name="MaxQueued">Checks that may wait for a thread; one more is answered "busy" at once.</param>
/// <param name="ThrottleWindow">Length of the window in which failures are counted.</param>
/// <param name="MaxFailuresPerAddress">Failed sign-ins per client address in a window before further attempts are refused unchecked.</param>
/// <param name="MaxFailuresPerUser">Failed sign-ins per user name in a window before attempts from addresses that failed too are refused unchecked.</param>
/// <param name="ClearText">Where a password may be sent before TLS.</param>
public sealed record AuthOptions(int Concurrency, int MaxQueued, TimeSpan ThrottleWindow, int MaxFailuresPerAddress, int MaxFailuresPerUser, ClearTextAuth ClearText);

/// <summary>STARTTLS and STLS, from <c>actormail.tls</c>.</summary>
/// <param name="Enabled">Whether STARTTLS and STLS are offered.</param>
/// <param name="Certificate">PEM certificate path, or empty to use a generated one.</param>
/// <param name="Key">PEM private key path, or empty to use a generated one.</param>
/// <param name="Protocols">TLS versions offered (1.2 and 1.3 only).</param>
/// <param name="HandshakeTimeout">Longest a handshake may take.</param>
/// <param name="GeneratedValidityDays">Days a generated certificate is valid.</param>
/// <param name="MaxBufferedInput">Octets of received TLS records held for decryption at once.</param>
/// <param name="SmtpPort">The implicit-TLS SMTP port, or null for none.</param>
/// <param name="Pop3Port">The implicit-TLS POP3 port, or null for none.</param>
public sealed record TlsOptions(
    bool Enabled,
    string Certificate,
    string Key,
    SslProtocols Protocols,
    TimeSpan HandshakeTimeout,
    int GeneratedValidityDays,
    int MaxBufferedInput,
    int? SmtpPort,
    int? Pop3Port)
{
    /// <summary>True when a certificate is to be generated rather than read.</summary>
    public bool Generates => Certificate.Length == 0 && Key.Length == 0;
}

/// <summary>The HTTP API's settings, from <c>actormail.http</c>.</summary>
/// <param name="Enabled">Whether a process that serves POP3 also serves HTTP.</param>
/// <param name="Port">TCP port on <c>actormail.bind</c>; 0 takes any free port.</param>
/// <param name="Admins">Users who may see every mailbox.</param>
/// <param name="CredentialsTtl">How long verified credentials are remembered.</param>
/// <param name="MaxCachedCredentials">Verified credentials remembered at once.</param>
/// <param name="Admission">Who may connect, by the same rules as SMTP and POP3.</param>
/// <param name="IdleTimeout">A keep-alive connection with no request for this long is closed.</param>
/// <param name="RequestHeadersTimeout">A request's headers must be complete this long after it starts.</param>
/// <param name="StoreTimeout">Longest wait for a mailbox actor or the password checker.</param>
/// <param name="DefaultPageSize">Messages per page without <c>?limit</c>.</param>
/// <param name="MaxPageSize">The largest <c>?limit</c> accepted.</param>
/// <param name="SnippetLength">Characters of body text in a listing entry.</param>
/// <param name="EventBuffer">Events buffered for one slow events client before its stream ends.</param>
/// <param name="EventHeartbeat">How often an idle events stream gets a comment line.</param>
/// <param name="DefaultWait">How long a wait request without <c>?timeout</c> waits.</param>
/// <param name="MaxWait">The longest <c>?timeout</c> a wait request may ask for.</param>
/// <param name="MaxWaiters">Wait requests waiting at once; the next is answered 503.</param>
/// <param name="MaxRequestLine">Octets of a request line (method, target, version) Kestrel reads; past it 414.</param>
public sealed record HttpOptions(
    bool Enabled,
    int Port,
    IReadOnlyList<string> Admins,
    TimeSpan CredentialsTtl,
    int MaxCachedCredentials,
    AdmissionLimits Admission,
    TimeSpan IdleTimeout,
    TimeSpan RequestHeadersTimeout,
    TimeSpan StoreTimeout,
    int DefaultPageSize,
    int MaxPageSize,
    int SnippetLength,
    int EventBuffer,
    TimeSpan EventHeartbeat,
    TimeSpan DefaultWait,
    TimeSpan MaxWait,
    int MaxWaiters,
    int MaxRequestLine);

/// <summary>The web page's sessions view, from <c>actormail.journal</c>: how much of the recent SMTP and POP3 sessions is kept in memory.</summary>
/// <param name="Sessions">Sessions kept; the oldest is dropped for a new one.</param>
/// <param name="Commands">Commands kept per session; later ones are counted, not kept.</param>
/// <param name="ReplyLines">Lines kept of one reply (a LIST or CAPA answer).</param>
/// <param name="LineChars">Characters kept of one command line or reply line.</param>
public sealed record JournalOptions(int Sessions, int Commands, int ReplyLines, int LineChars);

/// <summary>Scale-out over Akka.Cluster, from <c>actormail.cluster</c>.</summary>
/// <param name="Enabled">Whether this node joins a cluster; off, it runs on its own.</param>
/// <param name="Host">The address remoting binds and other nodes reach this one at.</param>
/// <param name="Port">Remoting's TCP port; 0 takes any free port.</param>
/// <param name="SeedNodes">The nodes to join, as <c>host:port</c>; empty: this node starts a cluster.</param>
/// <param name="Shards">Shards the mailboxes are spread over.</param>
/// <param name="SplitBrainStrategy">The split-brain resolver's strategy.</param>
/// <param name="StableAfter">How long membership must be stable before the resolver downs the unreachable side.</param>
/// <param name="MaxFrameSize">Largest message between two nodes, in octets.</param>
/// <param name="PassivateIdleAfter">A mailbox actor idle this long stops, unless its maildrop is held.</param>
/// <param name="StaleAfter">A spool or tmp/ file of another node untouched this long is swept at start.</param>
/// <param name="StoreResendInterval">How often an SMTP session asks again the mailboxes that have not answered a delivery.</param>
/// <param name="QueryTimeout">How long <c>actormail cluster</c> waits for the node it asks.</param>
/// <param name="ShardStatsTimeout">How long the asked node waits for the other nodes' shard regions to say which shards they host.</param>
public sealed record ClusterOptions(
    bool Enabled,
    string Host,
    int Port,
    IReadOnlyList<string> SeedNodes,
    int Shards,
    string SplitBrainStrategy,
    TimeSpan StableAfter,
    int MaxFrameSize,
    TimeSpan PassivateIdleAfter,
    TimeSpan StaleAfter,
    TimeSpan StoreResendInterval,
    TimeSpan QueryTimeout,
    TimeSpan ShardStatsTimeout)
{
    /// <summary>The actor system's name: one cluster's nodes must all use it, and it is part of every seed's address.</summary>
    public const string SystemName = "actormail";

    /// <summary>Akka's own lower bound for a remote frame.</summary>
    private const int SmallestFrame = 32000;

    /// <summary>The Akka address of a <c>host:port</c> seed.</summary>
    public static string SeedAddress(string seed) => $"akka.tcp://{SystemName}@{seed}";

    internal static ClusterOptions From(Config config)
    {
        const string section = "actormail.cluster";
        var c = new NodeOptions.Section(config, section);
        var options = new ClusterOptions(
            Enabled: c.GetBoolean("enabled"),
            Host: c.GetString("host"),
            Port: c.GetInt("port"),
            SeedNodes: [.. c.GetStringList("seed-nodes").Select(n => n.Trim())],
            Shards: c.GetInt("shards"),
            SplitBrainStrategy: c.GetString("split-brain-strategy"),
            StableAfter: c.GetTimeSpan("stable-after"),
            MaxFrameSize: c.GetInt("max-frame-size"),
            PassivateIdleAfter: c.GetTimeSpan("passivate-idle-after"),
            StaleAfter: c.GetTimeSpan("stale-after"),
            StoreResendInterval: c.GetTimeSpan("store-resend-interval"),
            QueryTimeout: c.GetTimeSpan("query-timeout"),
            ShardStatsTimeout: c.GetTimeSpan("shard-stats-timeout"));
        NodeOptions.PortNumber(options.Port, $"{section}.port");
        NodeOptions.Positive(options.Shards, $"{section}.shards");
        NodeOptions.Positive(options.StableAfter.Ticks, $"{section}.stable-after");
        NodeOptions.Positive(options.PassivateIdleAfter.Ticks, $"{section}.passivate-idle-after");
        NodeOptions.Positive(options.StaleAfter.Ticks, $"{section}.stale-after");
        NodeOptions.Positive(options.StoreResendInterval.Ticks, $"{section}.store-resend-interval");
        NodeOptions.Positive(options.ShardStatsTimeout.Ticks, $"{section}.shard-stats-timeout");
        if (options.QueryTimeout <= options.ShardStatsTimeout)
        {
            throw new ConfigurationException($"{section}.query-timeout must be longer than {section}.shard-stats-timeout");
        }

        if (string.IsNullOrWhiteSpace(options.Host))
        {
            throw new ConfigurationException($"{section}.host must not be empty");
        }

        if (options.MaxFrameSize < SmallestFrame)
        {
            throw new ConfigurationException($"{section}.max-frame-size must be at least {SmallestFrame} octets");
        }

        if (options.SplitBrainStrategy is not ("keep-majority" or "keep-oldest" or "static-quorum" or "keep-referee" or "down-all"))
        {
            throw new ConfigurationException($"{section}.split-brain-strategy: '{options.SplitBrainStrategy}' is not one of keep-majority, keep-oldest, static-quorum, keep-referee, down-all");
        }

        if (options.SeedNodes.FirstOrDefault(n => !IsHostAndPort(n)) is { } bad)
        {
            throw new ConfigurationException($"{section}.seed-nodes: '{bad}' is not host:port");
        }

        return options;
    }

    private static bool IsHostAndPort(string seed)
    {
        var colon = seed.LastIndexOf(':');
        return colon > 0
            && int.TryParse(seed.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535;
    }
}

/// <summary>SMTP settings from <c>actormail.smtp</c>.</summary>
public sealed record SmtpOptions(
    int Port,
    long MaxMessageSize,
    int MaxRecipients,
    int MaxCommandLine,
    int MaxTextLine,
    TimeSpan IdleTimeout,
    TimeSpan CommandTimeout,
    TimeSpan DataTimeout,
    int MaxBadCommands,
    int MaxRefusedRecipients,
    int MaxJunkCommands,
    BareNewlinePolicy BareNewline,
    NulPolicy NulInBody,
    TimeSpan StoreTimeout,
    SessionLimits Limits,
    bool Auth,
    bool AuthRequired,
    bool AuthAcceptAny,
    TimeSpan AuthFailureDelay,
    int MaxAuthFailures) : ISessionSettings;

/// <summary>POP3 settings from <c>actormail.pop3</c>.</summary>
public sealed record Pop3Options(
    int Port,
    TimeSpan IdleTimeout,
    TimeSpan CommandTimeout,
    int MaxCommandLine,
    int MaxBadCommands,
    int MaxJunkCommands,
    TimeSpan AuthFailureDelay,
    int MaxAuthFailures,
    int RetrChunkSize,
    SessionLimits Limits,
    bool Sasl) : ISessionSettings;

/// <summary>What every session takes from its protocol's settings: the command line, its time limits and the guards.</summary>
public interface ISessionSettings
{
    /// <summary>The longest command line in octets, line end included.</summary>
    int MaxCommandLine { get; }

    /// <summary>A session waiting for a command this long is closed.</summary>
    TimeSpan IdleTimeout { get; }

    /// <summary>A command line that has begun must end within this.</summary>
    TimeSpan CommandTimeout { get; }

    /// <summary>Admission, output bound, write timeout and lifetime.</summary>
    SessionLimits Limits { get; }
}

/// <summary>The node's settings, bound once from HOCON and passed into actors' Props.</summary>
public sealed record NodeOptions(
    string Hostname,
    string Bind,
    string DataRoot,
    string LogDirectory,
    LogFormat LogFormat,
    LogEventLevel LogLevel,
    LogConsole LogConsole,
    TimeSpan LogFlushInterval,
    long LogFileSizeLimit,
    int LogFilesKept,
    NodeRole Role,
    IReadOnlyList<string> LocalDomains,
    string Postmaster,
    IReadOnlyList<UserEntry> Users,
    TimeSpan ShutdownTimeout,
    StoreSync StoreSync,
    TimeSpan ListingSettleTime,
    AuthOptions Auth,
    SmtpOptions Smtp,
    Pop3Options Pop3,
    TlsOptions Tls,
    HttpOptions Http,
    JournalOptions Journal,
    ClusterOptions Cluster)
{
    /// <summary>
    /// This node's id on a mail root that cluster nodes share (<c>host-port</c> of its cluster
    /// address), which ends the names of its spool files; null when the node runs alone.
    /// </summary>
    public string? NodeId { get; init; }

    /// <summary>True if this process serves SMTP.</summary>
    public bool RunsSmtp => Role is NodeRole.All or NodeRole.Smtp;

    /// <summary>True if this process serves POP3.</summary>
    public bool RunsPop3 => Role is NodeRole.All or NodeRole.Pop3;

    /// <summary>
    /// True if this process serves the HTTP API: with POP3 (roles all and pop3), whose mailbox
    /// actors hold the maildrop locks that an HTTP delete must respect.
    /// </summary>
    public bool RunsHttp => Http.Enabled && RunsPop3;

    /// <summary>Reads <c>actormail.*</c> and checks it; a bad value throws with the key's name.</summary>
    public static NodeOptions FromConfig(Config config)
    {
        var c = new Section(config, "actormail");
        var s = new Section(config, "actormail.smtp");
        var p = new Section(config, "actormail.pop3");
        var a = new Section(config, "actormail.auth");
        var h = new Section(config, "actormail.http");
        var j = new Section(config, "actormail.journal");
        var t = new Section(config, "actormail.tls");
        var users = (config.GetConfig("actormail.users") ?? throw new ConfigurationException("missing section actormail.users")).AsEnumerable()
            .Select(kv => new UserEntry(kv.Key, kv.Value.GetString()))
            .OrderBy(u => u.Name, StringComparer.Ordinal)
            .ToList();

        var options = new NodeOptions(
            Hostname: c.GetString("hostname"),
            Bind: c.GetString("bind"),
            DataRoot: Path.GetFullPath(c.GetString("data")),
            LogDirectory: Path.GetFullPath(c.GetString("logs")),
            LogFormat: ParseEnum<LogFormat>(c.GetString("log-format"), "actormail.log-format"),
            LogLevel: ParseEnum<LogEventLevel>(c.GetString("log-level"), "actormail.log-level"),
            LogConsole: ParseEnum<LogConsole>(c.GetString("log-console"), "actormail.log-console"),
            LogFlushInterval: c.GetTimeSpan("log-flush-interval"),
            LogFileSizeLimit: c.GetLong("log-file-size-limit"),
            LogFilesKept: c.GetInt("log-files-kept"),
            Role: ParseEnum<NodeRole>(c.GetString("role"), "actormail.role"),
            LocalDomains: c.GetStringList("local-domains").Select(d => d.ToLowerInvariant()).ToList(),
            Postmaster: c.GetString("postmaster"),
            Users: users,
            ShutdownTimeout: c.GetTimeSpan("shutdown-timeout"),
            StoreSync: ParseEnum<StoreSync>(new Section(config, "actormail.store").GetString("sync"), "actormail.store.sync"),
            ListingSettleTime: new Section(config, "actormail.store").GetTimeSpan("listing-settle-time"),
            Auth: new AuthOptions(
                Concurrency: a.GetInt("concurrency"),
                MaxQueued: a.GetInt("max-queued"),
                ThrottleWindow: a.GetTimeSpan("throttle-window"),
                MaxFailuresPerAddress: a.GetInt("max-failures-per-address"),
                MaxFailuresPerUser: a.GetInt("max-failures-per-user"),
                ClearText: ParseEnum<ClearTextAuth>(a.GetString("clear-text"), "actormail.auth.clear-text")),
            Smtp: new SmtpOptions(
                Port: s.GetInt("port"),
                MaxMessageSize: s.GetLong("max-message-size"),
                MaxRecipients: s.GetInt("max-recipients"),
                MaxCommandLine: s.GetInt("max-command-line"),
                MaxTextLine: s.GetInt("max-text-line"),
                IdleTimeout: s.GetTimeSpan("idle-timeout"),
                CommandTimeout: s.GetTimeSpan("command-timeout"),
                DataTimeout: s.GetTimeSpan("data-timeout"),
                MaxBadCommands: s.GetInt("max-bad-commands"),
                MaxRefusedRecipients: s.GetInt("max-refused-recipients"),
                MaxJunkCommands: s.GetInt("max-junk-commands"),
                BareNewline: ParseEnum<BareNewlinePolicy>(s.GetString("bare-newline"), "actormail.smtp.bare-newline"),
                NulInBody: ParseEnum<NulPolicy>(s.GetString("nul-in-body"), "actormail.smtp.nul-in-body"),
                StoreTimeout: s.GetTimeSpan("store-timeout"),
                Limits: SessionLimits.From(config, "actormail.smtp"),
                Auth: s.GetBoolean("auth"),
                AuthRequired: s.GetBoolean("auth-required"),
                AuthAcceptAny: s.GetBoolean("auth-accept-any"),
                AuthFailureDelay: s.GetTimeSpan("auth-failure-delay"),
                MaxAuthFailures: s.GetInt("max-auth-failures")),
            Pop3: new Pop3Options(
                Port: p.GetInt("port"),
                IdleTimeout: p.GetTimeSpan("idle-timeout"),
                CommandTimeout: p.GetTimeSpan("command-timeout"),
                MaxCommandLine: p.GetInt("max-command-line"),
                MaxBadCommands: p.GetInt("max-bad-commands"),
                MaxJunkCommands: p.GetInt("max-junk-commands"),
                AuthFailureDelay: p.GetTimeSpan("auth-failure-delay"),
                MaxAuthFailures: p.GetInt("max-auth-failures"),
                RetrChunkSize: p.GetInt("retr-chunk-size"),
                Limits: SessionLimits.From(config, "actormail.pop3"),
                Sasl: p.GetBoolean("sasl")),
            Tls: new TlsOptions(
                Enabled: t.GetBoolean("enabled"),
                Certificate: t.GetString("certificate"),
                Key: t.GetString("key"),
                Protocols: TlsVersions(t.GetStringList("protocols")),
                HandshakeTimeout: t.GetTimeSpan("handshake-timeout"),
                GeneratedValidityDays: t.GetInt("generated-validity-days"),
                MaxBufferedInput: t.GetInt("max-buffered-input"),
                SmtpPort: OptionalPort(t.GetString("smtp-port"), "actormail.tls.smtp-port"),
                Pop3Port: OptionalPort(t.GetString("pop3-port"), "actormail.tls.pop3-port")),
            Http: new HttpOptions(
                Enabled: h.GetBoolean("enabled"),
                Port: h.GetInt("port"),
                Admins: [.. h.GetStringList("admins")],
                CredentialsTtl: h.GetTimeSpan("credentials-ttl"),
                MaxCachedCredentials: h.GetInt("max-cached-credentials"),
                Admission: AdmissionLimits.From(config, "actormail.http"),
                IdleTimeout: h.GetTimeSpan("idle-timeout"),
                RequestHeadersTimeout: h.GetTimeSpan("request-headers-timeout"),
                StoreTimeout: h.GetTimeSpan("store-timeout"),
                DefaultPageSize: h.GetInt("default-page-size"),
                MaxPageSize: h.GetInt("max-page-size"),
                SnippetLength: h.GetInt("snippet-length"),
                EventBuffer: h.GetInt("event-buffer"),
                EventHeartbeat: h.GetTimeSpan("event-heartbeat"),
                DefaultWait: h.GetTimeSpan("default-wait"),
                MaxWait: h.GetTimeSpan("max-wait"),
                MaxWaiters: h.GetInt("max-waiters"),
                MaxRequestLine: h.GetInt("max-request-line")),
            Journal: new JournalOptions(
                Sessions: j.GetInt("sessions"),
                Commands: j.GetInt("commands"),
                ReplyLines: j.GetInt("reply-lines"),
                LineChars: j.GetInt("line-chars")),
            Cluster: ClusterOptions.From(config));
        options.Validate();
        return options;
    }

    /// <summary>The SMTP decider's view of these settings; <paramref name="tls"/> says whether a certificate is at hand.</summary>
    public SmtpPolicy ToSmtpPolicy(bool tls = false) => new(
        Hostname,
        Smtp.MaxMessageSize,
        Smtp.MaxRecipients,
        Smtp.MaxBadCommands,
        Smtp.MaxRefusedRecipients,
        Smtp.MaxJunkCommands,
        LocalDomains.ToFrozenSet(StringComparer.Ordinal),
        BoundAddresses(),
        Users.Select(u => u.Name).ToFrozenSet(StringComparer.Ordinal),
        Postmaster)
    {
        TlsOffered = tls,
        AuthOffered = Smtp.Auth,
        ClearText = Auth.ClearText,
        AuthRequired = Smtp.AuthRequired,
        AcceptAnyCredentials = Smtp.AuthAcceptAny,
        MaxAuthFailures = Smtp.MaxAuthFailures,
    };

    /// <summary>The POP3 decider's view of these settings; <paramref name="tls"/> says whether a certificate is at hand.</summary>
    public Pop3Policy ToPop3Policy(bool tls = false) => new(Pop3.MaxBadCommands, Pop3.MaxAuthFailures, Pop3.MaxJunkCommands)
    {
        TlsOffered = tls,
        SaslOffered = Pop3.Sasl,
        ClearText = Auth.ClearText,
    };

    // The addresses a connection can come in on: the bound one, or when bound to every address, the
    // machine's own as they are at start-up (the session does not know which one a connection used).
    private FrozenSet<IPAddress> BoundAddresses()
    {
        var bound = IPAddress.Parse(Bind);
        if (!bound.Equals(IPAddress.Any) && !bound.Equals(IPAddress.IPv6Any))
        {
            return new[] { bound }.ToFrozenSet();
        }

        return NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address.AddressFamily == AddressFamily.InterNetworkV6 ? new IPAddress(u.Address.GetAddressBytes()) : u.Address)
            .ToFrozenSet();
    }

    private void Validate()
    {
        foreach (var user in Users)
        {
            if (!MailboxName.IsValid(user.Name))
            {
                throw new ConfigurationException($"actormail.users: '{user.Name}' is not a valid mailbox name ([a-z0-9][a-z0-9._-]{{0,63}}, no '..')");
            }

            if (!PasswordHash.IsWellFormed(user.PasswordHash))
            {
                throw new ConfigurationException($"actormail.users: the password of '{user.Name}' is not a pbkdf2-sha256 hash line (make one with: actormail hash-password)");
            }
        }

        if (Users.Select(u => u.Name).Distinct(StringComparer.Ordinal).Count() != Users.Count)
        {
            throw new ConfigurationException("actormail.users: a user name appears twice");
        }

        if (!Users.Any(u => u.Name == Postmaster))
        {
            throw new ConfigurationException($"actormail.postmaster: '{Postmaster}' is not one of actormail.users");
        }

        if (LogFlushInterval <= TimeSpan.Zero)
        {
            throw new ConfigurationException("actormail.log-flush-interval: must be more than 0");
        }

        PortNumber(Smtp.Port, "actormail.smtp.port");
        PortNumber(Pop3.Port, "actormail.pop3.port");
        Positive(LogFileSizeLimit, "actormail.log-file-size-limit");
        Positive(LogFilesKept, "actormail.log-files-kept");
        Positive(Smtp.MaxMessageSize, "actormail.smtp.max-message-size");
        Positive(Smtp.MaxRecipients, "actormail.smtp.max-recipients");
        Positive(Smtp.MaxBadCommands, "actormail.smtp.max-bad-commands");
        Positive(Smtp.MaxRefusedRecipients, "actormail.smtp.max-refused-recipients");
        Positive(Smtp.MaxJunkCommands, "actormail.smtp.max-junk-commands");
        Positive(Pop3.MaxBadCommands, "actormail.pop3.max-bad-commands");
        Positive(Pop3.MaxJunkCommands, "actormail.pop3.max-junk-commands");
        Positive(Auth.Concurrency, "actormail.auth.concurrency");
        Positive(Auth.MaxQueued, "actormail.auth.max-queued");
        Positive(Auth.ThrottleWindow.Ticks, "actormail.auth.throttle-window");
        Positive(Auth.MaxFailuresPerAddress, "actormail.auth.max-failures-per-address");
        Positive(Auth.MaxFailuresPerUser, "actormail.auth.max-failures-per-user");
        Positive(Pop3.MaxAuthFailures, "actormail.pop3.max-auth-failures");
        Positive(Pop3.RetrChunkSize, "actormail.pop3.retr-chunk-size");
        Positive(ListingSettleTime.Ticks, "actormail.store.listing-settle-time");
        Positive(Smtp.MaxAuthFailures, "actormail.smtp.max-auth-failures");
        if (Smtp.AuthFailureDelay < TimeSpan.Zero)
        {
            throw new ConfigurationException("actormail.smtp.auth-failure-delay must be 0 or more");
        }

        Positive(Tls.HandshakeTimeout.Ticks, "actormail.tls.handshake-timeout");
        Positive(Tls.GeneratedValidityDays, "actormail.tls.generated-validity-days");
        Positive(Tls.MaxBufferedInput, "actormail.tls.max-buffered-input");
        if (Tls.Certificate.Length == 0 != (Tls.Key.Length == 0))
        {
            throw new ConfigurationException("actormail.tls.certificate and actormail.tls.key: give both, or neither to use a generated certificate");
        }
        ValidateHttp();
        Positive(Journal.Sessions, "actormail.journal.sessions");
        Positive(Journal.Commands, "actormail.journal.commands");
        Positive(Journal.ReplyLines, "actormail.journal.reply-lines");
        Positive(Journal.LineChars, "actormail.journal.line-chars");
        if (Smtp.MaxCommandLine < 64 || Smtp.MaxTextLine < 64 || Pop3.MaxCommandLine < 64)
        {
            throw new ConfigurationException("actormail: line limits must be at least 64 octets");
        }
    }

    private void ValidateHttp()
    {
        if (Http.Admins.FirstOrDefault(a => !Users.Any(u => u.Name == a)) is { } admin)
        {
            throw new ConfigurationException($"actormail.http.admins: '{admin}' is not one of actormail.users");
        }

        if (Http.Port is < 0 or > 65535)
        {
            throw new ConfigurationException("actormail.http.port must be 0 (any free port) to 65535");
        }

        Positive(Http.CredentialsTtl.Ticks, "actormail.http.credentials-ttl");
        Positive(Http.MaxCachedCredentials, "actormail.http.max-cached-credentials");
        Positive(Http.IdleTimeout.Ticks, "actormail.http.idle-timeout");
        Positive(Http.RequestHeadersTimeout.Ticks, "actormail.http.request-headers-timeout");
        Positive(Http.StoreTimeout.Ticks, "actormail.http.store-timeout");
        Positive(Http.DefaultPageSize, "actormail.http.default-page-size");
        Positive(Http.MaxPageSize, "actormail.http.max-page-size");
        Positive(Http.SnippetLength, "actormail.http.snippet-length");
        Positive(Http.EventBuffer, "actormail.http.event-buffer");
        Positive(Http.EventHeartbeat.Ticks, "actormail.http.event-heartbeat");
        Positive(Http.MaxWait.Ticks, "actormail.http.max-wait");
        Positive(Http.MaxWaiters, "actormail.http.max-waiters");
        Positive(Http.MaxRequestLine, "actormail.http.max-request-line");
        if (Http.DefaultWait < TimeSpan.Zero || Http.DefaultWait > Http.MaxWait)
        {
            throw new ConfigurationException("actormail.http.default-wait must be 0 to actormail.http.max-wait");
        }

        if (Http.DefaultPageSize > Http.MaxPageSize)
        {
            throw new ConfigurationException("actormail.http.default-page-size must not exceed actormail.http.max-page-size");
        }
    }

    // Reads keys by full path: GetConfig on a sub-section is avoided (see NodeConfig).
    internal readonly record struct Section(Config Config, string Prefix)
    {
        public string GetString(string key) => Config.GetString(Path(key)) ?? throw Missing(key);

        public int GetInt(string key) => Config.GetInt(Path(key));

        public bool GetBoolean(string key) => Config.GetBoolean(Path(key));

        public long GetLong(string key) => Config.GetLong(Path(key));

        public double GetDouble(string key) => Config.GetDouble(Path(key));

        public TimeSpan GetTimeSpan(string key) => Config.GetTimeSpan(Path(key));

        public IList<string> GetStringList(string key) => Config.GetStringList(Path(key));

        private string Path(string key)
        {
            var path = $"{Prefix}.{key}";
            return Config.HasPath(path) ? path : throw Missing(key);
        }

        private ConfigurationException Missing(string key) => new($"missing setting {Prefix}.{key}");
    }

    internal static void Positive(long value, string key)
    {
        if (value <= 0)
        {
            throw new ConfigurationException($"{key} must be positive");
        }
    }

    // 0 asks the system for any free port; serve --ready-file tells the parent which one it got.
    internal static void PortNumber(int value, string key)
    {
        if (value is < 0 or > 65535)
        {
            throw new ConfigurationException($"{key} must be 0 (any free port) to 65535");
        }
    }

    // off, or a port number (0: any free port).
    private static int? OptionalPort(string text, string key)
    {
        if (text.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port))
        {
            throw new ConfigurationException($"{key} must be off or a port number");
        }

        PortNumber(port, key);
        return port;
    }

    // "1.2" and "1.3" only: nothing older is offered.
    private static SslProtocols TlsVersions(IList<string> names)
    {
        var protocols = SslProtocols.None;
        foreach (var name in names)
        {
            protocols |= name switch
            {
                "1.2" => SslProtocols.Tls12,
                "1.3" => SslProtocols.Tls13,
                _ => throw new ConfigurationException($"actormail.tls.protocols: '{name}' is not one of 1.2, 1.3"),
            };
        }

        return protocols == SslProtocols.None
            ? throw new ConfigurationException("actormail.tls.protocols must name 1.2, 1.3 or both")
            : protocols;
    }

    private static T ParseEnum<T>(string text, string key)
        where T : struct, Enum =>
        Enum.TryParse<T>(text, ignoreCase: true, out var value) && Enum.IsDefined(value)
            ? value
            : throw new ConfigurationException($"{key}: '{text}' is not one of {string.Join(", ", Enum.GetNames<T>()).ToLowerInvariant()}");
}
