using ActorMail.Protocol.Framing;

namespace ActorMail.Protocol.Tests.Framing;

public class LineFramerTests
{
    private const int Max = 16;

    // Feeds the input in the given pieces and records every result; a line becomes its text,
    // TooLong becomes "<too long>". NeedMore is not recorded: how often it shows depends on the split.
    private static List<string> Feed(LineFramer framer, byte[] input, IEnumerable<int> cuts)
    {
        var results = new List<string>();
        var start = 0;
        foreach (var end in cuts.Append(input.Length))
        {
            ReadOnlySpan<byte> piece = input.AsSpan(start, end - start);
            start = end;
            while (true)
            {
                var before = piece.Length;
                var status = framer.Next(ref piece, out var line);
                if (status == LineStatus.NeedMore)
                {
                    Assert.True(piece.IsEmpty, "NeedMore must take the whole input");
                    break;
                }

                Assert.True(piece.Length < before, "a result must consume input");
                results.Add(status == LineStatus.Line ? Ascii.Text(line) : "<too long>");
            }
        }

        return results;
    }

    private static List<string> FeedWhole(LineFramer framer, string input) => Feed(framer, Ascii.Bytes(input), []);

    [Theory]
    [InlineData("NOOP\r\n", "NOOP")]
    [InlineData("NOOP\n", "NOOP")]
    [InlineData("MAIL FROM:<a@b.test>\r\n", "MAIL FROM:<a@b.test>")]
    [InlineData("\r\n", "")]
    [InlineData("\n", "")]
    [InlineData("A\rB\r\n", "A\rB")]
    public void OneLineEndingInCrlfOrBareLfComesOutWithoutItsLineEnd(string input, string expected)
    {
        Assert.Equal([expected], FeedWhole(new LineFramer(64), input));
    }

    [Fact]
    public void LineWithoutLineEndIsHeldAsPartial()
    {
        var framer = new LineFramer(Max);
        ReadOnlySpan<byte> input = "NOOP"u8;

        var status = framer.Next(ref input, out var line);

        Assert.Equal(LineStatus.NeedMore, status);
        Assert.True(line.IsEmpty);
        Assert.True(input.IsEmpty);
        Assert.True(framer.HasPartialLine);
    }

    [Fact]
    public void PipelinedLinesInOneInputComeOutOneByOneInOrder()
    {
        var framer = new LineFramer(Max);
        ReadOnlySpan<byte> input = "MAIL FROM:<>\r\nRCPT TO:<a@b>\nDATA\r\n"u8;

        Assert.Equal(LineStatus.Line, framer.Next(ref input, out var first));
        Assert.Equal("MAIL FROM:<>", Ascii.Text(first));
        Assert.Equal("RCPT TO:<a@b>\nDATA\r\n", Ascii.Text(input));

        Assert.Equal(LineStatus.Line, framer.Next(ref input, out var second));
        Assert.Equal("RCPT TO:<a@b>", Ascii.Text(second));

        Assert.Equal(LineStatus.Line, framer.Next(ref input, out var third));
        Assert.Equal("DATA", Ascii.Text(third));

        Assert.True(input.IsEmpty);
        Assert.Equal(LineStatus.NeedMore, framer.Next(ref input, out _));
        Assert.False(framer.HasPartialLine);
    }

    private const string MultiLine = "EHLO c.test\r\nMAIL FROM:<>\nA\r\n\r\nRCPT TO:<x@y>\r\n0123456789abcdef\r\nQUIT\r\ntail";

    private static readonly string[] MultiLineExpected =
        ["EHLO c.test", "MAIL FROM:<>", "A", "", "RCPT TO:<x@y>", "<too long>", "QUIT"];

    [Fact]
    public void MultiLineInputGivesTheExpectedSequenceInOneRead()
    {
        Assert.Equal(MultiLineExpected, FeedWhole(new LineFramer(Max), MultiLine));
    }

    [Fact]
    public void SplittingTheInputInTwoAtEveryOffsetGivesTheSameSequence()
    {
        var input = Ascii.Bytes(MultiLine);
        for (var cut = 0; cut <= input.Length; cut++)
        {
            var framer = new LineFramer(Max);
            var results = Feed(framer, input, [cut]);
            Assert.True(MultiLineExpected.SequenceEqual(results), $"split at {cut}: {string.Join('|', results)}");
            Assert.True(framer.HasPartialLine, "the unterminated tail stays partial");
        }
    }

    [Fact]
    public void FeedingByteByByteGivesTheSameSequence()
    {
        var input = Ascii.Bytes(MultiLine);
        var framer = new LineFramer(Max);

        Assert.Equal(MultiLineExpected, Feed(framer, input, Enumerable.Range(1, input.Length - 1)));
    }

    [Fact]
    public void PartialLineIsCompletedByTheNextRead()
    {
        var framer = new LineFramer(Max);
        ReadOnlySpan<byte> first = "RCPT TO:"u8;
        Assert.Equal(LineStatus.NeedMore, framer.Next(ref first, out _));

        ReadOnlySpan<byte> second = "<a@b>\r\nNOOP"u8;
        Assert.Equal(LineStatus.Line, framer.Next(ref second, out var line));
        Assert.Equal("RCPT TO:<a@b>", Ascii.Text(line));
        Assert.Equal("NOOP", Ascii.Text(second));
    }

    [Theory]
    [InlineData(Max - 2, "\r\n", true)]
    [InlineData(Max - 1, "\r\n", false)]
    [InlineData(Max - 1, "\n", true)]
    [InlineData(Max, "\n", false)]
    public void LineOfExactlyMaxOctetsIncludingLineEndIsAcceptedAndOneMoreIsTooLong(int contentLength, string lineEnd, bool accepted)
    {
        var content = new string('x', contentLength);
        var input = Ascii.Bytes(content + lineEnd + "NEXT\r\n");
        string[] expected = [accepted ? content : "<too long>", "NEXT"];

        // In one read, in two reads at every offset, and byte by byte.
        Assert.Equal(expected, Feed(new LineFramer(Max), input, []));
        for (var cut = 0; cut <= input.Length; cut++)
        {
            Assert.Equal(expected, Feed(new LineFramer(Max), input, [cut]));
        }

        Assert.Equal(expected, Feed(new LineFramer(Max), input, Enumerable.Range(1, input.Length - 1)));
    }

    [Fact]
    public void HugeLineWithoutLineEndIsDiscardedWithoutGrowingMemoryAndTheNextLineIsRead()
    {
        const int limit = 512;
        const int chunkSize = 4096;
        const int total = 1024 * 1024;
        var framer = new LineFramer(limit);
        var chunk = new byte[chunkSize];
        Array.Fill(chunk, (byte)'A');

        // Warm up the code path so the measured loop only shows the framer's own allocations.
        ReadOnlySpan<byte> warm = "x\r\n"u8;
        framer.Next(ref warm, out _);

        var wrong = 0;
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var sent = 0; sent < total; sent += chunkSize)
        {
            ReadOnlySpan<byte> piece = chunk;
            if (framer.Next(ref piece, out _) != LineStatus.NeedMore || !piece.IsEmpty)
            {
                wrong++;
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.Equal(0, wrong);
        Assert.True(framer.HasPartialLine);
        Assert.True(allocated < 16 * 1024, $"the framer allocated {allocated} bytes while discarding 1 MB");

        ReadOnlySpan<byte> end = "AAAA\r\nNOOP\r\n"u8;
        Assert.Equal(LineStatus.TooLong, framer.Next(ref end, out _));
        Assert.Equal(LineStatus.Line, framer.Next(ref end, out var line));
        Assert.Equal("NOOP", Ascii.Text(line));
        Assert.False(framer.HasPartialLine);
    }

    [Fact]
    public void TooLongIsReportedOncePerLongLine()
    {
        var framer = new LineFramer(Max);

        var results = FeedWhole(framer, new string('y', 100) + "\r\n" + new string('z', 40) + "\n" + "OK\r\n");

        Assert.Equal(["<too long>", "<too long>", "OK"], results);
    }

    [Fact]
    public void ResetForgetsAPartialLine()
    {
        var framer = new LineFramer(Max);
        ReadOnlySpan<byte> partial = "GARBAGE"u8;
        framer.Next(ref partial, out _);

        framer.Reset();

        Assert.False(framer.HasPartialLine);
        Assert.Equal(["NOOP"], FeedWhole(framer, "NOOP\r\n"));
    }

    [Fact]
    public void ResetStopsDiscardingALongLine()
    {
        var framer = new LineFramer(Max);
        ReadOnlySpan<byte> tooLong = Ascii.Bytes(new string('x', 3 * Max));
        framer.Next(ref tooLong, out _);
        Assert.True(framer.HasPartialLine);

        framer.Reset();

        Assert.False(framer.HasPartialLine);
        Assert.Equal(["NOOP"], FeedWhole(framer, "NOOP\r\n"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void LimitBelowTwoOctetsIsRefused(int maxLine)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LineFramer(maxLine));
    }
}
