using System.Text;
using ActorMail.Protocol.Http;

namespace ActorMail.Protocol.Tests.Http;

public sealed class BasicCredentialsTests
{
    private static string Header(string scheme, string userColonPassword) =>
        $"{scheme} {Convert.ToBase64String(Encoding.UTF8.GetBytes(userColonPassword))}";

    [Theory]
    [InlineData("Basic", "alice:alice-demo", "alice", "alice-demo")]
    [InlineData("basic", "alice:alice-demo", "alice", "alice-demo")]
    [InlineData("BASIC", "bob:", "bob", "")]
    [InlineData("Basic", "bob:a:b:c", "bob", "a:b:c")]
    [InlineData("Basic", "bob:pässwörd €", "bob", "pässwörd €")]
    public void A_well_formed_header_gives_the_user_and_everything_after_the_first_colon(string scheme, string pair, string user, string password)
    {
        Assert.True(BasicCredentials.TryParse(Header(scheme, pair), out var credentials));
        Assert.Equal(user, credentials.User);
        Assert.Equal(password, credentials.Password);
    }

    [Fact]
    public void Spaces_between_scheme_and_token_and_after_it_are_allowed()
    {
        Assert.True(BasicCredentials.TryParse("Basic   YWxpY2U6eA==  ", out var credentials));
        Assert.Equal("alice", credentials.User);
        Assert.Equal("x", credentials.Password);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Basic")]
    [InlineData("Basic ")]
    [InlineData("BasicYWxpY2U6eA==")]
    [InlineData("Bearer YWxpY2U6eA==")]
    [InlineData("Basic YWxpY2U6eA")]
    [InlineData("Basic YWxp Y2U6eA==")]
    [InlineData("Basic !!!!")]
    [InlineData("Basic YWxpY2U=")]
    [InlineData("Basic OnBhc3M=")]
    public void Anything_else_is_refused(string? header)
    {
        Assert.False(BasicCredentials.TryParse(header, out var credentials));
        Assert.Null(credentials);
    }

    [Theory]
    [InlineData("al\u0000ice:x")]
    [InlineData("alice:x\r\ny")]
    [InlineData("alice:\u007f")]
    public void A_control_character_in_user_or_password_is_refused(string pair)
    {
        Assert.False(BasicCredentials.TryParse(Header("Basic", pair), out _));
    }

    [Fact]
    public void Bytes_that_are_not_utf8_are_refused()
    {
        var header = "Basic " + Convert.ToBase64String([(byte)'a', (byte)':', 0xff, 0xfe]);
        Assert.False(BasicCredentials.TryParse(header, out _));
    }

    [Fact]
    public void Printing_the_credentials_never_shows_the_password()
    {
        Assert.True(BasicCredentials.TryParse(Header("Basic", "alice:s3cret"), out var credentials));
        Assert.DoesNotContain("s3cret", credentials.ToString(), StringComparison.Ordinal);
    }
}
