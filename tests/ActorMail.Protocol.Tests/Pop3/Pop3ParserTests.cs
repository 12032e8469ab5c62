using ActorMail.Protocol.Pop3;

namespace ActorMail.Protocol.Tests.Pop3;

public class Pop3ParserTests
{
    private static void AssertCommand(Pop3Command command, Pop3Verb verb, params string[] arguments)
    {
        Assert.Equal(verb, command.Verb);
        Assert.Equal(arguments, command.Arguments);
        Assert.Null(command.Malformed);
    }

    [Theory]
    [InlineData("USER alice", Pop3Verb.User, "alice")]
    [InlineData("PASS secret", Pop3Verb.Pass, "secret")]
    [InlineData("QUIT", Pop3Verb.Quit)]
    [InlineData("STAT", Pop3Verb.Stat)]
    [InlineData("LIST", Pop3Verb.List)]
    [InlineData("LIST 1", Pop3Verb.List, "1")]
    [InlineData("RETR 2", Pop3Verb.Retr, "2")]
    [InlineData("DELE 3", Pop3Verb.Dele, "3")]
    [InlineData("NOOP", Pop3Verb.Noop)]
    [InlineData("RSET", Pop3Verb.Rset)]
    [InlineData("TOP 1 10", Pop3Verb.Top, "1", "10")]
    [InlineData("UIDL", Pop3Verb.Uidl)]
    [InlineData("UIDL 4", Pop3Verb.Uidl, "4")]
    [InlineData("CAPA", Pop3Verb.Capa)]
    [InlineData("STLS", Pop3Verb.Stls)]
    [InlineData("AUTH PLAIN", Pop3Verb.Auth, "PLAIN")]
    [InlineData("AUTH PLAIN AGFsaWNlAHNlY3JldA==", Pop3Verb.Auth, "PLAIN", "AGFsaWNlAHNlY3JldA==")]
    public void EveryVerbIsRecognisedWithItsArguments(string line, Pop3Verb verb, params string[] arguments)
    {
        AssertCommand(Pop3Parser.Parse(Ascii.Bytes(line)), verb, arguments);
    }

    [Fact]
    public void TheTableAboveNamesEveryKnownVerb()
    {
        string[] lines = ["USER a", "PASS a", "QUIT", "STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL", "CAPA", "STLS", "AUTH PLAIN"];

        var verbs = lines.Select(l => Pop3Parser.Parse(Ascii.Bytes(l)).Verb).ToHashSet();

        Assert.True(verbs.SetEquals(Enum.GetValues<Pop3Verb>().Where(v => v != Pop3Verb.Unknown)));
    }

    [Theory]
    [InlineData("user alice", Pop3Verb.User)]
    [InlineData("Pass x", Pop3Verb.Pass)]
    [InlineData("qUiT", Pop3Verb.Quit)]
    [InlineData("stat", Pop3Verb.Stat)]
    [InlineData("List", Pop3Verb.List)]
    [InlineData("retr 1", Pop3Verb.Retr)]
    [InlineData("dElE 1", Pop3Verb.Dele)]
    [InlineData("noop", Pop3Verb.Noop)]
    [InlineData("RsEt", Pop3Verb.Rset)]
    [InlineData("top 1 1", Pop3Verb.Top)]
    [InlineData("uidl", Pop3Verb.Uidl)]
    [InlineData("capa", Pop3Verb.Capa)]
    public void VerbsAreCaseInsensitive(string line, Pop3Verb verb)
    {
        var command = Pop3Parser.Parse(Ascii.Bytes(line));

        Assert.Equal(verb, command.Verb);
        Assert.Null(command.Malformed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("XTND XMIT")]
    [InlineData("APOP alice 0123456789abcdef")]
    [InlineData("STLSX")]
    [InlineData("QUITX")]
    [InlineData("RETR1")]
    [InlineData(" QUIT")]
    [InlineData("US ER alice")]
    public void UnknownVerbsAreUnknownWithoutArgumentsButNotMalformed(string line)
    {
        var command = Pop3Parser.Parse(Ascii.Bytes(line));

        AssertCommand(command, Pop3Verb.Unknown);
        Assert.Equal("UNKNOWN", command.Name);
    }

    [Theory]
    [InlineData("USER \u0001alice")]
    [InlineData("NOOP\u0000")]
    [InlineData("QUIT\r")]
    [InlineData("RETR 1\nDELE 1")]
    [InlineData("PASS sec\tret")]
    [InlineData("STAT\u001b[1m")]
    [InlineData("LIST \u001f")]
    [InlineData("NOOP\u007f")]
    [InlineData("USER caf\u00e9")]
    [InlineData("PASS \u00ff\u00fe")]
    [InlineData("\u0080STAT")]
    public void ControlOrNonAsciiCharactersMakeTheLineMalformed(string line)
    {
        var command = Pop3Parser.Parse(Ascii.Bytes(line));

        Assert.Equal(Pop3Verb.Unknown, command.Verb);
        Assert.Empty(command.Arguments);
        Assert.False(string.IsNullOrEmpty(command.Malformed));
    }

    [Fact]
    public void TheWholePrintableAsciiRangeIsNotMalformed()
    {
        var printable = new string(Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (char)c).ToArray());

        var command = Pop3Parser.Parse(Ascii.Bytes("PASS " + printable));

        AssertCommand(command, Pop3Verb.Pass, printable);
    }

    [Theory]
    [InlineData("PASS my secret", "my secret")]
    [InlineData("PASS  leading and trailing  ", " leading and trailing  ")]
    [InlineData("pass a b c", "a b c")]
    [InlineData("PASS ", "")]
    [InlineData("PASS    ", "   ")]
    public void PassKeepsTheRestOfTheLineAsOneArgument(string line, string password)
    {
        AssertCommand(Pop3Parser.Parse(Ascii.Bytes(line)), Pop3Verb.Pass, password);
    }

    [Fact]
    public void PassWithoutASpaceHasNoArgument()
    {
        AssertCommand(Pop3Parser.Parse(Ascii.Bytes("PASS")), Pop3Verb.Pass);
    }

    [Theory]
    [InlineData("RETR  1", Pop3Verb.Retr, "", "1")]
    [InlineData("USER a b", Pop3Verb.User, "a", "b")]
    [InlineData("USER ", Pop3Verb.User, "")]
    [InlineData("STAT ", Pop3Verb.Stat, "")]
    [InlineData("LIST 1 ", Pop3Verb.List, "1", "")]
    [InlineData("TOP 1  2", Pop3Verb.Top, "1", "", "2")]
    [InlineData("UIDL   ", Pop3Verb.Uidl, "", "", "")]
    public void OtherVerbsSplitOnEverySingleSpace(string line, Pop3Verb verb, params string[] arguments)
    {
        AssertCommand(Pop3Parser.Parse(Ascii.Bytes(line)), verb, arguments);
    }

    [Theory]
    [InlineData(Pop3Verb.User, "USER")]
    [InlineData(Pop3Verb.Retr, "RETR")]
    [InlineData(Pop3Verb.Capa, "CAPA")]
    [InlineData(Pop3Verb.Unknown, "UNKNOWN")]
    public void NameIsTheUpperCaseVerb(Pop3Verb verb, string name)
    {
        Assert.Equal(name, new Pop3Command(verb, []).Name);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("0", 0)]
    [InlineData("007", 7)]
    [InlineData("42", 42)]
    [InlineData("000000000", 0)]
    [InlineData("999999999", 999_999_999)]
    public void TryNumberAcceptsUpToNineAsciiDigits(string text, int value)
    {
        Assert.True(Pop3Parser.TryNumber(text, out var parsed));
        Assert.Equal(value, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("+1")]
    [InlineData("-1")]
    [InlineData("1x")]
    [InlineData("x1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1.0")]
    [InlineData("0x1")]
    [InlineData("1,000")]
    [InlineData("1234567890")]
    [InlineData("0000000001")]
    [InlineData("99999999999999999999")]
    [InlineData("\u0661")]
    [InlineData("\uff11")]
    public void TryNumberRefusesAnythingElse(string text)
    {
        Assert.False(Pop3Parser.TryNumber(text, out _));
    }
}
