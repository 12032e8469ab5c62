using ActorMail.Protocol.Smtp;

namespace ActorMail.Protocol.Tests.Smtp;

public class SmtpReplyTests
{
    [Fact]
    public void OneLineReplyRendersCodeEnhancedCodeAndText()
    {
        Assert.Equal("250 2.1.0 Sender OK\r\n", new SmtpReply(250, "2.1.0", "Sender OK").Render());
    }

    [Fact]
    public void OneLineReplyWithoutEnhancedCodeHasNoExtraSpace()
    {
        Assert.Equal("220 mx.test ready\r\n", new SmtpReply(220, string.Empty, "mx.test ready").Render());
    }

    [Fact]
    public void MultiLineReplyUsesDashOnEveryLineButTheLast()
    {
        var reply = new SmtpReply(250, string.Empty, ["mx.test greets c", "PIPELINING", "HELP"]);

        Assert.Equal("250-mx.test greets c\r\n250-PIPELINING\r\n250 HELP\r\n", reply.Render());
    }

    [Fact]
    public void MultiLineReplyRepeatsTheEnhancedCodeOnEveryLine()
    {
        var reply = new SmtpReply(214, "2.0.0", ["first", "second"]);

        Assert.Equal("214-2.0.0 first\r\n214 2.0.0 second\r\n", reply.Render());
    }

    [Fact]
    public void ToStringIsTheRenderingWithoutTheFinalCrlf()
    {
        Assert.Equal("550 5.1.1 No", new SmtpReply(550, "5.1.1", "No").ToString());
    }

    [Theory]
    [InlineData(250, false)]
    [InlineData(354, false)]
    [InlineData(399, false)]
    [InlineData(400, true)]
    [InlineData(452, true)]
    [InlineData(554, true)]
    public void IsErrorIsTrueFor4xxAnd5xx(int code, bool isError)
    {
        Assert.Equal(isError, new SmtpReply(code, string.Empty, "x").IsError);
    }
}
