using ActorMail.Protocol.Session;
using System.Text;

namespace ActorMail.Protocol.Smtp;

/// <summary>One SMTP reply: a code, an enhanced status code (RFC 3463) and one or more text lines.</summary>
/// <param name="Code">The three-digit reply code.</param>
/// <param name="Enhanced">The enhanced status code, or empty where RFC 2034 leaves it out (greeting, HELO/EHLO).</param>
/// <param name="Lines">The text lines; more than one makes a multi-line reply.</param>
public sealed record SmtpReply(int Code, string Enhanced, IReadOnlyList<string> Lines) : ISessionReply
{
    /// <summary>A one-line reply.</summary>
    public SmtpReply(int code, string enhanced, string text)
        : this(code, enhanced, [text])
    {
    }

    /// <summary>True for 4xx and 5xx.</summary>
    public bool IsError => Code >= 400;

    /// <summary>The reply on the wire: <c>ddd-</c> for each line but the last, <c>ddd </c> for the last, CRLF after each.</summary>
    public string Render()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < Lines.Count; i++)
        {
            sb.Append(Code).Append(i == Lines.Count - 1 ? ' ' : '-');
            if (Enhanced.Length > 0)
            {
                sb.Append(Enhanced).Append(' ');
            }

            sb.Append(Lines[i]).Append("\r\n");
        }

        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => Render().TrimEnd();
}
