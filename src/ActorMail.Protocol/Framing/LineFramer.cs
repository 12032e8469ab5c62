namespace ActorMail.Protocol.Framing;

/// <summary>What <see cref="LineFramer.Next"/> found in the input.</summary>
public enum LineStatus
{
    /// <summary>No complete line yet; everything given was kept or discarded.</summary>
    NeedMore,

    /// <summary>A complete line, without its line end.</summary>
    Line,

    /// <summary>A line longer than the limit ended; its bytes were discarded as they arrived.</summary>
    TooLong,
}

/// <summary>
/// Splits a byte stream into command lines, keeping a partial line between reads and
/// never holding more than the line limit, however long the line the peer sends.
/// </summary>
/// <remarks>
/// A line ends at LF; a CR just before it belongs to the line end. A bare LF is accepted as a
/// line end for commands (students type them with netcat); the DATA body is stricter, see
/// <see cref="DataDecoder"/>.
/// </remarks>
public sealed class LineFramer
{
    private readonly int _maxLine;
    private readonly byte[] _partial;
    private int _partialLength;
    private bool _discarding;
    private byte[] _line = [];

    /// <param name="maxLine">The longest accepted line in octets, line end included.</param>
    public LineFramer(int maxLine)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLine, 2);
        _maxLine = maxLine;
        _partial = new byte[maxLine];
    }

    /// <summary>True while part of a line is kept or being discarded.</summary>
    public bool HasPartialLine => _partialLength > 0 || _discarding;

    /// <summary>
    /// Takes at most one line from the front of <paramref name="input"/>, advancing it past what was used.
    /// The returned line is valid until the next call.
    /// </summary>
    public LineStatus Next(ref ReadOnlySpan<byte> input, out ReadOnlySpan<byte> line)
    {
        line = default;
        var lf = input.IndexOf((byte)'\n');
        if (_discarding)
        {
            if (lf < 0)
            {
                input = default;
                return LineStatus.NeedMore;
            }

            input = input[(lf + 1)..];
            _discarding = false;
            return LineStatus.TooLong;
        }

        if (lf < 0)
        {
            if (_partialLength + input.Length >= _maxLine)
            {
                // Even with a line end in the next read the line would be over the limit.
                _partialLength = 0;
                _discarding = true;
            }
            else
            {
                input.CopyTo(_partial.AsSpan(_partialLength));
                _partialLength += input.Length;
            }

            input = default;
            return LineStatus.NeedMore;
        }

        var total = _partialLength + lf + 1;
        var rest = input[(lf + 1)..];
        if (total > _maxLine)
        {
            _partialLength = 0;
            input = rest;
            return LineStatus.TooLong;
        }

        ReadOnlySpan<byte> whole;
        if (_partialLength == 0)
        {
            whole = input[..lf];
        }
        else
        {
            if (_line.Length < _maxLine)
            {
                _line = new byte[_maxLine];
            }

            _partial.AsSpan(0, _partialLength).CopyTo(_line);
            input[..lf].CopyTo(_line.AsSpan(_partialLength));
            whole = _line.AsSpan(0, total - 1);
            _partialLength = 0;
        }

        if (!whole.IsEmpty && whole[^1] == (byte)'\r')
        {
            whole = whole[..^1];
        }

        line = whole;
        input = rest;
        return LineStatus.Line;
    }

    /// <summary>Forgets any partial line, as when the stream changes mode.</summary>
    public void Reset()
    {
        _partialLength = 0;
        _discarding = false;
    }
}
