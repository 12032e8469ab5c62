namespace ActorMail.Protocol.Framing;

/// <summary>
/// Dot-stuffs a stored message for the wire (POP3 RETR/TOP): every line that starts with a dot,
/// the first one included, gets one more dot. Keeps its line-start flag across chunks.
/// </summary>
public sealed class DotStuffer
{
    private bool _lineStart = true;
    private bool _any;

    /// <summary>Room the output needs for an input of <paramref name="inputLength"/> octets.</summary>
    public static int OutputSizeFor(int inputLength) => inputLength * 2;

    /// <summary>Stuffs <paramref name="input"/> into <paramref name="output"/> and returns the octets written.</summary>
    public int Encode(ReadOnlySpan<byte> input, Span<byte> output)
    {
        var w = 0;
        while (!input.IsEmpty)
        {
            _any = true;
            if (_lineStart && input[0] == (byte)'.')
            {
                output[w++] = (byte)'.';
            }

            var lf = input.IndexOf((byte)'\n');
            var take = lf < 0 ? input.Length : lf + 1;
            input[..take].CopyTo(output[w..]);
            w += take;
            _lineStart = lf >= 0;
            input = input[take..];
        }

        return w;
    }

    /// <summary>The bytes that close the multi-line response: a CRLF if the text did not end a line, then ".CRLF".</summary>
    public ReadOnlySpan<byte> Terminator() => !_any || _lineStart ? ".\r\n"u8 : "\r\n.\r\n"u8;
}
