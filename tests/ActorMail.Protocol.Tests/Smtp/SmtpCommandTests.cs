using ActorMail.Protocol.Smtp;

namespace ActorMail.Protocol.Tests.Smtp;

public class SmtpCommandTests
{
    [Theory]
    [InlineData(SmtpVerb.Helo, "HELO")]
    [InlineData(SmtpVerb.Ehlo, "EHLO")]
    [InlineData(SmtpVerb.Rcpt, "RCPT")]
    [InlineData(SmtpVerb.Quit, "QUIT")]
    [InlineData(SmtpVerb.Unknown, "UNKNOWN")]
    public void NameIsTheUpperCaseVerb(SmtpVerb verb, string name)
    {
        Assert.Equal(name, new SmtpCommand(verb, string.Empty).Name);
    }
}
