using System.Text;
using ActorMail.Protocol.Auth;

namespace ActorMail.Protocol.Tests.Auth;

public class SaslTests
{
    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Theory]
    [InlineData("AGFsaWNlAHNlY3JldA==", true, 13)]
    [InlineData("YWxpY2U=", true, 5)]
    [InlineData("=", true, 0)]
    [InlineData("", false, 0)]
    [InlineData("YWxpY2U", false, 0)]
    [InlineData("YWxp Y2U=", false, 0)]
    [InlineData("YWxpY2U=\t", false, 0)]
    [InlineData("!!!!", false, 0)]
    [InlineData("YW=pY2U=", false, 0)]
    [InlineData("====", false, 0)]
    [InlineData("*", false, 0)]
    public void Base64IsStrictAndALoneEqualsSignIsTheEmptyResponse(string text, bool ok, int length)
    {
        Assert.Equal(ok, Sasl.TryDecodeBase64(text, out var octets));
        Assert.Equal(length, octets.Length);
    }

    [Theory]
    [InlineData("\0alice\0secret", "alice", "secret")]
    [InlineData("alice\0alice\0secret", "alice", "secret")]
    [InlineData("\0alice\0pass word with spaces", "alice", "pass word with spaces")]
    [InlineData("\0alice\0p\u00e4ssw\u00f6rd", "alice", "p\u00e4ssw\u00f6rd")]
    [InlineData("bob\0alice\0secret", null, null)]
    [InlineData("\0alice", null, null)]
    [InlineData("alice\0secret", null, null)]
    [InlineData("\0\0secret", null, null)]
    [InlineData("\0alice\0", null, null)]
    [InlineData("\0alice\0sec\0ret", null, null)]
    [InlineData("", null, null)]
    [InlineData("\0\0", null, null)]
    public void PlainFollowsTheNulRulesOfRfc4616(string message, string? user, string? password)
    {
        var credentials = Sasl.DecodePlain(Encoding.UTF8.GetBytes(message));

        Assert.Equal(user, credentials?.User);
        Assert.Equal(password, credentials?.Password);
    }

    [Fact]
    public void PlainRefusesInvalidUtf8AndFieldsOver255Octets()
    {
        Assert.Null(Sasl.DecodePlain([0, (byte)'a', 0, 0xC3, 0x28]));
        Assert.Null(Sasl.DecodePlain(Encoding.UTF8.GetBytes($"\0{new string('a', 256)}\0secret")));
        Assert.Null(Sasl.DecodePlain(Encoding.UTF8.GetBytes($"\0alice\0{new string('p', 256)}")));
        Assert.NotNull(Sasl.DecodePlain(Encoding.UTF8.GetBytes($"\0{new string('a', 255)}\0{new string('p', 255)}")));
    }

    [Theory]
    [InlineData("YWxpY2U=", "alice")]
    [InlineData("cMOkc3M=", "p\u00e4ss")]
    [InlineData("=", null)]
    [InlineData("YWxpY2U", null)]
    [InlineData("YQBi", null)]
    [InlineData("wyg=", null)]
    public void LoginFieldsAreNonEmptyUtf8WithoutNul(string base64, string? field)
    {
        Assert.Equal(field, Sasl.DecodeLoginField(base64));
    }

    [Theory]
    [InlineData("PLAIN", SaslMechanism.Plain)]
    [InlineData("plain", SaslMechanism.Plain)]
    [InlineData("LOGIN", SaslMechanism.Login)]
    [InlineData("Login", SaslMechanism.Login)]
    [InlineData("CRAM-MD5", null)]
    [InlineData("", null)]
    public void OnlyPlainAndLoginAreMechanisms(string name, SaslMechanism? mechanism)
    {
        Assert.Equal(mechanism, Sasl.Mechanism(name));
    }

    [Fact]
    public void ChallengesAreBase64OfTheirText()
    {
        Assert.Equal("VXNlcm5hbWU6", Sasl.Encode("Username:"));
        Assert.Equal(B64("Password:"), Sasl.Encode("Password:"));
    }

    [Theory]
    [InlineData(ClearTextAuth.Never, false, false, false)]
    [InlineData(ClearTextAuth.Never, false, true, false)]
    [InlineData(ClearTextAuth.Never, true, false, true)]
    [InlineData(ClearTextAuth.Loopback, false, false, false)]
    [InlineData(ClearTextAuth.Loopback, false, true, true)]
    [InlineData(ClearTextAuth.Loopback, true, false, true)]
    [InlineData(ClearTextAuth.Always, false, false, true)]
    [InlineData(ClearTextAuth.Always, true, true, true)]
    public void ClearTextRuleAllowsAPasswordOverTlsOrWhereItSays(ClearTextAuth rule, bool secure, bool loopback, bool allowed)
    {
        Assert.Equal(allowed, rule.Allows(secure, loopback));
    }

    [Fact]
    public void CredentialsNeverPrintTheirPassword()
    {
        Assert.DoesNotContain("secret", new SaslCredentials("alice", "secret").ToString(), StringComparison.Ordinal);
    }
}
