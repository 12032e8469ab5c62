namespace ActorMail.Protocol.Pop3;

/// <summary>
/// Cuts a message for TOP n k as it streams: all header lines, the blank line, then at most
/// k body lines. Keeps its place across chunks, even a CRLF split between two.
/// </summary>
public sealed class TopFilter
{
    private readonly int _bodyLines;
    private bool _inBody;
    private int _lineLength;
    private bool _lineIsCr;
    private int _linesSent;

    public TopFilter(int bodyLines) => _bodyLines = bodyLines;

    /// <summary>True once everything TOP should send has passed.</summary>
    public bool Done => _inBody && _linesSent >= _bodyLines && _lineLength == 0;

    /// <summary>The part of <paramref name="chunk"/> that TOP sends.</summary>
    public ReadOnlySpan<byte> Take(ReadOnlySpan<byte> chunk)
    {
        var i = 0;
        while (i < chunk.Length && !Done)
        {
            var lf = chunk[i..].IndexOf((byte)'\n');
            var end = lf < 0 ? chunk.Length : i + lf + 1;
            var content = chunk[i..(lf < 0 ? end : end - 1)];
            if (_lineLength == 0 && content.Length > 0)
            {
                _lineIsCr = content[0] == (byte)'\r';
            }

            _lineLength += content.Length;
            if (lf >= 0)
            {
                var blank = _lineLength == 0 || (_lineLength == 1 && _lineIsCr);
                if (_inBody)
                {
                    _linesSent++;
                }
                else if (blank)
                {
                    _inBody = true;
                }

                _lineLength = 0;
            }

            i = end;
        }

        return chunk[..i];
    }
}
