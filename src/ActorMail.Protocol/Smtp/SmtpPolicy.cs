using System.Net;
using ActorMail.Protocol.Auth;

namespace ActorMail.Protocol.Smtp;

/// <summary>Everything the SMTP decider needs to know about this server: names, limits and local users.</summary>
/// <param name="Hostname">The name the server gives in its greeting and trace headers.</param>
/// <param name="MaxMessageSize">Largest body in octets (RFC 1870 SIZE).</param>
/// <param name="MaxRecipients">Recipients per message; one more gets 452 4.5.3.</param>
/// <param name="MaxBadCommands">Bad commands (the client's mistakes) without a delivered message that close the session with 421.</param>
/// <param name="MaxRefusedRecipients">Recipients refused by policy that close the session with 421.</param>
/// <param name="MaxJunkCommands">Commands that do no work, without a delivered message, that close the session with 421.</param>
/// <param name="LocalDomains">Domains delivered here (lower case); every other domain is refused, never relayed.</param>
/// <param name="LocalAddresses">Addresses of this server: an address literal of one of them (<c>[127.0.0.1]</c>) is a local domain (RFC 5321 §4.1.3).</param>
/// <param name="Users">Mailbox names of the local users.</param>
/// <param name="PostmasterMailbox">The mailbox that receives mail for postmaster.</param>
public sealed record SmtpPolicy(
    string Hostname,
    long MaxMessageSize,
    int MaxRecipients,
    int MaxBadCommands,
    int MaxRefusedRecipients,
    int MaxJunkCommands,
    IReadOnlySet<string> LocalDomains,
    IReadOnlySet<IPAddress> LocalAddresses,
    IReadOnlySet<string> Users,
    string PostmasterMailbox)
{
    /// <summary>STARTTLS is offered (RFC 3207): a certificate is configured or was generated.</summary>
    public bool TlsOffered { get; init; }

    /// <summary>AUTH PLAIN and LOGIN are offered (RFC 4954), where <see cref="ClearText"/> allows them.</summary>
    public bool AuthOffered { get; init; }

    /// <summary>Where AUTH may be used before TLS.</summary>
    public ClearTextAuth ClearText { get; init; } = ClearTextAuth.Always;

    /// <summary>MAIL needs a signed-in client (530 5.7.0 otherwise).</summary>
    public bool AuthRequired { get; init; }

    /// <summary>Development only: any user name and password are accepted without a check.</summary>
    public bool AcceptAnyCredentials { get; init; }

    /// <summary>Failed AUTH attempts that close the session.</summary>
    public int MaxAuthFailures { get; init; } = 3;

    /// <summary>True if AUTH may be used in a session in this state of security.</summary>
    public bool AuthAllowed(bool secure, bool loopback) => AuthOffered && ClearText.Allows(secure, loopback);
}
