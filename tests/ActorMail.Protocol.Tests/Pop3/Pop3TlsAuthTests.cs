using ActorMail.Protocol.Auth;
using ActorMail.Protocol.Pop3;

namespace ActorMail.Protocol.Tests.Pop3;

/// <summary>STLS (RFC 2595), AUTH PLAIN (RFC 5034) and the clear-text rule as rows of the POP3 decider.</summary>
public class Pop3TlsAuthTests
{
    private const string AlicePlain = "AGFsaWNlAHNlY3JldA=="; // \0alice\0secret
    private const Pop3State A = Pop3State.Authorization;

    private static Pop3Policy Policy(ClearTextAuth clearText = ClearTextAuth.Loopback, bool tls = true, bool sasl = true) =>
        new(MaxBadCommands: 10, MaxAuthFailures: 3, MaxJunkCommands: 100) { TlsOffered = tls, SaslOffered = sasl, ClearText = clearText };

    private static Pop3Decision Send(Pop3Policy policy, Pop3Decision at, string line) =>
        at.State == Pop3State.AuthResponse
            ? Pop3Decider.SaslResponse(policy, at.Data, line)
            : Pop3Decider.Decide(policy, at.State, at.Data, Pop3Parser.Parse(Ascii.Bytes(line)));

    private static Pop3Decision Send(Pop3Policy policy, Pop3Decision at, params string[] lines) =>
        lines.Aggregate(at, (step, line) => Send(policy, step, line));

    private static string Wire(Pop3Decision decision) => string.Concat(decision.Replies.Select(r => r.Render()));

    private static Pop3Decision Secure(Pop3Decision at) => at with { Data = at.Data with { Secure = true } };

    // CAPA: USER only where a clear-text password is allowed, STLS while TLS can start, SASL PLAIN where AUTH may be used.
    [Fact]
    public void Only_the_SASL_response_state_reads_a_secret_line()
    {
        // The shell masks such a line in the journal and never logs its verb.
        var secret = Enum.GetValues<Pop3State>().Where(Pop3Decider.ReadsSecret).ToArray();
        Assert.Equal([Pop3State.AuthResponse], secret);
    }

    [Theory]
    [InlineData(ClearTextAuth.Loopback, true, false, "USER", "STLS", "SASL PLAIN")]
    [InlineData(ClearTextAuth.Loopback, false, false, "STLS")]
    [InlineData(ClearTextAuth.Loopback, false, true, "USER", "SASL PLAIN")]
    [InlineData(ClearTextAuth.Never, true, false, "STLS")]
    [InlineData(ClearTextAuth.Never, true, true, "USER", "SASL PLAIN")]
    [InlineData(ClearTextAuth.Always, false, false, "USER", "STLS", "SASL PLAIN")]
    public void CapaFollowsThePolicy(ClearTextAuth clearText, bool loopback, bool secure, params string[] expected)
    {
        var policy = Policy(clearText);
        var at = Pop3Decider.Connect(loopback: loopback);
        at = secure ? Secure(at) : at;

        var lines = Assert.Single(Send(policy, at, "CAPA").Replies).Lines!;

        Assert.Equal(expected, lines.Where(l => l is "USER" or "STLS" or "SASL PLAIN"));
        Assert.Contains("UIDL", lines);
    }

    [Fact]
    public void StlsAnswersOkAndWaitsForTheHandshakeReadingNothing()
    {
        var policy = Policy();

        var decision = Send(policy, Pop3Decider.Connect(loopback: true), "USER alice", "STLS");

        Assert.Equal("+OK Begin TLS negotiation\r\n", Wire(decision));
        Assert.Equal(Pop3State.StartingTls, decision.State);
        Assert.IsType<Pop3Effect.StartTls>(decision.Effect);
        Assert.False(Pop3Decider.ReadsCommands(Pop3State.StartingTls));

        var after = Pop3Decider.TlsEstablished(decision.Data, "TLS 1.3");
        Assert.Equal(A, after.State);
        Assert.Empty(after.Replies);
        Assert.Null(after.Data.User);
        Assert.True(after.Data.Secure);
        Assert.True(after.Data.Loopback);
        Assert.StartsWith("-ERR", Wire(Send(policy, after, "STLS")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("STLS now")]
    [InlineData("AUTH")]
    [InlineData("AUTH LOGIN")]
    [InlineData("AUTH PLAIN a b")]
    [InlineData("AUTH PLAIN not-base64")]
    [InlineData("AUTH PLAIN YWxpY2UAc2VjcmV0")]
    public void BadStlsAndAuthLinesAreRefusedAndCounted(string line)
    {
        var policy = Policy();

        var decision = Send(policy, Pop3Decider.Connect(loopback: true), line);

        Assert.StartsWith("-ERR", Wire(decision), StringComparison.Ordinal);
        Assert.Equal((A, 1), (decision.State, decision.Data.BadCommands));
        Assert.Null(decision.Effect);
    }

    [Fact]
    public void StlsIsRefusedInTransaction()
    {
        var policy = Policy();
        var at = new Pop3Decision(Pop3State.Transaction, Pop3Conversation.Start with { User = "alice" }, []);

        Assert.Equal("-ERR STLS not allowed in the TRANSACTION state\r\n", Wire(Send(policy, at, "STLS")));
    }

    [Fact]
    public void AuthPlainWithAnInitialResponseChecksThePassword()
    {
        var policy = Policy();

        var decision = Send(policy, Pop3Decider.Connect(loopback: true), $"AUTH PLAIN {AlicePlain}");

        Assert.Equal((Pop3State.Verifying, "alice"), (decision.State, decision.Data.User));
        var check = Assert.IsType<Pop3Effect.CheckPassword>(decision.Effect);
        Assert.Equal(("alice", "secret"), (check.User, check.Password));
        Assert.Equal(Pop3State.Opening, Pop3Decider.PasswordChecked(decision.Data, PasswordOutcome.Accepted).State);
        Assert.Equal(Pop3State.AuthDelay, Pop3Decider.PasswordChecked(decision.Data, PasswordOutcome.Rejected).State);
    }

    [Fact]
    public void AuthPlainWithoutInitialResponseSendsAnEmptyContinuation()
    {
        var policy = Policy();

        var challenge = Send(policy, Pop3Decider.Connect(loopback: true), "AUTH PLAIN");
        Assert.Equal("+ \r\n", Wire(challenge));
        Assert.Equal(Pop3State.AuthResponse, challenge.State);
        Assert.True(Pop3Decider.ReadsCommands(Pop3State.AuthResponse));

        Assert.IsType<Pop3Effect.CheckPassword>(Send(policy, challenge, AlicePlain).Effect);

        var cancelled = Send(policy, challenge, "*");
        Assert.Equal((A, "-ERR Authentication cancelled\r\n"), (cancelled.State, Wire(cancelled)));

        var tooLong = Pop3Decider.LineTooLong(policy, challenge.State, challenge.Data);
        Assert.Equal(A, tooLong.State);
    }

    [Theory]
    [InlineData("USER alice")]
    [InlineData("PASS secret")]
    [InlineData("AUTH PLAIN " + AlicePlain)]
    public void ClearTextSignInIsRefusedWhereNotAllowedAndTakenOverTls(string line)
    {
        var policy = Policy(ClearTextAuth.Loopback);
        var remote = Pop3Decider.Connect(loopback: false);

        var refused = Send(policy, remote, line);
        Assert.Equal("-ERR [AUTH] Clear-text sign-in is not allowed here: use STLS first\r\n", Wire(refused));
        Assert.Null(refused.Effect);

        var overTls = Send(policy, Secure(remote), line);
        Assert.DoesNotContain(Pop3Replies.ClearTextRefused, overTls.Replies);
    }

    [Fact]
    public void ShutdownOrLifetimeDuringTheHandshakeCloseWithoutAClearTextReply()
    {
        var starting = Send(Policy(), Pop3Decider.Connect(loopback: true), "STLS");

        foreach (var decision in new[] { Pop3Decider.Shutdown(starting.State, starting.Data), Pop3Decider.LifetimeOver(starting.State, starting.Data) })
        {
            Assert.Equal(Pop3State.Closed, decision.State);
            Assert.Empty(decision.Replies);
        }

        var failed = Pop3Decider.TlsFailed(starting.Data, "timed out");
        Assert.Equal((Pop3State.Closed, "TLS handshake failed"), (failed.State, failed.Ends));
        Assert.Empty(failed.Replies);
    }

    [Fact]
    public void OnAnImplicitTlsPortCapaOffersSignInAndNoStls()
    {
        var policy = Policy(ClearTextAuth.Never);

        var lines = Assert.Single(Send(policy, Pop3Decider.Connect(secure: true), "CAPA").Replies).Lines!;

        Assert.Equal(["USER", "SASL PLAIN"], lines.Where(l => l is "USER" or "STLS" or "SASL PLAIN"));
    }

    [Fact]
    public void NotOfferedStlsAndAuthStayUnknownCommands()
    {
        var policy = Policy(tls: false, sasl: false);

        Assert.Equal("-ERR Unknown command\r\n", Wire(Send(policy, Pop3Decider.Connect(loopback: true), "STLS")));
        Assert.Equal("-ERR Unknown command\r\n", Wire(Send(policy, Pop3Decider.Connect(loopback: true), $"AUTH PLAIN {AlicePlain}")));
    }
}
