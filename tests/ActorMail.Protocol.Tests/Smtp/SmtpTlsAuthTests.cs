using System.Net;
using ActorMail.Protocol.Auth;
using ActorMail.Protocol.Pop3;
using ActorMail.Protocol.Smtp;

namespace ActorMail.Protocol.Tests.Smtp;

/// <summary>STARTTLS (RFC 3207) and AUTH PLAIN/LOGIN (RFC 4954) as rows of the SMTP decider.</summary>
public class SmtpTlsAuthTests
{
    private const string AlicePlain = "AGFsaWNlAHNlY3JldA=="; // \0alice\0secret
    private const string AliceLogin = "YWxpY2U=";
    private const string SecretLogin = "c2VjcmV0";

    private const SmtpState G = SmtpState.Greeted;
    private const SmtpState R = SmtpState.Ready;

    private static SmtpPolicy Policy(ClearTextAuth clearText = ClearTextAuth.Loopback, bool tls = true, bool auth = true) => new(
        Hostname: "mx.test",
        MaxMessageSize: 1000,
        MaxRecipients: 3,
        MaxBadCommands: 10,
        MaxRefusedRecipients: 100,
        MaxJunkCommands: 100,
        LocalDomains: new HashSet<string> { "localhost" },
        LocalAddresses: new HashSet<IPAddress> { IPAddress.Loopback },
        Users: new HashSet<string> { "alice", "bob" },
        PostmasterMailbox: "alice")
    {
        TlsOffered = tls,
        AuthOffered = auth,
        ClearText = clearText,
        MaxAuthFailures = 3,
    };

    private static SmtpDecision Send(SmtpPolicy policy, SmtpDecision at, string line) =>
        at.State == SmtpState.AuthResponse
            ? SmtpDecider.SaslResponse(policy, at.Data, line)
            : SmtpDecider.Decide(policy, at.State, at.Data, SmtpParser.Parse(Ascii.Bytes(line)));

    private static SmtpDecision Send(SmtpPolicy policy, SmtpDecision at, params string[] lines) =>
        lines.Aggregate(at, (step, line) => Send(policy, step, line));

    private static SmtpDecision Ready(SmtpPolicy policy, bool loopback = true) =>
        Send(policy, SmtpDecider.Connect(policy, sessionId: "s1", loopback: loopback), "EHLO client.test");

    private static string Wire(SmtpDecision decision) => string.Concat(decision.Replies.Select(r => r.Render()));

    private static (int Code, string Enhanced) Only(SmtpDecision decision)
    {
        var reply = Assert.Single(decision.Replies);
        return (reply.Code, reply.Enhanced);
    }

    // EHLO lists STARTTLS where TLS can still start, AUTH where a password may be sent now.
    [Fact]
    public void Only_the_SASL_response_state_reads_a_secret_line()
    {
        // The shell masks such a line in the journal and never logs its verb.
        var secret = Enum.GetValues<SmtpState>().Where(SmtpDecider.ReadsSecret).ToArray();
        Assert.Equal([SmtpState.AuthResponse], secret);
    }

    [Theory]
    [InlineData(true, true, ClearTextAuth.Loopback, true, false, true, true)]
    [InlineData(true, true, ClearTextAuth.Loopback, false, false, true, false)]
    [InlineData(true, true, ClearTextAuth.Loopback, false, true, false, true)]
    [InlineData(true, true, ClearTextAuth.Never, true, false, true, false)]
    [InlineData(true, true, ClearTextAuth.Never, true, true, false, true)]
    [InlineData(true, true, ClearTextAuth.Always, false, false, true, true)]
    [InlineData(false, true, ClearTextAuth.Always, false, false, false, true)]
    [InlineData(true, false, ClearTextAuth.Always, true, false, true, false)]
    [InlineData(false, false, ClearTextAuth.Always, true, false, false, false)]
    public void EhloAdvertisesStarttlsAndAuthPerPolicy(bool tls, bool auth, ClearTextAuth clearText, bool loopback, bool secure, bool startTls, bool authLine)
    {
        var policy = Policy(clearText, tls, auth);
        var at = SmtpDecider.Connect(policy, loopback: loopback);
        at = at with { Data = at.Data with { Secure = secure } };

        var lines = Assert.Single(Send(policy, at, "EHLO client.test").Replies).Lines;

        Assert.Equal(startTls, lines.Contains("STARTTLS"));
        Assert.Equal(authLine, lines.Contains("AUTH PLAIN LOGIN"));
        Assert.Equal("HELP", lines[^1]);
    }

    [Fact]
    public void StarttlsAnswers220AndWaitsForTheHandshakeReadingNothing()
    {
        var policy = Policy();

        var decision = Send(policy, Ready(policy), "STARTTLS");

        Assert.Equal("220 2.0.0 Ready to start TLS\r\n", Wire(decision));
        Assert.Equal(SmtpState.StartingTls, decision.State);
        Assert.IsType<SmtpEffect.StartTls>(decision.Effect);
        Assert.False(SmtpDecider.ReadsCommands(SmtpState.StartingTls));
    }

    [Theory]
    [InlineData("STARTTLS now", 501, "5.5.4")]
    [InlineData("starttls", 220, "2.0.0")]
    public void StarttlsTakesNoArgument(string line, int code, string enhanced)
    {
        var policy = Policy();

        Assert.Equal((code, enhanced), Only(Send(policy, Ready(policy), line)));
    }

    [Fact]
    public void AfterTheHandshakeTheSessionForgetsEverythingButItsBudgets()
    {
        var policy = Policy();
        var before = Send(policy, Ready(policy), "NOOP", "FOO", "STARTTLS");

        var after = SmtpDecider.TlsEstablished(before.Data, "TLS 1.3");

        Assert.Equal(G, after.State);
        Assert.Empty(after.Replies);
        Assert.Null(after.Data.ClientName);
        Assert.False(after.Data.Extended);
        Assert.True(after.Data.Secure);
        Assert.True(after.Data.Loopback);
        Assert.Equal("s1", after.Data.SessionId);
        Assert.Equal((1, 1), (after.Data.BadCommands, after.Data.JunkCommands));
        Assert.Contains(after.Notes, n => n.ToString() == "TLS established: TLS 1.3");

        // RFC 3207 §4.2: EHLO again; STARTTLS is no longer offered, AUTH is.
        var ehlo = Send(policy with { ClearText = ClearTextAuth.Never }, after, "EHLO client.test");
        Assert.DoesNotContain("STARTTLS", ehlo.Replies[0].Lines);
        Assert.Contains("AUTH PLAIN LOGIN", ehlo.Replies[0].Lines);
        Assert.Equal((503, "5.5.1"), Only(Send(policy, ehlo, "STARTTLS")));
    }

    [Fact]
    public void MailBeforeStarttlsIsForgotten()
    {
        var policy = Policy();
        var mail = Send(policy, Ready(policy), "MAIL FROM:<a@remote.test>");
        Assert.Equal((503, "5.5.1"), Only(Send(policy, mail, "STARTTLS")));

        var reset = Send(policy, mail, "RSET", "STARTTLS");
        var after = SmtpDecider.TlsEstablished(reset.Data, "TLS 1.2");

        Assert.Null(after.Data.Mail);
        Assert.Equal((503, "5.5.1"), Only(Send(policy, after, "MAIL FROM:<a@remote.test>")));
    }

    [Fact]
    public void AFailedHandshakeClosesWithoutAReply()
    {
        var decision = SmtpDecider.TlsFailed(SmtpConversation.Start, "timed out");

        Assert.Equal(SmtpState.Closed, decision.State);
        Assert.Empty(decision.Replies);
        Assert.Equal("TLS handshake failed", decision.Ends);
    }

    [Fact]
    public void ShutdownOrLifetimeDuringTheHandshakeCloseWithoutAClearTextReply()
    {
        var policy = Policy();
        var starting = Send(policy, Ready(policy), "STARTTLS");

        foreach (var decision in new[] { SmtpDecider.Shutdown(starting.State, starting.Data), SmtpDecider.LifetimeOver(starting.State, starting.Data) })
        {
            Assert.Equal(SmtpState.Closed, decision.State);
            Assert.Empty(decision.Replies);
        }
    }

    [Fact]
    public void AuthPlainWithAnInitialResponseChecksThePassword()
    {
        var policy = Policy();

        var decision = Send(policy, Ready(policy), $"AUTH PLAIN {AlicePlain}");

        Assert.Equal(SmtpState.Verifying, decision.State);
        Assert.Empty(decision.Replies);
        var check = Assert.IsType<SmtpEffect.CheckPassword>(decision.Effect);
        Assert.Equal(("alice", "secret"), (check.User, check.Password));
        Assert.DoesNotContain("secret", check.ToString(), StringComparison.Ordinal);
        Assert.False(SmtpDecider.ReadsCommands(SmtpState.Verifying));

        var signed = SmtpDecider.PasswordChecked(decision.Data, PasswordOutcome.Accepted);
        Assert.Equal("235 2.7.0 Authentication successful\r\n", Wire(signed));
        Assert.Equal((R, "alice"), (signed.State, signed.Data.User));
        Assert.Null(signed.Data.Sasl);
        Assert.Equal((503, "5.5.1"), Only(Send(policy, signed, $"AUTH PLAIN {AlicePlain}")));
    }

    [Fact]
    public void AuthPlainWithoutInitialResponseSendsAnEmptyChallenge()
    {
        var policy = Policy();

        var challenge = Send(policy, Ready(policy), "AUTH PLAIN");
        Assert.Equal("334 \r\n", Wire(challenge));
        Assert.Equal(SmtpState.AuthResponse, challenge.State);
        Assert.True(SmtpDecider.ReadsCommands(SmtpState.AuthResponse));

        var check = Assert.IsType<SmtpEffect.CheckPassword>(Send(policy, challenge, AlicePlain).Effect);
        Assert.Equal(("alice", "secret"), (check.User, check.Password));
    }

    [Fact]
    public void AuthLoginAsksForUserThenPassword()
    {
        var policy = Policy();

        var user = Send(policy, Ready(policy), "AUTH LOGIN");
        Assert.Equal("334 VXNlcm5hbWU6\r\n", Wire(user));
        var password = Send(policy, user, AliceLogin);
        Assert.Equal("334 UGFzc3dvcmQ6\r\n", Wire(password));
        var check = Assert.IsType<SmtpEffect.CheckPassword>(Send(policy, password, SecretLogin).Effect);
        Assert.Equal(("alice", "secret"), (check.User, check.Password));

        var withInitial = Send(policy, Ready(policy), $"AUTH LOGIN {AliceLogin}");
        Assert.Equal("334 UGFzc3dvcmQ6\r\n", Wire(withInitial));
        Assert.IsType<SmtpEffect.CheckPassword>(Send(policy, withInitial, SecretLogin).Effect);
    }

    // What a client can get wrong in AUTH, and the reply: each counts as a bad command and leaves the session in Ready.
    [Theory]
    [InlineData(new[] { "AUTH PLAIN", "*" }, 501, "5.0.0")]
    [InlineData(new[] { "AUTH LOGIN", "*" }, 501, "5.0.0")]
    [InlineData(new[] { "AUTH LOGIN", AliceLogin, "*" }, 501, "5.0.0")]
    [InlineData(new[] { "AUTH PLAIN not-base64" }, 501, "5.5.2")]
    [InlineData(new[] { "AUTH PLAIN", "AGFsaWNl AHNlY3JldA==" }, 501, "5.5.2")]
    [InlineData(new[] { "AUTH LOGIN", "=" }, 501, "5.5.2")]
    [InlineData(new[] { "AUTH LOGIN", "YQBi" }, 501, "5.5.2")]
    [InlineData(new[] { "AUTH PLAIN =" }, 535, "5.7.8")]
    [InlineData(new[] { "AUTH PLAIN YWxpY2UAc2VjcmV0" }, 535, "5.7.8")]
    [InlineData(new[] { "AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==" }, 535, "5.7.8")]
    [InlineData(new[] { "AUTH CRAM-MD5" }, 504, "5.5.4")]
    [InlineData(new[] { "AUTH" }, 501, "5.5.4")]
    [InlineData(new[] { "AUTH PLAIN a b" }, 501, "5.5.4")]
    public void BadAuthExchangesAreRefused(string[] lines, int code, string enhanced)
    {
        var policy = Policy();

        var decision = Send(policy, Ready(policy), lines);

        Assert.Equal((code, enhanced), Only(decision));
        Assert.Equal(R, decision.State);
        Assert.Null(decision.Data.Sasl);
        Assert.Null(decision.Data.User);
        Assert.Equal(1, decision.Data.BadCommands);
        Assert.Null(decision.Effect);
    }

    [Theory]
    [InlineData(ClearTextAuth.Never, true)]
    [InlineData(ClearTextAuth.Loopback, false)]
    public void AuthInClearWhereThePolicyForbidsItGets538(ClearTextAuth clearText, bool loopback)
    {
        var policy = Policy(clearText);

        var decision = Send(policy, Ready(policy, loopback), $"AUTH PLAIN {AlicePlain}");

        Assert.Equal((538, "5.7.11"), Only(decision));
        Assert.Null(decision.Effect);
    }

    [Fact]
    public void AuthIsNotAllowedBeforeEhloOrInATransaction()
    {
        var policy = Policy();

        Assert.Equal((503, "5.5.1"), Only(Send(policy, SmtpDecider.Connect(policy, loopback: true), $"AUTH PLAIN {AlicePlain}")));
        Assert.Equal((503, "5.5.1"), Only(Send(policy, Ready(policy), "MAIL FROM:<a@remote.test>", $"AUTH PLAIN {AlicePlain}")));
    }

    [Fact]
    public void WrongCredentialsWaitTheDelayThenGet535AndTheLastAllowedCloses()
    {
        var policy = Policy();
        var at = Ready(policy);
        for (var failure = 1; failure <= policy.MaxAuthFailures; failure++)
        {
            var checking = Send(policy, at, $"AUTH PLAIN {AlicePlain}");
            var delayed = SmtpDecider.PasswordChecked(checking.Data, PasswordOutcome.Rejected);
            Assert.Equal(SmtpState.AuthDelay, delayed.State);
            Assert.Empty(delayed.Replies);
            Assert.IsType<SmtpEffect.DelayAuthFailure>(delayed.Effect);
            Assert.Equal(failure, delayed.Data.AuthFailures);
            Assert.False(SmtpDecider.ReadsCommands(SmtpState.AuthDelay));

            at = SmtpDecider.AuthDelayOver(policy, delayed.Data);
            Assert.StartsWith("535 5.7.8 ", Wire(at), StringComparison.Ordinal);
            Assert.Null(at.Data.User);
        }

        Assert.Equal(SmtpState.Closed, at.State);
        Assert.EndsWith("421 4.7.0 Too many failed authentications, closing connection\r\n", Wire(at), StringComparison.Ordinal);
    }

    [Fact]
    public void ABusyCheckerAsksTheClientToComeBack()
    {
        var policy = Policy();
        var checking = Send(policy, Ready(policy), $"AUTH PLAIN {AlicePlain}");

        var decision = SmtpDecider.PasswordChecked(checking.Data, PasswordOutcome.Busy);

        Assert.Equal(((454, "4.7.0"), R), (Only(decision), decision.State));
        Assert.Null(decision.Data.User);
    }

    [Fact]
    public void WhereAuthIsRequiredMailBeforeAuthGets530()
    {
        var policy = Policy() with { AuthRequired = true };

        Assert.Equal((530, "5.7.0"), Only(Send(policy, Ready(policy), "MAIL FROM:<a@remote.test>")));

        var checking = Send(policy, Ready(policy), $"AUTH PLAIN {AlicePlain}");
        var signed = SmtpDecider.PasswordChecked(checking.Data, PasswordOutcome.Accepted);
        Assert.Equal((250, "2.1.0"), Only(Send(policy, signed, "MAIL FROM:<a@remote.test>")));
    }

    [Fact]
    public void TheDevelopmentSwitchTakesAnyCredentialsWithoutACheck()
    {
        var policy = Policy() with { AcceptAnyCredentials = true };

        var decision = Send(policy, Ready(policy), "AUTH PLAIN AGFueW9uZQBhbnl0aGluZw==");

        Assert.Equal(((235, "2.7.0"), R, "anyone"), (Only(decision), decision.State, decision.Data.User));
        Assert.Null(decision.Effect);
    }

    [Fact]
    public void ALineTooLongInTheMiddleOfAuthEndsTheExchange()
    {
        var policy = Policy();
        var challenge = Send(policy, Ready(policy), "AUTH PLAIN");

        var decision = SmtpDecider.LineTooLong(policy, challenge.State, challenge.Data);

        Assert.Equal(((500, "5.5.6"), R), (Only(decision), decision.State));
        Assert.Null(decision.Data.Sasl);
    }

    [Fact]
    public void OnAnImplicitTlsPortTheSessionIsSecureFromTheGreeting()
    {
        var policy = Policy(ClearTextAuth.Never);

        var lines = Assert.Single(Send(policy, SmtpDecider.Connect(policy, secure: true), "EHLO client.test").Replies).Lines;

        Assert.DoesNotContain("STARTTLS", lines);
        Assert.Contains("AUTH PLAIN LOGIN", lines);
    }

    [Fact]
    public void NotOfferedStarttlsAndAuthStay502()
    {
        var policy = Policy(tls: false, auth: false);

        Assert.Equal((502, "5.5.1"), Only(Send(policy, Ready(policy), "STARTTLS")));
        Assert.Equal((502, "5.5.1"), Only(Send(policy, Ready(policy), $"AUTH PLAIN {AlicePlain}")));
    }
}
