using System.Net;

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
    string PostmasterMailbox);
