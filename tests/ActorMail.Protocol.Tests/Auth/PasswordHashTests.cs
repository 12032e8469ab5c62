using ActorMail.Protocol.Auth;

namespace ActorMail.Protocol.Tests.Auth;

public class PasswordHashTests
{
    private const int FastIterations = 1000;

    [Theory]
    [InlineData("correct horse battery staple")]
    [InlineData("")]
    [InlineData("p\u00e4ssw\u00f6rd \u2603")]
    public void CreatedHashVerifiesTheSamePassword(string password)
    {
        var line = PasswordHash.Create(password, FastIterations);

        Assert.True(PasswordHash.IsWellFormed(line));
        Assert.True(PasswordHash.Verify(password, line));
    }

    [Theory]
    [InlineData("secret", "Secret")]
    [InlineData("secret", "secret ")]
    [InlineData("secret", "")]
    [InlineData("", "x")]
    public void WrongPasswordDoesNotVerify(string password, string attempt)
    {
        var line = PasswordHash.Create(password, FastIterations);

        Assert.False(PasswordHash.Verify(attempt, line));
    }

    [Fact]
    public void CreatedLineHasSchemeIterationsSaltAndHash()
    {
        var parts = PasswordHash.Create("pw", FastIterations).Split('$');

        Assert.Equal(4, parts.Length);
        Assert.Equal("pbkdf2-sha256", parts[0]);
        Assert.Equal("1000", parts[1]);
        Assert.Equal(16, Convert.FromBase64String(parts[2]).Length);
        Assert.Equal(32, Convert.FromBase64String(parts[3]).Length);
    }

    [Fact]
    public void DefaultIterationCountIsWrittenIntoTheLine()
    {
        Assert.StartsWith($"pbkdf2-sha256${PasswordHash.DefaultIterations}$", PasswordHash.Create("pw"), StringComparison.Ordinal);
    }

    [Fact]
    public void TwoHashesOfTheSamePasswordDifferBecauseOfTheSalt()
    {
        var first = PasswordHash.Create("same", FastIterations);
        var second = PasswordHash.Create("same", FastIterations);

        Assert.NotEqual(first, second);
        Assert.NotEqual(first.Split('$')[2], second.Split('$')[2]);
        Assert.True(PasswordHash.Verify("same", first) && PasswordHash.Verify("same", second));
    }

    [Fact]
    public void VerifyMatchesAKnownPbkdf2Sha256Vector()
    {
        // PBKDF2-HMAC-SHA256("password", "salt", 1 iteration, 32 octets), a published test vector.
        var hash = Convert.ToBase64String(Convert.FromHexString("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"));
        var line = $"pbkdf2-sha256$1$c2FsdA==${hash}";

        Assert.True(PasswordHash.Verify("password", line));
        Assert.False(PasswordHash.Verify("passwore", line));
    }

    [Fact]
    public void ChangingTheIterationCountBreaksTheHash()
    {
        var parts = PasswordHash.Create("pw", FastIterations).Split('$');
        parts[1] = "1001";

        Assert.False(PasswordHash.Verify("pw", string.Join('$', parts)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("secret")]
    [InlineData("pbkdf2-sha256")]
    [InlineData("pbkdf2-sha256$1000$c2FsdA==")]
    [InlineData("pbkdf2-sha256$1000$c2FsdA==$aGFzaA==$extra")]
    [InlineData("pbkdf2-sha1$1000$c2FsdA==$aGFzaA==")]
    [InlineData("PBKDF2-SHA256$1000$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$abc$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$0$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$-5$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$+5$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$ 5$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$99999999999$c2FsdA==$aGFzaA==")]
    [InlineData("pbkdf2-sha256$1000$not*base64$aGFzaA==")]
    [InlineData("pbkdf2-sha256$1000$c2FsdA==$not*base64")]
    [InlineData("pbkdf2-sha256$1000$$aGFzaA==")]
    [InlineData("pbkdf2-sha256$1000$c2FsdA==$")]
    public void MalformedLinesAreNotWellFormedAndNeverVerify(string line)
    {
        Assert.False(PasswordHash.IsWellFormed(line));
        Assert.False(PasswordHash.Verify(string.Empty, line));
        Assert.False(PasswordHash.Verify("secret", line));
    }
}
