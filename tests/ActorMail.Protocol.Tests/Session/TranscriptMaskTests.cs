using System.Text;
using ActorMail.Protocol.Session;

namespace ActorMail.Protocol.Tests.Session;

/// <summary>What a session transcript keeps of a command line: never a secret.</summary>
public sealed class TranscriptMaskTests
{
    [Theory]
    [InlineData("PASS alice-demo", "PASS ****")]
    [InlineData("pass  secret with spaces", "pass ****")]
    [InlineData("PASS", "PASS")]
    [InlineData("APOP alice c4c9334bac560ecc979e58001b3e22fb", "APOP alice ****")]
    [InlineData("AUTH PLAIN AGFsaWNlAGFsaWNlLWRlbW8=", "AUTH PLAIN ****")]
    [InlineData("AUTH LOGIN", "AUTH LOGIN")]
    [InlineData("auth plain AGFsaWNl", "auth plain ****")]
    [InlineData("USER alice", "USER alice")]
    [InlineData("MAIL FROM:<a@example.org>", "MAIL FROM:<a@example.org>")]
    [InlineData("RETR 1", "RETR 1")]
    public void Secrets_are_masked_and_the_rest_kept(string line, string kept) =>
        Assert.Equal(kept, TranscriptMask.Command(Encoding.ASCII.GetBytes(line), 512));

    [Fact]
    public void A_long_line_is_cut_and_control_characters_shown()
    {
        Assert.Equal("NOOP " + new string('x', 5) + "…", TranscriptMask.Command(Encoding.ASCII.GetBytes("NOOP " + new string('x', 100)), 10));
        Assert.Equal("NOOP \\x00\\x1b", TranscriptMask.Command("NOOP \0\u001b"u8.ToArray(), 512));
    }
}
