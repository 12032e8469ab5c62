namespace ActorMail.Protocol.Smtp;

/// <summary>The SMTP verbs the server knows; anything else is <see cref="Unknown"/>.</summary>
public enum SmtpVerb
{
    Unknown,
    Helo,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Rset,
    Noop,
    Vrfy,
    Help,
    Quit,

    // Offered where the policy says so (RFC 3207, RFC 4954); 502 otherwise.
    Starttls,
    Auth,

    // Recognised but not implemented: 502 (RFC 5321 §4.2.4), never advertised in EHLO.
    Expn,
    Bdat,
    Turn,
    Etrn,
}

/// <summary>One command line, split into its verb and the text after it.</summary>
/// <param name="Verb">The verb, or <see cref="SmtpVerb.Unknown"/>.</param>
/// <param name="Argument">Everything after the verb and one space, trailing blanks trimmed.</param>
/// <param name="Malformed">Why the line cannot be a command at all (non-ASCII, a control character), or null.</param>
public sealed record SmtpCommand(SmtpVerb Verb, string Argument, string? Malformed = null)
{
    /// <summary>The verb as the log shows it.</summary>
    public string Name => Verb == SmtpVerb.Unknown ? "UNKNOWN" : Verb.ToString().ToUpperInvariant();
}
