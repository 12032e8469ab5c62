using ActorMail.Protocol.Framing;

namespace ActorMail.Protocol.Tests.Framing;

public class DotStufferTests
{
    private static string Stuff(DotStuffer stuffer, string text, IEnumerable<int> cuts)
    {
        var input = Ascii.Bytes(text);
        var result = new List<byte>();
        var start = 0;
        foreach (var stop in cuts.Append(input.Length))
        {
            var piece = input.AsSpan(start, stop - start);
            var buffer = new byte[DotStuffer.OutputSizeFor(piece.Length)];
            var written = stuffer.Encode(piece, buffer);
            result.AddRange(buffer.AsSpan(0, written));
            start = stop;
        }

        return Ascii.Text(result.ToArray());
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("abc\r\n", "abc\r\n")]
    [InlineData(".\r\n", "..\r\n")]
    [InlineData("..\r\n", "...\r\n")]
    [InlineData(".first\r\nsecond\r\n", "..first\r\nsecond\r\n")]
    [InlineData("a\r\n.b\r\n.\r\n", "a\r\n..b\r\n..\r\n")]
    [InlineData("a.b\r\n a\r\n", "a.b\r\n a\r\n")]
    [InlineData(".", "..")]
    [InlineData("a\r\n.", "a\r\n..")]
    [InlineData("....", ".....")]
    public void EveryLineStartingWithADotGetsOneMoreDot(string text, string stuffed)
    {
        Assert.Equal(stuffed, Stuff(new DotStuffer(), text, []));
    }

    [Theory]
    [InlineData("a\r\n", ".b\r\n", "a\r\n..b\r\n")]
    [InlineData("a\r", "\n.b\r\n", "a\r\n..b\r\n")]
    [InlineData("a", ".b\r\n", "a.b\r\n")]
    [InlineData("", ".b\r\n", "..b\r\n")]
    public void ChunkBoundaryBeforeADotKeepsTheLineStart(string first, string second, string stuffed)
    {
        var stuffer = new DotStuffer();

        Assert.Equal(stuffed, Stuff(stuffer, first, []) + Stuff(stuffer, second, []));
    }

    [Fact]
    public void EverySplitOffsetGivesTheSameOutput()
    {
        const string text = ".a\r\n..\r\nb.c\r\n.\r\n\r\n.d";
        var whole = Stuff(new DotStuffer(), text, []);

        for (var cut = 0; cut <= text.Length; cut++)
        {
            Assert.Equal(whole, Stuff(new DotStuffer(), text, [cut]));
        }

        Assert.Equal(whole, Stuff(new DotStuffer(), text, Enumerable.Range(1, text.Length - 1)));
    }

    [Theory]
    [InlineData("", ".\r\n")]
    [InlineData("a\r\n", ".\r\n")]
    [InlineData("a", "\r\n.\r\n")]
    [InlineData("a\r\nb", "\r\n.\r\n")]
    [InlineData(".", "\r\n.\r\n")]
    public void TerminatorAddsACrlfOnlyWhenTheTextDidNotEndALine(string text, string terminator)
    {
        var stuffer = new DotStuffer();
        Stuff(stuffer, text, []);

        Assert.Equal(terminator, Ascii.Text(stuffer.Terminator()));
    }

    [Fact]
    public void TerminatorOfAStufferThatWasNeverFedIsDotCrlf()
    {
        Assert.Equal(".\r\n", Ascii.Text(new DotStuffer().Terminator()));
    }

    [Fact]
    public void StuffedTextDecodesBackToTheOriginal()
    {
        var random = new Random(1939);
        const string alphabet = "..abcXYZ 09:-";
        for (var round = 0; round < 400; round++)
        {
            var lines = new string[random.Next(0, 8)];
            for (var i = 0; i < lines.Length; i++)
            {
                var chars = new char[random.Next(0, 12)];
                for (var j = 0; j < chars.Length; j++)
                {
                    chars[j] = alphabet[random.Next(alphabet.Length)];
                }

                lines[i] = new string(chars);
            }

            var text = string.Join("\r\n", lines);
            if (random.Next(2) == 0 && text.Length > 0)
            {
                text += "\r\n";
            }

            var stuffer = new DotStuffer();
            var wire = Stuff(stuffer, text, text.Length == 0 ? [] : [random.Next(text.Length + 1)]);
            wire += Ascii.Text(stuffer.Terminator());
            var input = Ascii.Bytes(wire + "NEXT\r\n");

            var decoder = new DataDecoder(1_000_000, 1000, BareNewlinePolicy.Reject, NulPolicy.Reject);
            var output = new List<byte>();
            var cut = random.Next(input.Length + 1);
            var end = -1;
            foreach (var (start, length) in new[] { (0, cut), (cut, input.Length - cut) })
            {
                var buffer = new byte[DataDecoder.OutputSizeFor(length)];
                var ended = decoder.Decode(input.AsSpan(start, length), buffer, out var consumed, out var written);
                output.AddRange(buffer.AsSpan(0, written));
                if (ended)
                {
                    end = start + consumed;
                    break;
                }
            }

            var expected = text.Length == 0 || text.EndsWith("\r\n", StringComparison.Ordinal) ? text : text + "\r\n";
            Assert.Equal(wire.Length, end);
            Assert.Equal(expected, Ascii.Text(output.ToArray()));
            Assert.False(decoder.Refused);
        }
    }
}
