namespace ActorMail.Protocol.Smtp;

/// <summary>Every reply the SMTP server sends, each in one place with its code and enhanced code.</summary>
public static class SmtpReplies
{
    // Client text echoed in a reply is cut so that no reply line passes 512 octets (RFC 5321 §4.5.3.1.5).
    private const int MaxEcho = 64;

    /// <summary>220: the greeting at connect (no enhanced code, RFC 2034 §3).</summary>
    public static SmtpReply Greeting(string host) => new(220, string.Empty, $"{host} ESMTP ActorMail ready");

    /// <summary>250: reply to HELO.</summary>
    public static SmtpReply Helo(string host, string client) => new(250, string.Empty, $"{host} greets {Echo(client)}");

    /// <summary>250: reply to EHLO, listing the extensions every session is offered.</summary>
    public static SmtpReply Ehlo(string host, string client, long maxMessage) => Ehlo(host, client, maxMessage, startTls: false, auth: false);

    /// <summary>250: reply to EHLO, with STARTTLS and AUTH where the session may use them.</summary>
    internal static SmtpReply Ehlo(string host, string client, long maxMessage, bool startTls, bool auth) => new(250, string.Empty,
    [
        $"{host} greets {Echo(client)}",
        "PIPELINING",
        $"SIZE {maxMessage}",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        .. startTls ? ["STARTTLS"] : Array.Empty<string>(),
        .. auth ? ["AUTH PLAIN LOGIN"] : Array.Empty<string>(),
        "HELP",
    ]);

    /// <summary>220 2.0.0: STARTTLS accepted; the next octets are the TLS handshake (RFC 3207 §4).</summary>
    public static SmtpReply ReadyToStartTls { get; } = new(220, "2.0.0", "Ready to start TLS");

    /// <summary>334: the empty challenge of PLAIN without an initial response (RFC 4954 §4).</summary>
    public static SmtpReply EmptyChallenge { get; } = new(334, string.Empty, string.Empty);

    /// <summary>334: LOGIN asks for the user name (base64 of "Username:").</summary>
    public static SmtpReply UserChallenge { get; } = new(334, string.Empty, Auth.Sasl.Encode("Username:"));

    /// <summary>334: LOGIN asks for the password (base64 of "Password:").</summary>
    public static SmtpReply PasswordChallenge { get; } = new(334, string.Empty, Auth.Sasl.Encode("Password:"));

    /// <summary>235 2.7.0: AUTH succeeded (RFC 4954 §6).</summary>
    public static SmtpReply AuthSucceeded { get; } = new(235, "2.7.0", "Authentication successful");

    /// <summary>535 5.7.8: wrong user name or password, told alike (RFC 4954 §6).</summary>
    public static SmtpReply AuthFailed { get; } = new(535, "5.7.8", "Authentication credentials invalid");

    /// <summary>530 5.7.0: the policy requires AUTH before MAIL (RFC 4954 §6).</summary>
    public static SmtpReply AuthRequired { get; } = new(530, "5.7.0", "Authentication required");

    /// <summary>538 5.7.11: AUTH would send a password in clear where the policy does not allow it (RFC 4954 §6).</summary>
    public static SmtpReply EncryptionRequired { get; } = new(538, "5.7.11", "Encryption required for requested authentication mechanism");

    /// <summary>501 5.0.0: the client cancelled AUTH with <c>*</c> (RFC 4954 §4).</summary>
    public static SmtpReply AuthCancelled { get; } = new(501, "5.0.0", "Authentication cancelled");

    /// <summary>501 5.5.2: a SASL response that is not valid base64 (RFC 4954 §4).</summary>
    public static SmtpReply CannotDecode { get; } = new(501, "5.5.2", "Cannot decode response");

    /// <summary>504 5.5.4: a mechanism that is not offered (RFC 4954 §4).</summary>
    public static SmtpReply UnknownMechanism { get; } = new(504, "5.5.4", "Unrecognized authentication type");

    /// <summary>454 4.7.0: too many password checks wait; try again later (RFC 4954 §6).</summary>
    public static SmtpReply AuthTemporaryFailure { get; } = new(454, "4.7.0", "Temporary authentication failure");

    /// <summary>421 4.7.0: too many failed AUTH attempts.</summary>
    public static SmtpReply TooManyAuthFailures { get; } = new(421, "4.7.0", "Too many failed authentications, closing connection");

    /// <summary>250 2.0.0: NOOP and RSET.</summary>
    public static SmtpReply Ok { get; } = new(250, "2.0.0", "OK");

    /// <summary>250 2.1.0: sender accepted.</summary>
    public static SmtpReply SenderOk { get; } = new(250, "2.1.0", "Sender OK");

    /// <summary>250 2.1.5: recipient accepted.</summary>
    public static SmtpReply RecipientOk { get; } = new(250, "2.1.5", "Recipient OK");

    /// <summary>354: go ahead with the body.</summary>
    public static SmtpReply StartMailInput { get; } = new(354, string.Empty, "End data with <CR><LF>.<CR><LF>");

    /// <summary>250 2.0.0: the message is stored durably in every recipient's Maildir.</summary>
    public static SmtpReply Queued(string id) => new(250, "2.0.0", $"OK: queued as {id}");

    /// <summary>252 2.5.0: VRFY never confirms or denies a user.</summary>
    public static SmtpReply CannotVerify { get; } = new(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");

    /// <summary>214 2.0.0: HELP.</summary>
    public static SmtpReply Help { get; } = new(214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT");

    /// <summary>221 2.0.0: QUIT.</summary>
    public static SmtpReply Bye { get; } = new(221, "2.0.0", "Bye");

    /// <summary>421 4.4.2: idle too long.</summary>
    public static SmtpReply IdleTimeout { get; } = new(421, "4.4.2", "Idle timeout, closing connection");

    /// <summary>421 4.4.2: a command line or a body took longer than its limit to arrive.</summary>
    public static SmtpReply TransferTimeout { get; } = new(421, "4.4.2", "Command or body too slow, closing connection");

    /// <summary>421 4.7.0: too many bad commands.</summary>
    public static SmtpReply TooManyErrors { get; } = new(421, "4.7.0", "Too many errors, closing connection");

    /// <summary>421 4.7.0: at connect, when the client's address already holds its share of connections.</summary>
    public static SmtpReply AddressFull { get; } = new(421, "4.7.0", "Too many connections from your address, try again later");

    /// <summary>421 4.7.0: at connect, when the client's address connects faster than its rate allows.</summary>
    public static SmtpReply AddressTooFast { get; } = new(421, "4.7.0", "Connecting too fast, try again later");

    /// <summary>421 4.4.2: when a session has lasted its maximum lifetime.</summary>
    public static SmtpReply LifetimeOver { get; } = new(421, "4.4.2", "Session too long, closing connection");

    /// <summary>421 4.7.0: over the connection limit, sent at connect.</summary>
    public static SmtpReply TooManyConnections { get; } = new(421, "4.7.0", "Too many connections, try again later");

    /// <summary>421 4.3.2: the server is shutting down.</summary>
    public static SmtpReply ShuttingDown { get; } = new(421, "4.3.2", "Service shutting down, closing connection");

    /// <summary>451 4.3.0: the store failed; nothing was kept.</summary>
    public static SmtpReply StoreFailed { get; } = new(451, "4.3.0", "Local error in processing, message not stored");

    /// <summary>452 4.3.1: the mail store is full; nothing was kept.</summary>
    public static SmtpReply StoreFull { get; } = new(452, "4.3.1", "Insufficient system storage, message not stored");

    /// <summary>452 4.5.3: one recipient too many.</summary>
    public static SmtpReply TooManyRecipients { get; } = new(452, "4.5.3", "Too many recipients");

    /// <summary>500 5.5.2: unknown command.</summary>
    public static SmtpReply UnknownCommand { get; } = new(500, "5.5.2", "Command not recognized");

    /// <summary>502 5.5.1: a command the server recognises but does not implement (RFC 5321 §4.2.4).</summary>
    public static SmtpReply NotImplemented(string verb) => new(502, "5.5.1", $"{verb} not implemented");

    /// <summary>500 5.5.2: a command line with a character no command may hold.</summary>
    public static SmtpReply BadCharacters(string why) => new(500, "5.5.2", why);

    /// <summary>500 5.5.6: a command line over the limit.</summary>
    public static SmtpReply LineTooLong { get; } = new(500, "5.5.6", "Line too long");

    /// <summary>554 5.6.0: a body line over the limit (the whole message is refused); 554 is one of the end-of-DATA replies of RFC 5321 §4.3.2.</summary>
    public static SmtpReply TextLineTooLong { get; } = new(554, "5.6.0", "Message line too long, message not stored");

    /// <summary>554 5.6.0: a NUL octet in the body under the reject policy (the whole message is refused).</summary>
    public static SmtpReply NulInBody { get; } = new(554, "5.6.0", "NUL octet in message body, message not stored");

    /// <summary>501 5.5.4: bad arguments.</summary>
    public static SmtpReply SyntaxInParameters(string why) => new(501, "5.5.4", why);

    /// <summary>501 5.1.7: a sender address that cannot be parsed.</summary>
    public static SmtpReply BadSenderSyntax(string why) => new(501, "5.1.7", $"Bad sender address syntax: {why}");

    /// <summary>501 5.1.3: a recipient address that cannot be parsed.</summary>
    public static SmtpReply BadRecipientSyntax(string why) => new(501, "5.1.3", $"Bad recipient address syntax: {why}");

    /// <summary>503 5.5.1: a command in the wrong state.</summary>
    public static SmtpReply BadSequence(string why) => new(503, "5.5.1", $"Bad sequence of commands: {why}");

    /// <summary>550 5.1.1: no such local user.</summary>
    public static SmtpReply UnknownUser { get; } = new(550, "5.1.1", "No such user here");

    /// <summary>550 5.7.1: the domain is not ours and we never relay.</summary>
    public static SmtpReply RelayDenied { get; } = new(550, "5.7.1", "Relaying denied");

    /// <summary>550 5.5.2: a bare CR or LF in the body under the reject policy.</summary>
    public static SmtpReply BareNewline { get; } = new(550, "5.5.2", "Bare CR or LF in message body, message not stored");

    /// <summary>552 5.3.4: declared or actual size over the limit.</summary>
    public static SmtpReply MessageTooBig(long limit) => new(552, "5.3.4", $"Message size exceeds fixed limit of {limit} octets");

    /// <summary>553 5.6.7: an address with non-ASCII characters; SMTPUTF8 is not offered (RFC 6531 §3.7.4.1).</summary>
    public static SmtpReply NonAsciiAddress { get; } = new(553, "5.6.7", "Address must be ASCII: SMTPUTF8 is not offered");

    /// <summary>555 5.5.4: an unknown MAIL or RCPT parameter.</summary>
    public static SmtpReply ParameterNotRecognised(string key) => new(555, "5.5.4", $"Parameter {Echo(key)} not recognized");

    private static string Echo(string text) => text.Length <= MaxEcho ? text : text[..MaxEcho] + "...";
}
