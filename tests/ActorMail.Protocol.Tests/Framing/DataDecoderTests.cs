using ActorMail.Protocol.Framing;

namespace ActorMail.Protocol.Tests.Framing;

public class DataDecoderTests
{
    private const long Big = 1_000_000;
    private const int MaxLine = 1000;
    private const string Terminator = ".\r\n";
    private const string NextCommand = "QUIT\r\n";

    // What one body produced: the stored octets, where the terminator ended (-1: not found) and the flags.
    private sealed record Result(string Output, int End, long Size, bool TooBig, bool LineTooLong, bool BareCr, bool BareLf, bool Nul, bool Refused);

    // Feeds the input in pieces cut at the given offsets, each into an output buffer of exactly
    // OutputSizeFor(piece), and stops at the terminator as the session does.
    private static Result Decode(DataDecoder decoder, byte[] input, IEnumerable<int> cuts)
    {
        var output = new List<byte>();
        var end = -1;
        var start = 0;
        foreach (var stop in cuts.Append(input.Length))
        {
            var piece = input.AsSpan(start, stop - start);
            var buffer = new byte[DataDecoder.OutputSizeFor(piece.Length)];
            var ended = decoder.Decode(piece, buffer, out var consumed, out var written);
            output.AddRange(buffer.AsSpan(0, written));
            if (ended)
            {
                end = start + consumed;
                break;
            }

            Assert.Equal(piece.Length, consumed);
            start = stop;
        }

        return new Result(Ascii.Text(output.ToArray()), end, decoder.Size, decoder.TooBig, decoder.LineTooLong, decoder.BareCr, decoder.BareLf, decoder.Nul, decoder.Refused);
    }

    private static Result DecodeWhole(string input, BareNewlinePolicy policy = BareNewlinePolicy.Normalize, long maxMessage = Big, int maxLine = MaxLine, NulPolicy nul = NulPolicy.Reject) =>
        Decode(new DataDecoder(maxMessage, maxLine, policy, nul), Ascii.Bytes(input), []);

    [Theory]
    [InlineData("..\r\n", ".\r\n")]
    [InlineData(".x\r\n", "x\r\n")]
    [InlineData("...\r\n", "..\r\n")]
    [InlineData("..a\r\nb\r\n", ".a\r\nb\r\n")]
    [InlineData("a\r\n..b\r\n", "a\r\n.b\r\n")]
    [InlineData("a\r\n..\r\nb\r\n", "a\r\n.\r\nb\r\n")]
    [InlineData("\r\n..\r\n", "\r\n.\r\n")]
    [InlineData("a.b\r\n", "a.b\r\n")]
    [InlineData(" .a\r\n", " .a\r\n")]
    [InlineData("a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n")]
    public void OneLeadingDotIsRemovedFromEachLineIncludingTheFirst(string body, string stored)
    {
        var input = body + Terminator + NextCommand;

        var result = DecodeWhole(input);

        Assert.Equal(stored, result.Output);
        Assert.Equal(body.Length + Terminator.Length, result.End);
        Assert.Equal(stored.Length, result.Size);
        Assert.False(result.BareCr || result.BareLf || result.TooBig || result.LineTooLong);
    }

    [Fact]
    public void TerminatorRightAwayIsAnEmptyBody()
    {
        var result = DecodeWhole(Terminator + NextCommand);

        Assert.Equal(string.Empty, result.Output);
        Assert.Equal(3, result.End);
        Assert.Equal(0, result.Size);
        Assert.False(result.Refused);
    }

    [Fact]
    public void BytesAfterTheTerminatorAreLeftForTheCaller()
    {
        var input = Ascii.Bytes("Hi\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<a@b>\r\n");
        var decoder = new DataDecoder(Big, MaxLine, BareNewlinePolicy.Reject, NulPolicy.Reject);
        var output = new byte[DataDecoder.OutputSizeFor(input.Length)];

        Assert.True(decoder.Decode(input, output, out var consumed, out var written));

        Assert.Equal(7, consumed);
        Assert.Equal("Hi\r\n", Ascii.Text(output.AsSpan(0, written)));
        Assert.Equal("MAIL FROM:<>\r\nRCPT TO:<a@b>\r\n", Ascii.Text(input.AsSpan(consumed)));
    }

    [Theory]
    [InlineData("a\r\n. \r\n")]
    [InlineData("a\r\n..\r\n")]
    [InlineData("a\r\n.x\r\n")]
    [InlineData("a\r\n.")]
    [InlineData("a\r\n.\r")]
    [InlineData("a.\r\n")]
    public void OnlyCrlfDotCrlfEndsTheBody(string input)
    {
        var result = DecodeWhole(input, BareNewlinePolicy.Reject);

        Assert.Equal(-1, result.End);
    }

    // Each probe sits between "A" and "B\r\n", followed by the real terminator and a command.
    [Theory]
    [InlineData("\n.\n", "A\r\n.\r\nB\r\n", "A", false, true)]
    [InlineData("\n.\r\n", "A\r\n.\r\nB\r\n", "A", false, true)]
    [InlineData("\r.\r\n", "A\r\n.\r\nB\r\n", "A", true, false)]
    [InlineData("\r\n.\n", "A\r\n\r\nB\r\n", "A\r\n", false, true)]
    [InlineData("\n.", "A\r\n.B\r\n", "A", false, true)]
    [InlineData("\n..\r\n", "A\r\n..\r\nB\r\n", "A", false, true)]
    [InlineData("\r\n.\r", "A\r\n\r\nB\r\n", "A\r\n", true, false)]
    [InlineData("\n.\r", "A\r\n.\r\nB\r\n", "A", true, true)]
    public void SmugglingProbesNeverEndTheBodyAndAreFlagged(string probe, string normalized, string writtenBeforeReject, bool bareCr, bool bareLf)
    {
        var body = "A" + probe + "B\r\n";
        var input = body + Terminator + NextCommand;
        var expectedEnd = body.Length + Terminator.Length;

        var kept = DecodeWhole(input, BareNewlinePolicy.Normalize);
        Assert.Equal(expectedEnd, kept.End);
        Assert.Equal(normalized, kept.Output);
        Assert.Equal((bareCr, bareLf), (kept.BareCr, kept.BareLf));
        Assert.False(kept.Refused);

        var refused = DecodeWhole(input, BareNewlinePolicy.Reject);
        Assert.Equal(expectedEnd, refused.End);
        Assert.Equal((bareCr, bareLf), (refused.BareCr, refused.BareLf));
        Assert.True(refused.Refused);
        Assert.Equal(writtenBeforeReject, refused.Output);
    }

    [Fact]
    public void NormalizedOutputHasNoBareCrOrLf()
    {
        var result = DecodeWhole("a\rb\nc\r\r\n\n\nd\r\n.\r\n", BareNewlinePolicy.Normalize);

        Assert.Equal("a\r\nb\r\nc\r\n\r\n\r\n\r\nd\r\n", result.Output);
    }

    private const string Mixed =
        "Subject: split\r\n\r\n..stuffed\r\n.x\r\nA\n.\nB\r.\r\nC\r\n.\n\r\n\r\n.\rD\n..\r\n" +
        "E\r\n.\r\nMAIL FROM:<>\r\n";

    [Theory]
    [InlineData(BareNewlinePolicy.Normalize)]
    [InlineData(BareNewlinePolicy.Reject)]
    public void EverySplitOffsetGivesTheSameOutputEndAndFlags(BareNewlinePolicy policy)
    {
        var input = Ascii.Bytes(Mixed);
        var whole = Decode(new DataDecoder(Big, MaxLine, policy, NulPolicy.Reject), input, []);
        Assert.Equal(Mixed.IndexOf("\r\n.\r\n", StringComparison.Ordinal) + 5, whole.End);
        Assert.True(whole.BareCr && whole.BareLf);

        for (var cut = 0; cut <= input.Length; cut++)
        {
            var split = Decode(new DataDecoder(Big, MaxLine, policy, NulPolicy.Reject), input, [cut]);
            Assert.True(whole == split, $"split at {cut}: {split} != {whole}");
        }

        var byteByByte = Decode(new DataDecoder(Big, MaxLine, policy, NulPolicy.Reject), input, Enumerable.Range(1, input.Length - 1));
        Assert.Equal(whole, byteByByte);
    }

    // A NUL octet is never mail content (RFC 5322 §2.3 and RFC 6152 allow it in neither 7bit nor 8bit text).
    [Theory]
    [InlineData("\0\r\n", "")]
    [InlineData("a\0b\r\n", "")]
    [InlineData("ok\r\nx\0\r\n", "ok\r\n")]
    [InlineData("ok\r\n.\0\r\n", "ok\r\n")]
    [InlineData("ok\r\0\r\n", "ok\r\n")]
    [InlineData("ok\r\n\0", "ok\r\n")]
    public void NulIsFlaggedAndRefusesTheMessageUnderReject(string body, string writtenBeforeReject)
    {
        var input = body + "\r\n" + Terminator + NextCommand;
        var expectedEnd = input.Length - NextCommand.Length;

        var refused = DecodeWhole(input, nul: NulPolicy.Reject);
        Assert.True(refused.Nul);
        Assert.True(refused.Refused);
        Assert.Equal(expectedEnd, refused.End);
        Assert.StartsWith(writtenBeforeReject, refused.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\0", refused.Output, StringComparison.Ordinal);

        var kept = DecodeWhole(input, nul: NulPolicy.Accept);
        Assert.True(kept.Nul);
        Assert.False(kept.Refused);
        Assert.Equal(expectedEnd, kept.End);
        Assert.Contains("\0", kept.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(NulPolicy.Reject)]
    [InlineData(NulPolicy.Accept)]
    public void NulAtEverySplitOffsetGivesTheSameOutputEndAndFlags(NulPolicy nul)
    {
        var input = Ascii.Bytes("Subject: nul\r\n\r\nbefore\r\nin\0side\r\n.\0\r\nafter\r\n.\r\nQUIT\r\n");
        var whole = Decode(new DataDecoder(Big, MaxLine, BareNewlinePolicy.Reject, nul), input, []);
        Assert.True(whole.Nul);

        for (var cut = 0; cut <= input.Length; cut++)
        {
            Assert.Equal(whole, Decode(new DataDecoder(Big, MaxLine, BareNewlinePolicy.Reject, nul), input, [cut]));
        }
    }

    [Fact]
    public void AllOtherOctetsPassUnchanged()
    {
        var octets = Enumerable.Range(1, 255).Where(b => b is not ('\r' or '\n')).Select(b => (byte)b).ToArray();
        var body = "x" + Ascii.Text(octets) + "\r\n";

        var result = DecodeWhole(body + Terminator, BareNewlinePolicy.Reject);

        Assert.Equal(body, result.Output);
        Assert.False(result.Refused || result.Nul);
    }

    [Theory]
    [InlineData(99, false)]
    [InlineData(100, false)]
    [InlineData(101, true)]
    public void SizeLimitRefusesOnlyABodyOverTheLimit(int storedOctets, bool tooBig)
    {
        const int limit = 100;
        var body = new string('x', storedOctets - 2) + "\r\n";

        var result = DecodeWhole(body + Terminator + NextCommand, BareNewlinePolicy.Reject, maxMessage: limit);

        Assert.Equal(tooBig, result.TooBig);
        Assert.Equal(tooBig, result.Refused);
        Assert.Equal(storedOctets, result.Size);
        Assert.Equal(body.Length + Terminator.Length, result.End);
        if (tooBig)
        {
            Assert.True(result.Output.Length <= limit, $"{result.Output.Length} octets written past a limit of {limit}");
            Assert.StartsWith(result.Output, body, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(body, result.Output);
        }
    }

    [Fact]
    public void OutputStopsAtTheSizeLimitWhateverFollows()
    {
        const int limit = 50;
        var body = string.Concat(Enumerable.Repeat("0123456789\r\n", 40));
        var input = Ascii.Bytes(body + Terminator);

        for (var cut = 0; cut <= input.Length; cut += 7)
        {
            var result = Decode(new DataDecoder(limit, MaxLine, BareNewlinePolicy.Normalize, NulPolicy.Reject), input, [cut]);
            Assert.True(result.TooBig);
            Assert.Equal(body.Length, result.Size);
            Assert.Equal(input.Length, result.End);
            Assert.True(result.Output.Length <= limit);
            Assert.StartsWith(result.Output, body, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("", 998, false)]
    [InlineData("", 999, true)]
    [InlineData("..", 997, false)]
    [InlineData("..", 998, true)]
    [InlineData("a\n", 998, false)]
    [InlineData("a\n", 999, true)]
    public void TextLineLimitCountsStoredContentOctets(string prefix, int xs, bool tooLong)
    {
        var body = "short\r\n" + prefix + new string('x', xs) + "\r\nafter\r\n";

        var result = DecodeWhole(body + Terminator + NextCommand, BareNewlinePolicy.Normalize, maxLine: MaxLine);

        Assert.Equal(tooLong, result.LineTooLong);
        Assert.Equal(tooLong, result.Refused);
        Assert.Equal(body.Length + Terminator.Length, result.End);
    }

    [Fact]
    public void OutputSizeForIsEnoughForTheWorstCaseOfBareNewlines()
    {
        // A carried CR, then nothing but bare CRs or LFs: every octet becomes two.
        foreach (var tail in new[] { new string('\r', 300), new string('\n', 300), "X" + new string('\n', 299) })
        {
            var decoder = new DataDecoder(Big, MaxLine, BareNewlinePolicy.Normalize, NulPolicy.Reject);
            var result = Decode(decoder, Ascii.Bytes("a\r" + tail), [2]);
            Assert.Equal(-1, result.End);
            Assert.DoesNotContain("\r\r", result.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void OutputSizeForIsEnoughForRandomNewlineHeavyInput()
    {
        var random = new Random(5321);
        var alphabet = Ascii.Bytes("\r\n.a");
        for (var round = 0; round < 300; round++)
        {
            var input = new byte[random.Next(1, 200)];
            for (var i = 0; i < input.Length; i++)
            {
                input[i] = alphabet[random.Next(alphabet.Length)];
            }

            var cuts = new SortedSet<int> { random.Next(input.Length + 1), random.Next(input.Length + 1) };
            var result = Decode(new DataDecoder(Big, MaxLine, BareNewlinePolicy.Normalize, NulPolicy.Reject), input, cuts);
            Assert.DoesNotContain("\r\r", result.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ResetStartsANewBody()
    {
        var decoder = new DataDecoder(10, MaxLine, BareNewlinePolicy.Reject, NulPolicy.Reject);
        var first = Decode(decoder, Ascii.Bytes("a\nb\0bbbbbbbbbbbbbbb\r\n.\r\n"), []);
        Assert.True(first.TooBig && first.BareLf && first.Nul && first.Refused);

        decoder.Reset();

        Assert.Equal(0, decoder.Size);
        Assert.False(decoder.TooBig || decoder.LineTooLong || decoder.BareCr || decoder.BareLf || decoder.Nul || decoder.Refused);
        var second = Decode(decoder, Ascii.Bytes("ok\r\n.\r\n"), []);
        Assert.Equal(new Result("ok\r\n", 7, 4, false, false, false, false, false, false), second);
    }

    [Fact]
    public void ResetInTheMiddleOfALineReturnsToLineStart()
    {
        var decoder = new DataDecoder(Big, MaxLine, BareNewlinePolicy.Reject, NulPolicy.Reject);
        Decode(decoder, Ascii.Bytes("half a line"), []);

        decoder.Reset();

        Assert.Equal(3, Decode(decoder, Ascii.Bytes(".\r\n"), []).End);
    }
}
