using ActorMail.Protocol.Smtp;

namespace ActorMail.Protocol.Tests.Smtp;

public class SmtpParserTests
{
    [Theory]
    [InlineData("HELO client.test", SmtpVerb.Helo, "client.test")]
    [InlineData("EHLO client.test", SmtpVerb.Ehlo, "client.test")]
    [InlineData("MAIL FROM:<a@b.test>", SmtpVerb.Mail, "FROM:<a@b.test>")]
    [InlineData("RCPT TO:<a@b.test> X=1", SmtpVerb.Rcpt, "TO:<a@b.test> X=1")]
    [InlineData("DATA", SmtpVerb.Data, "")]
    [InlineData("RSET", SmtpVerb.Rset, "")]
    [InlineData("NOOP", SmtpVerb.Noop, "")]
    [InlineData("NOOP anything", SmtpVerb.Noop, "anything")]
    [InlineData("VRFY alice", SmtpVerb.Vrfy, "alice")]
    [InlineData("HELP", SmtpVerb.Help, "")]
    [InlineData("HELP MAIL", SmtpVerb.Help, "MAIL")]
    [InlineData("QUIT", SmtpVerb.Quit, "")]
    [InlineData("EXPN staff", SmtpVerb.Expn, "staff")]
    [InlineData("STARTTLS", SmtpVerb.Starttls, "")]
    [InlineData("AUTH PLAIN AAAA", SmtpVerb.Auth, "PLAIN AAAA")]
    [InlineData("BDAT 100 LAST", SmtpVerb.Bdat, "100 LAST")]
    [InlineData("TURN", SmtpVerb.Turn, "")]
    [InlineData("ETRN example.test", SmtpVerb.Etrn, "example.test")]
    public void EveryVerbIsRecognisedWithItsArgument(string line, SmtpVerb verb, string argument)
    {
        Assert.Equal(new SmtpCommand(verb, argument), SmtpParser.Parse(Ascii.Bytes(line)));
    }

    [Theory]
    [InlineData("helo x", SmtpVerb.Helo)]
    [InlineData("Ehlo x", SmtpVerb.Ehlo)]
    [InlineData("mail FROM:<>", SmtpVerb.Mail)]
    [InlineData("rCpT TO:<a@b>", SmtpVerb.Rcpt)]
    [InlineData("data", SmtpVerb.Data)]
    [InlineData("rset", SmtpVerb.Rset)]
    [InlineData("nOOp", SmtpVerb.Noop)]
    [InlineData("vrfy x", SmtpVerb.Vrfy)]
    [InlineData("help", SmtpVerb.Help)]
    [InlineData("quit", SmtpVerb.Quit)]
    public void VerbsAreCaseInsensitive(string line, SmtpVerb verb)
    {
        var command = SmtpParser.Parse(Ascii.Bytes(line));

        Assert.Equal(verb, command.Verb);
        Assert.Null(command.Malformed);
    }

    [Theory]
    [InlineData("FOO bar", "bar")]
    [InlineData("HELOX", "")]
    [InlineData("STARTTLSX", "")]
    [InlineData("XCLIENT ADDR=1.2.3.4", "ADDR=1.2.3.4")]
    [InlineData("", "")]
    [InlineData(" QUIT", "QUIT")]
    [InlineData("MAIL:FROM", "")]
    public void UnknownVerbsAreUnknownButNotMalformed(string line, string argument)
    {
        Assert.Equal(new SmtpCommand(SmtpVerb.Unknown, argument), SmtpParser.Parse(Ascii.Bytes(line)));
    }

    [Theory]
    [InlineData("HELO \u0001x")]
    [InlineData("NOOP\u0000")]
    [InlineData("HELO a\rb")]
    [InlineData("HELO a\nb")]
    [InlineData("NOOP \u001b[1m")]
    [InlineData("QUIT\u007f")]
    [InlineData("HELO caf\u00e9.test")]
    [InlineData("\u00ffQUIT")]
    public void ControlOrNonAsciiCharactersMakeTheLineMalformed(string line)
    {
        var command = SmtpParser.Parse(Ascii.Bytes(line));

        Assert.Equal(SmtpVerb.Unknown, command.Verb);
        Assert.Equal(string.Empty, command.Argument);
        Assert.False(string.IsNullOrEmpty(command.Malformed));
    }

    [Theory]
    [InlineData("MAIL FROM:<j\u00f6rg@example.test>", SmtpVerb.Mail, "FROM:<j\u00f6rg@example.test>")]
    [InlineData("RCPT TO:<\u00c3\u00b6@localhost>", SmtpVerb.Rcpt, "TO:<\u00c3\u00b6@localhost>")]
    [InlineData("rcpt TO:<a@b\u00e9.test> NOTIFY=NEVER", SmtpVerb.Rcpt, "TO:<a@b\u00e9.test> NOTIFY=NEVER")]
    public void EightBitOctetsInAMailOrRcptArgumentAreKeptOnePerCharacterForTheAddressCheck(string line, SmtpVerb verb, string argument)
    {
        Assert.Equal(new SmtpCommand(verb, argument), SmtpParser.Parse(Ascii.Bytes(line)));
    }

    [Theory]
    [InlineData("MAIL\u00e9 FROM:<a@b>")]
    [InlineData("MAIL FROM:<j\u00f6rg@example.test>\u0001")]
    [InlineData("RCPT TO:<a@b>\u007f")]
    [InlineData("VRFY j\u00f6rg")]
    [InlineData("NOOP \u00e9")]
    public void EightBitOctetsElsewhereAndControlsInMailOrRcptStayMalformed(string line)
    {
        Assert.NotNull(SmtpParser.Parse(Ascii.Bytes(line)).Malformed);
    }

    [Fact]
    public void TabInsideTheArgumentIsNotMalformed()
    {
        var command = SmtpParser.Parse(Ascii.Bytes("NOOP a\tb"));

        Assert.Equal(new SmtpCommand(SmtpVerb.Noop, "a\tb"), command);
    }

    [Theory]
    [InlineData("HELO client.test   ", SmtpVerb.Helo, "client.test")]
    [InlineData("HELO client.test\t \t", SmtpVerb.Helo, "client.test")]
    [InlineData("QUIT ", SmtpVerb.Quit, "")]
    [InlineData("QUIT \t ", SmtpVerb.Quit, "")]
    [InlineData("QUIT\t", SmtpVerb.Quit, "")]
    [InlineData("DATA  ", SmtpVerb.Data, "")]
    [InlineData("MAIL FROM:<a@b> SIZE=10 ", SmtpVerb.Mail, "FROM:<a@b> SIZE=10")]
    public void TrailingBlanksAreTrimmed(string line, SmtpVerb verb, string argument)
    {
        Assert.Equal(new SmtpCommand(verb, argument), SmtpParser.Parse(Ascii.Bytes(line)));
    }

    [Theory]
    [InlineData("FROM:<a@b.test>", "FROM:", "<a@b.test>", new string[0])]
    [InlineData("FROM: <a@b.test>", "FROM:", "<a@b.test>", new string[0])]
    [InlineData("from:<a@b.test>", "FROM:", "<a@b.test>", new string[0])]
    [InlineData("FROM:<>", "FROM:", "<>", new string[0])]
    [InlineData("FROM:<a@b.test> SIZE=100 BODY=8BITMIME", "FROM:", "<a@b.test>", new[] { "SIZE=100", "BODY=8BITMIME" })]
    [InlineData("FROM:<a@b.test>  SIZE=100", "FROM:", "<a@b.test>", new[] { "SIZE=100" })]
    [InlineData("TO:<Postmaster>", "TO:", "<Postmaster>", new string[0])]
    [InlineData("To: <x@y.test> NOTIFY=NEVER", "TO:", "<x@y.test>", new[] { "NOTIFY=NEVER" })]
    public void TrySplitPathSeparatesThePathFromItsParameters(string argument, string keyword, string path, string[] parameters)
    {
        Assert.True(SmtpParser.TrySplitPath(argument, keyword, out var actualPath, out var actualParameters));

        Assert.Equal(path, actualPath);
        Assert.Equal(parameters, actualParameters);
    }

    [Theory]
    [InlineData("FROM:a@b.test", "FROM:")]
    [InlineData("FROM:<a@b.test", "FROM:")]
    [InlineData("FROM:a@b.test>", "FROM:")]
    [InlineData("FROM:<a@b.test>junk", "FROM:")]
    [InlineData("FROM:<a@b.test>>", "FROM:")]
    [InlineData("FROM:  <a@b.test>", "FROM:")]
    [InlineData("FROM <a@b.test>", "FROM:")]
    [InlineData("TO:<a@b.test>", "FROM:")]
    [InlineData("FROM:<a@b.test>", "TO:")]
    [InlineData("", "FROM:")]
    [InlineData("FROM:", "FROM:")]
    public void TrySplitPathRefusesMissingBracketsOrJunk(string argument, string keyword)
    {
        Assert.False(SmtpParser.TrySplitPath(argument, keyword, out _, out _));
    }

    [Theory]
    [InlineData(new[] { "SIZE=0" }, 0L, false)]
    [InlineData(new[] { "SIZE=12345" }, 12345L, false)]
    [InlineData(new[] { "size=7" }, 7L, false)]
    [InlineData(new[] { "SIZE=9223372036854775807" }, long.MaxValue, false)]
    [InlineData(new[] { "SIZE=9223372036854775808" }, long.MaxValue, false)]
    [InlineData(new[] { "SIZE=99999999999999999999" }, long.MaxValue, false)]
    [InlineData(new[] { "SIZE=00000000000000000042" }, 42L, false)]
    [InlineData(new[] { "BODY=7BIT" }, null, false)]
    [InlineData(new[] { "BODY=8BITMIME" }, null, true)]
    [InlineData(new[] { "body=8bitmime", "SIZE=5" }, 5L, true)]
    [InlineData(new string[0], null, false)]
    public void ValidMailParametersAreRead(string[] parameters, long? size, bool eightBit)
    {
        var refusal = SmtpParser.ParseMailParameters(parameters, out var actualSize, out var actualEightBit);

        Assert.Null(refusal);
        Assert.Equal(size, actualSize);
        Assert.Equal(eightBit, actualEightBit);
    }

    [Theory]
    [InlineData("SIZE=abc", 501, "5.5.4")]
    [InlineData("SIZE=12a", 501, "5.5.4")]
    [InlineData("SIZE=-1", 501, "5.5.4")]
    [InlineData("SIZE=+1", 501, "5.5.4")]
    [InlineData("SIZE= 1", 501, "5.5.4")]
    [InlineData("SIZE=", 501, "5.5.4")]
    [InlineData("SIZE", 501, "5.5.4")]
    [InlineData("SIZE=999999999999999999999", 501, "5.5.4")]
    [InlineData("SIZE=999999999999999999999999", 501, "5.5.4")]
    [InlineData("BODY=BINARYMIME", 555, "5.5.4")]
    [InlineData("BODY=8BIT", 555, "5.5.4")]
    [InlineData("BODY=", 501, "5.5.4")]
    [InlineData("BODY", 501, "5.5.4")]
    [InlineData("SMTPUTF8", 555, "5.5.4")]
    [InlineData("AUTH=<>", 555, "5.5.4")]
    [InlineData("RET=HDRS", 555, "5.5.4")]
    public void BadOrUnknownMailParametersAreRefused(string parameter, int code, string enhanced)
    {
        var refusal = SmtpParser.ParseMailParameters([parameter], out _, out _);

        Assert.NotNull(refusal);
        Assert.Equal((code, enhanced), (refusal.Code, refusal.Enhanced));
    }

    [Fact]
    public void UnsupportedBodyTypeReplyNamesIt()
    {
        var refusal = SmtpParser.ParseMailParameters(["BODY=BINARYMIME"], out _, out _);

        Assert.Equal("555 5.5.4 Parameter BODY=BINARYMIME not recognized", refusal?.ToString());
    }

    [Fact]
    public void UnknownParameterReplyNamesTheParameter()
    {
        var refusal = SmtpParser.ParseMailParameters(["SIZE=10", "ENVID=abc"], out _, out _);

        Assert.NotNull(refusal);
        Assert.Equal(555, refusal.Code);
        Assert.Contains("ENVID", refusal.Lines[0], StringComparison.Ordinal);
    }
}
