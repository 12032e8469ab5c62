namespace ActorMail.Protocol.Framing;

/// <summary>
/// Decodes an SMTP DATA body as it streams in: removes one leading dot from each line, finds the
/// only true terminator (CRLF.CRLF), and checks size, line length, bare CR/LF and NUL on the way.
/// </summary>
/// <remarks>
/// A dot counts as the start of a line only after a real CRLF, so <c>\n.\n</c>, <c>\n.\r\n</c> and
/// <c>\r.\r\n</c> never end the body (the SMTP smuggling probes). Once a message is known to be
/// refused, output stops: the rest is read and dropped up to the terminator, never buffered.
/// </remarks>
public sealed class DataDecoder
{
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();

    private readonly long _maxMessage;
    private readonly int _maxLineContent;
    private readonly BareNewlinePolicy _policy;
    private readonly NulPolicy _nul;
    private State _state;
    private int _lineLength;

    /// <param name="maxMessage">The largest body in octets, as stored.</param>
    /// <param name="maxLine">The longest text line in octets, CRLF included.</param>
    /// <param name="policy">What a bare CR or LF does.</param>
    /// <param name="nul">What a NUL octet does.</param>
    public DataDecoder(long maxMessage, int maxLine, BareNewlinePolicy policy, NulPolicy nul)
    {
        _maxMessage = maxMessage;
        _maxLineContent = maxLine - 2;
        _policy = policy;
        _nul = nul;
        Reset();
    }

    private enum State
    {
        LineStart,
        LineStartDot,
        LineStartDotCr,
        Text,
        TextCr,
    }

    /// <summary>Octets of body seen so far, as it would be stored (refused or not).</summary>
    public long Size { get; private set; }

    /// <summary>The body went over the size limit.</summary>
    public bool TooBig { get; private set; }

    /// <summary>A line went over the line limit.</summary>
    public bool LineTooLong { get; private set; }

    /// <summary>A CR not followed by LF was seen.</summary>
    public bool BareCr { get; private set; }

    /// <summary>An LF not preceded by CR was seen.</summary>
    public bool BareLf { get; private set; }

    /// <summary>A NUL octet was seen.</summary>
    public bool Nul { get; private set; }

    /// <summary>A bare CR or LF refuses the message (the reject policy).</summary>
    public bool BareNewlineRefused => _policy == BareNewlinePolicy.Reject && (BareCr || BareLf);

    /// <summary>A NUL octet refuses the message (the reject policy).</summary>
    public bool NulRefused => _nul == NulPolicy.Reject && Nul;

    /// <summary>True once the message will be refused; output has stopped.</summary>
    public bool Refused => TooBig || LineTooLong || BareNewlineRefused || NulRefused;

    /// <summary>Room the output needs for an input of <paramref name="inputLength"/> octets.</summary>
    /// <remarks>
    /// Under <see cref="BareNewlinePolicy.Normalize"/> every bare CR or LF becomes CRLF (two octets for one),
    /// and a CR kept from the previous input can add one more CRLF.
    /// </remarks>
    public static int OutputSizeFor(int inputLength) => (2 * inputLength) + 2;

    /// <summary>Starts a new body.</summary>
    public void Reset()
    {
        _state = State.LineStart;
        _lineLength = 0;
        Size = 0;
        TooBig = LineTooLong = BareCr = BareLf = Nul = false;
    }

    /// <summary>
    /// Decodes from <paramref name="input"/> into <paramref name="output"/> (at least
    /// <see cref="OutputSizeFor"/> long). Returns true when the terminator was consumed;
    /// <paramref name="consumed"/> then tells where the next command starts.
    /// </summary>
    public bool Decode(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int written)
    {
        var i = 0;
        var w = 0;
        while (i < input.Length)
        {
            var b = input[i];
            switch (_state)
            {
                case State.LineStart:
                    if (b == (byte)'.')
                    {
                        // The stuffing dot is not stored and does not count (RFC 5321 §4.5.3.1.6).
                        _state = State.LineStartDot;
                        _lineLength = 0;
                        i++;
                    }
                    else
                    {
                        _state = State.Text;
                    }

                    break;

                case State.LineStartDot:
                    if (b == (byte)'\r')
                    {
                        _state = State.LineStartDotCr;
                        i++;
                    }
                    else
                    {
                        // The leading dot was stuffing; the line goes on without it.
                        _state = State.Text;
                    }

                    break;

                case State.LineStartDotCr:
                    if (b == (byte)'\n')
                    {
                        consumed = i + 1;
                        written = w;
                        _state = State.LineStart;
                        return true;
                    }

                    // ".\r" then something else: a bare CR after a stuffing dot.
                    w = BareNewline(output, w, lf: false);
                    break;

                case State.Text:
                    var rest = input[i..];
                    var stop = rest.IndexOfAny((byte)'\r', (byte)'\n');
                    var run = stop < 0 ? rest.Length : stop;
                    if (run > 0)
                    {
                        var text = rest[..run];
                        var nul = Nul ? -1 : text.IndexOf((byte)0);
                        if (nul >= 0)
                        {
                            // What precedes the first NUL is written as if the read had split there; the
                            // NUL is flagged before it is written, so that under reject none is ever output.
                            w = Emit(output, w, text[..nul]);
                            Nul = true;
                            text = text[nul..];
                        }

                        w = Emit(output, w, text);
                        _lineLength += run;
                        if (_lineLength > _maxLineContent)
                        {
                            LineTooLong = true;
                        }

                        i += run;
                    }

                    if (stop >= 0)
                    {
                        if (rest[stop] == (byte)'\r')
                        {
                            _state = State.TextCr;
                        }
                        else
                        {
                            w = BareNewline(output, w, lf: true);
                        }

                        i++;
                    }

                    break;

                case State.TextCr:
                    if (b == (byte)'\n')
                    {
                        w = Emit(output, w, Crlf);
                        _state = State.LineStart;
                        _lineLength = 0;
                        i++;
                    }
                    else
                    {
                        w = BareNewline(output, w, lf: false);
                    }

                    break;
            }
        }

        consumed = input.Length;
        written = w;
        return false;
    }

    // A bare CR or LF ends the line for length counting, but the next line is not a line start:
    // a dot after it must never be able to end the body.
    private int BareNewline(Span<byte> output, int w, bool lf)
    {
        if (lf)
        {
            BareLf = true;
        }
        else
        {
            BareCr = true;
        }

        _state = State.Text;
        _lineLength = 0;
        return Emit(output, w, Crlf);
    }

    private int Emit(Span<byte> output, int w, ReadOnlySpan<byte> bytes)
    {
        Size += bytes.Length;
        if (Size > _maxMessage)
        {
            TooBig = true;
        }

        if (Refused)
        {
            return w;
        }

        bytes.CopyTo(output[w..]);
        return w + bytes.Length;
    }
}
