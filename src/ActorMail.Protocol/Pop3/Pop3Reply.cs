using ActorMail.Protocol.Session;
using System.Text;

namespace ActorMail.Protocol.Pop3;

/// <summary>One POP3 response: <c>+OK</c> or <c>-ERR</c>, an optional RFC 2449 response code, text, and for multi-line responses the lines and the final dot.</summary>
/// <param name="Ok">True for <c>+OK</c>.</param>
/// <param name="Text">The text on the status line.</param>
/// <param name="Code">A response code such as <c>AUTH</c> or <c>IN-USE</c>, shown in brackets, or null.</param>
/// <param name="Lines">The lines of a multi-line response (dot-stuffed when rendered), or null for a one-line response.</param>
/// <param name="Continuation">A SASL continuation (<c>+ </c> and a base64 challenge, RFC 5034 §4) rather than a status line.</param>
public sealed record Pop3Reply(bool Ok, string Text, string? Code = null, IReadOnlyList<string>? Lines = null, bool Continuation = false) : ISessionReply
{
    /// <summary>The response on the wire, CRLF after each line.</summary>
    public string Render()
    {
        if (Continuation)
        {
            return $"+ {Text}\r\n";
        }

        var sb = new StringBuilder(Ok ? "+OK" : "-ERR");
        if (Code is not null)
        {
            sb.Append(" [").Append(Code).Append(']');
        }

        if (Text.Length > 0)
        {
            sb.Append(' ').Append(Text);
        }

        sb.Append("\r\n");
        if (Lines is not null)
        {
            foreach (var line in Lines)
            {
                if (line.StartsWith('.'))
                {
                    sb.Append('.');
                }

                sb.Append(line).Append("\r\n");
            }

            sb.Append(".\r\n");
        }

        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => Render().TrimEnd();
}

/// <summary>Every POP3 response the server sends, each in one place.</summary>
public static class Pop3Replies
{
    /// <summary>The capabilities CAPA lists (RFC 2449).</summary>
    public static IReadOnlyList<string> Capabilities { get; } =
        ["TOP", "USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "IMPLEMENTATION ActorMail"];

    public static Pop3Reply Greeting { get; } = new(true, "ActorMail POP3 server ready");

    public static Pop3Reply Capa { get; } = new(true, "Capability list follows", Lines: Capabilities);

    /// <summary>
    /// CAPA for one session: USER only where a clear-text password is allowed (Dovecot's rule),
    /// STLS where TLS can still be started, SASL PLAIN where AUTH may be used.
    /// </summary>
    public static Pop3Reply CapaFor(bool user, bool stls, bool sasl) =>
        user && !stls && !sasl
            ? Capa
            : new(true, "Capability list follows", Lines:
            [
                .. Capabilities.Where(c => user || c != "USER"),
                .. stls ? ["STLS"] : Array.Empty<string>(),
                .. sasl ? ["SASL PLAIN"] : Array.Empty<string>(),
            ]);

    /// <summary>STLS accepted: the next octets are the TLS handshake (RFC 2595 §4).</summary>
    public static Pop3Reply BeginTls { get; } = new(true, "Begin TLS negotiation");

    public static Pop3Reply TlsActive { get; } = new(false, "TLS already active");

    /// <summary>USER, PASS or AUTH where a clear-text password is not allowed: STLS first.</summary>
    public static Pop3Reply ClearTextRefused { get; } = new(false, "Clear-text sign-in is not allowed here: use STLS first", "AUTH");

    /// <summary>The empty challenge of AUTH PLAIN without an initial response (RFC 5034 §4).</summary>
    public static Pop3Reply EmptyChallenge { get; } = new(true, string.Empty, Continuation: true);

    public static Pop3Reply UnknownMechanism { get; } = new(false, "Unsupported authentication mechanism");

    public static Pop3Reply AuthCancelled { get; } = new(false, "Authentication cancelled");

    public static Pop3Reply CannotDecode { get; } = new(false, "Cannot decode response");

    public static Pop3Reply UserAccepted { get; } = new(true, "Send PASS");

    public static Pop3Reply SignOff { get; } = new(true, "ActorMail POP3 server signing off");

    public static Pop3Reply Noop { get; } = new(true, string.Empty);

    public static Pop3Reply AuthFailed { get; } = new(false, "Invalid user name or password", "AUTH");

    public static Pop3Reply InUse { get; } = new(false, "Maildrop is in use by another session", "IN-USE");

    public static Pop3Reply MaildropUnavailable { get; } = new(false, "Maildrop cannot be opened now", "SYS/TEMP");

    public static Pop3Reply MaildropLost { get; } = new(false, "Maildrop lost after a server fault, nothing deleted", "SYS/TEMP");

    public static Pop3Reply CommitFailed { get; } = new(false, "Some deleted messages were not removed", "SYS/TEMP");

    public static Pop3Reply TooManyConnections { get; } = new(false, "Too many connections, try again later", "SYS/TEMP");

    public static Pop3Reply IdleTimeout { get; } = new(false, "Idle timeout, closing connection");

    public static Pop3Reply LifetimeOver { get; } = new(false, "Session too long, closing connection", "SYS/TEMP");

    public static Pop3Reply AuthBusy { get; } = new(false, "Too many sign-ins in progress, try again later", "SYS/TEMP");

    public static Pop3Reply AddressFull { get; } = new(false, "Too many connections from your address, try again later", "SYS/TEMP");

    public static Pop3Reply AddressTooFast { get; } = new(false, "Connecting too fast, try again later", "SYS/TEMP");

    public static Pop3Reply CommandTimeout { get; } = new(false, "Command too slow, closing connection");

    public static Pop3Reply ShuttingDown { get; } = new(false, "Server shutting down, closing connection", "SYS/TEMP");

    public static Pop3Reply TooManyErrors { get; } = new(false, "Too many errors, closing connection");

    public static Pop3Reply TooManyAuthFailures { get; } = new(false, "Too many failed sign-ins, closing connection", "AUTH");

    public static Pop3Reply UnknownCommand { get; } = new(false, "Unknown command");

    public static Pop3Reply LineTooLong { get; } = new(false, "Line too long");

    public static Pop3Reply NeedUser { get; } = new(false, "Send USER first");

    public static Pop3Reply NoSuchMessage { get; } = new(false, "No such message");

    public static Pop3Reply Syntax(string why) => new(false, why);

    public static Pop3Reply WrongState(string verb, string state) => new(false, $"{verb} not allowed in the {state} state");

    public static Pop3Reply BadCharacters(string why) => new(false, why);

    public static Pop3Reply AlreadyDeleted(int n) => new(false, $"Message {n} already deleted");

    public static Pop3Reply Opened(int count, long octets) => new(true, $"Maildrop has {count} messages ({octets} octets)");

    public static Pop3Reply Stat(int count, long octets) => new(true, $"{count} {octets}");

    /// <summary>The status line of a multi-line LIST; the lines follow from <see cref="Pop3Listing"/>.</summary>
    public static Pop3Reply ListAll(int count, long octets) => new(true, $"{count} messages ({octets} octets)");

    public static Pop3Reply ListOne(int n, long size) => new(true, $"{n} {size}");

    /// <summary>The status line of a multi-line UIDL; the lines follow from <see cref="Pop3Listing"/>.</summary>
    public static Pop3Reply UidlAll { get; } = new(true, "Unique-id listing follows");

    public static Pop3Reply UidlOne(int n, string uid) => new(true, $"{n} {uid}");

    public static Pop3Reply Deleted(int n) => new(true, $"Message {n} deleted");

    public static Pop3Reply Retr(long size) => new(true, $"{size} octets");

    public static Pop3Reply Top { get; } = new(true, "Top of message follows");

    public static Pop3Reply SignOffAfterUpdate(int left) => new(true, $"ActorMail POP3 server signing off ({left} messages left)");
}
