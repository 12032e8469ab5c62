using System.Collections.Frozen;

namespace ActorMail.Protocol.Smtp;

/// <summary>What a command does in one state: the state it leads to, or why it is out of sequence (503 5.5.1).</summary>
/// <param name="Next">The state after the command succeeds; null when refused.</param>
/// <param name="Refusal">Why the command is out of sequence here; null when it is taken.</param>
public sealed record SmtpStep(SmtpState? Next, string? Refusal);

/// <summary>
/// SMTP command legality as data (RFC 5321 §4.1.4): for each verb that the state restricts or
/// moves, what it does in each state a command can arrive in. Verbs not listed (NOOP, VRFY,
/// HELP, the unimplemented ones, unknown commands) are taken in every such state and change none.
/// A command that passes this table can still be refused for its syntax or its arguments.
/// </summary>
public static class SmtpStateTable
{
    /// <summary>The states in which command lines are read.</summary>
    public static IReadOnlyList<SmtpState> CommandStates { get; } = [SmtpState.Greeted, SmtpState.Ready, SmtpState.MailGiven, SmtpState.RcptGiven];

    private static readonly SmtpStep Hello = No("send HELO or EHLO first");
    private static readonly SmtpStep InTransaction = No("not allowed in a mail transaction");

    /// <summary>Each restricted verb with its step in each of <see cref="CommandStates"/>, in that order.</summary>
    public static IReadOnlyList<(SmtpVerb Verb, SmtpStep[] Steps)> Rows { get; } =
    [
        //                  Greeted                 Ready                            MailGiven                        RcptGiven
        (SmtpVerb.Helo, [Go(SmtpState.Ready), Go(SmtpState.Ready), Go(SmtpState.Ready), Go(SmtpState.Ready)]),
        (SmtpVerb.Ehlo, [Go(SmtpState.Ready), Go(SmtpState.Ready), Go(SmtpState.Ready), Go(SmtpState.Ready)]),
        (SmtpVerb.Mail, [Hello, Go(SmtpState.MailGiven), No("MAIL already given"), No("MAIL already given")]),
        (SmtpVerb.Rcpt, [Hello, No("need MAIL before RCPT"), Go(SmtpState.RcptGiven), Go(SmtpState.RcptGiven)]),
        (SmtpVerb.Data, [Hello, No("need MAIL before DATA"), No("need RCPT before DATA"), Go(SmtpState.ReceivingData)]),
        (SmtpVerb.Rset, [Go(SmtpState.Greeted), Go(SmtpState.Ready), Go(SmtpState.Ready), Go(SmtpState.Ready)]),
        (SmtpVerb.Quit, [Go(SmtpState.Closed), Go(SmtpState.Closed), Go(SmtpState.Closed), Go(SmtpState.Closed)]),
        (SmtpVerb.Starttls, [Hello, Go(SmtpState.StartingTls), InTransaction, InTransaction]),
        (SmtpVerb.Auth, [Hello, Go(SmtpState.Ready), InTransaction, InTransaction]),
    ];

    // Every verb in every command state, the unlisted ones staying where they are.
    private static readonly FrozenDictionary<(SmtpState, SmtpVerb), SmtpStep> Steps =
        (from i in Enumerable.Range(0, CommandStates.Count)
         from verb in Enum.GetValues<SmtpVerb>()
         let row = Rows.FirstOrDefault(r => r.Verb == verb)
         select (Key: (CommandStates[i], verb), Step: row.Steps?[i] ?? Go(CommandStates[i])))
            .ToFrozenDictionary(e => e.Key, e => e.Step);

    /// <summary>What <paramref name="verb"/> does in <paramref name="state"/>, one of <see cref="CommandStates"/>.</summary>
    public static SmtpStep Step(SmtpState state, SmtpVerb verb) => Steps[(state, verb)];

    private static SmtpStep Go(SmtpState next) => new(next, null);

    private static SmtpStep No(string why) => new(null, why);
}
