using ActorMail.Protocol.Framing;
using ActorMail.Protocol.Pop3;

namespace ActorMail.Protocol.Tests.Pop3;

public class TopFilterTests
{
    private const string Headers = "From: a@remote.test\r\nSubject: hello\r\n\r\n";
    private const string Message = Headers + "line 1\r\nline 2\r\nline 3\r\n";
    private const string LfMessage = "A: 1\nB: 2\n\nx\ny\n";

    // Feeds the message in pieces cut at the given offsets and joins what the filter lets through.
    private static string Take(TopFilter filter, string message, IEnumerable<int> cuts)
    {
        var input = Ascii.Bytes(message);
        var output = new List<byte>();
        var start = 0;
        foreach (var stop in cuts.Append(input.Length))
        {
            var piece = input.AsSpan(start, stop - start);
            var taken = filter.Take(piece);
            Assert.True(piece[..taken.Length].SequenceEqual(taken), "Take must return a prefix of its chunk");
            output.AddRange(taken);
            start = stop;
        }

        return Ascii.Text(output.ToArray());
    }

    // Body lines asked, the message, what TOP sends, and whether the filter knows it is finished.
    public static TheoryData<int, string, string, bool> Cases => new()
    {
        { 0, Message, Headers, true },
        { 1, Message, Headers + "line 1\r\n", true },
        { 2, Message, Headers + "line 1\r\nline 2\r\n", true },
        { 3, Message, Message, true },
        { 4, Message, Message, false },
        { 999_999_999, Message, Message, false },
        { 0, "A: 1\r\nB: 2\r\n", "A: 1\r\nB: 2\r\n", false },
        { 3, "A: 1\r\nB: 2", "A: 1\r\nB: 2", false },
        { 0, LfMessage, "A: 1\nB: 2\n\n", true },
        { 1, LfMessage, "A: 1\nB: 2\n\nx\n", true },
        { 2, LfMessage, LfMessage, true },
        { 3, LfMessage, LfMessage, false },
        { 0, "A: 1\r\n\nbody\r\n", "A: 1\r\n\n", true },
        { 0, "A: 1\nX\n\nbody\n", "A: 1\nX\n\n", true },
        { 0, "A: 1\r\n\rX: 2\r\n\r\nbody\r\n", "A: 1\r\n\rX: 2\r\n\r\n", true },
        { 0, "A: 1\r\n\r\r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\n\r\r\nB: 2\r\n\r\n", true },
        { 0, "A: 1\r\n \r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\n \r\nB: 2\r\n\r\n", true },
        { 2, "A: 1\r\n\r\n\r\n\r\nthird\r\n", "A: 1\r\n\r\n\r\n\r\n", true },
        { 1, "A: 1\r\n\r\na\rb\r\nc\r\n", "A: 1\r\n\r\na\rb\r\n", true },
        { 0, "A: 1\r\n\r\nabc", "A: 1\r\n\r\n", true },
        { 1, "A: 1\r\n\r\nabc", "A: 1\r\n\r\nabc", false },
        { 1, "A: 1\r\n\r\nabc\r\ndef", "A: 1\r\n\r\nabc\r\n", true },
        { 0, "A: 1\r\n\r\n", "A: 1\r\n\r\n", true },
        { 1, "A: 1\r\n\r\n", "A: 1\r\n\r\n", false },
        { 0, "A: 1\r\n\r", "A: 1\r\n\r", false },
        { 1, "\r\nbody 1\r\nbody 2\r\n", "\r\nbody 1\r\n", true },
        { 0, "\r\nbody", "\r\n", true },
        { 0, "\n", "\n", true },
        { 0, string.Empty, string.Empty, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void TopSendsTheHeadersTheBlankLineAndAtMostTheAskedBodyLines(int lines, string message, string expected, bool done)
    {
        var filter = new TopFilter(lines);

        Assert.Equal(expected, Take(filter, message, []));
        Assert.Equal(done, filter.Done);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EverySplitIntoTwoOrThreeChunksGivesTheSameOutput(int lines, string message, string expected, bool done)
    {
        for (var cut = 0; cut <= message.Length; cut++)
        {
            var filter = new TopFilter(lines);
            if (Take(filter, message, [cut]) != expected || filter.Done != done)
            {
                Assert.Fail($"cut at {cut}");
            }

            for (var second = cut; second <= message.Length; second++)
            {
                var three = new TopFilter(lines);
                if (Take(three, message, [cut, second]) != expected || three.Done != done)
                {
                    Assert.Fail($"cuts at {cut} and {second}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ByteByByteDoneTurnsTrueRightAfterTheLastByteToSend(int lines, string message, string expected, bool done)
    {
        var filter = new TopFilter(lines);
        var input = Ascii.Bytes(message);
        var output = new List<byte>();

        for (var i = 0; i < input.Length; i++)
        {
            Assert.True(filter.Done == (done && i >= expected.Length), $"Done before byte {i}");
            var taken = filter.Take(input.AsSpan(i, 1));
            Assert.True(taken.Length == (i < expected.Length ? 1 : 0), $"byte {i}");
            output.AddRange(taken);
        }

        Assert.Equal(expected, Ascii.Text(output.ToArray()));
        Assert.Equal(done, filter.Done);
    }

    [Theory]
    [InlineData(0, "\n")]
    [InlineData(1, "\nbody 1\r\n")]
    [InlineData(2, "\nbody 1\r\nbody 2\r\n")]
    public void BlankLineSplitBetweenCrAndLfStillEndsTheHeaders(int lines, string second)
    {
        var filter = new TopFilter(lines);

        Assert.Equal("A: 1\r\nB: 2\r\n\r", Ascii.Text(filter.Take(Ascii.Bytes("A: 1\r\nB: 2\r\n\r"))));
        Assert.False(filter.Done);
        Assert.Equal(second, Ascii.Text(filter.Take(Ascii.Bytes("\nbody 1\r\nbody 2\r\nbody 3\r\n"))));
        Assert.True(filter.Done);
    }

    [Fact]
    public void ACrAtTheEndOfAChunkThatStartsALongerLineIsNotABlankLine()
    {
        var filter = new TopFilter(0);

        Assert.Equal("A: 1\r\n\r", Ascii.Text(filter.Take(Ascii.Bytes("A: 1\r\n\r"))));
        Assert.Equal("X: 2\r\n\r\n", Ascii.Text(filter.Take(Ascii.Bytes("X: 2\r\n\r\nbody\r\n"))));
        Assert.True(filter.Done);
    }

    [Fact]
    public void OnceDoneNothingMoreIsTaken()
    {
        var filter = new TopFilter(1);
        Assert.Equal(Headers + "line 1\r\n", Ascii.Text(filter.Take(Ascii.Bytes(Message))));
        Assert.True(filter.Done);

        Assert.Equal(0, filter.Take(Ascii.Bytes("line 4\r\n")).Length);
        Assert.Equal(0, filter.Take(Ascii.Bytes("\r\n")).Length);
        Assert.True(filter.Done);
    }

    [Fact]
    public void AnEmptyChunkChangesNothing()
    {
        var filter = new TopFilter(1);
        Assert.False(filter.Done);
        Assert.Equal(0, filter.Take([]).Length);
        Assert.Equal("A: 1\r\n\r", Ascii.Text(filter.Take(Ascii.Bytes("A: 1\r\n\r"))));
        Assert.Equal(0, filter.Take([]).Length);
        Assert.False(filter.Done);

        Assert.Equal("\nb\r\n", Ascii.Text(filter.Take(Ascii.Bytes("\nb\r\nc\r\n"))));
        Assert.True(filter.Done);
    }

    // TOP as the session sends it: the filter cuts, the stuffer stuffs, the terminator closes.
    // Framing/DotStufferTests covers the stuffer alone at every split; this covers the two together.
    [Theory]
    [InlineData(2, "S: x\r\n\r\n.first\r\n..second\r\nthird\r\n", "S: x\r\n\r\n..first\r\n...second\r\n.\r\n")]
    [InlineData(9, "S: x\r\n\r\n.first\r\n..second\r\n.\r\n", "S: x\r\n\r\n..first\r\n...second\r\n..\r\n.\r\n")]
    [InlineData(0, ".S: x\r\n..T: y\r\n\r\n.body\r\n", "..S: x\r\n...T: y\r\n\r\n.\r\n")]
    [InlineData(1, ".S: x\n\n.body\n.more\n", "..S: x\n\n..body\n.\r\n")]
    [InlineData(5, "S: x\r\n\r\n.last", "S: x\r\n\r\n..last\r\n.\r\n")]
    [InlineData(0, ".no blank line", "..no blank line\r\n.\r\n")]
    public void TopOutputIsDotStuffedTheSameAtEverySplit(int lines, string message, string wire)
    {
        for (var cut = 0; cut <= message.Length; cut++)
        {
            var filter = new TopFilter(lines);
            var stuffer = new DotStuffer();
            var output = new List<byte>();
            var input = Ascii.Bytes(message);
            foreach (var (start, stop) in new[] { (0, cut), (cut, input.Length) })
            {
                var taken = filter.Take(input.AsSpan(start, stop - start));
                var buffer = new byte[DotStuffer.OutputSizeFor(taken.Length)];
                output.AddRange(buffer.AsSpan(0, stuffer.Encode(taken, buffer)));
            }

            output.AddRange(stuffer.Terminator());
            Assert.True(wire == Ascii.Text(output.ToArray()), $"cut at {cut}: {Ascii.Text(output.ToArray())}");
        }
    }
}
