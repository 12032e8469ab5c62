using System.Net.Sockets;
using System.Text;

namespace ActorMail.Tests;

/// <summary>A plain TCP client for tests where the exact bytes on the wire matter.</summary>
public sealed class RawClient : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly List<byte> _buffer = [];

    private RawClient(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _stream.ReadTimeout = 10_000;
    }

    public static RawClient Connect(int port)
    {
        var client = new TcpClient();
        client.Connect("127.0.0.1", port);
        return new RawClient(client);
    }

    /// <summary>
    /// Connects to an SMTP port and opens a transaction for one recipient, up to the 354 that
    /// invites the body.
    /// </summary>
    public static RawClient StartData(int port, string recipient)
    {
        var c = Connect(port);
        c.ReadLine();
        c.Command("EHLO tester");
        c.Command("MAIL FROM:<a@example.org>");
        c.Command($"RCPT TO:<{recipient}>");
        var reply = c.Command("DATA");
        if (!reply.StartsWith("354", StringComparison.Ordinal))
        {
            c.Dispose();
            throw new InvalidOperationException($"DATA answered {reply}");
        }

        return c;
    }

    public void Send(string text) => Send(Encoding.ASCII.GetBytes(text));

    public void Send(byte[] bytes) => _stream.Write(bytes);

    /// <summary>Reads one line without its CRLF.</summary>
    public string ReadLine()
    {
        while (true)
        {
            var lf = _buffer.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = Encoding.ASCII.GetString(_buffer.GetRange(0, lf).ToArray()).TrimEnd('\r');
                _buffer.RemoveRange(0, lf + 1);
                return line;
            }

            var chunk = new byte[65536];
            var read = _stream.Read(chunk);
            if (read == 0)
            {
                throw new IOException("connection closed by the server");
            }

            _buffer.AddRange(chunk.AsSpan(0, read));
        }
    }

    /// <summary>Reads one SMTP reply, multi-line or not, and returns its lines.</summary>
    public List<string> ReadReply()
    {
        var lines = new List<string>();
        string line;
        do
        {
            line = ReadLine();
            lines.Add(line);
        }
        while (line.Length > 3 && line[3] == '-');
        return lines;
    }

    /// <summary>Sends a line and reads the SMTP reply's last line.</summary>
    public string Command(string line)
    {
        Send(line + "\r\n");
        return ReadReply()[^1];
    }

    /// <summary>Reads POP3 multi-line data up to the lone dot, without un-stuffing.</summary>
    public List<string> ReadMultiline()
    {
        var lines = new List<string>();
        for (var line = ReadLine(); line != "."; line = ReadLine())
        {
            lines.Add(line);
        }

        return lines;
    }

    /// <summary>True once the server has closed the connection (reads until the end, within the timeout).</summary>
    public bool ClosedByServer()
    {
        try
        {
            var chunk = new byte[4096];
            while (true)
            {
                var read = _stream.Read(chunk);
                if (read == 0)
                {
                    return true;
                }
            }
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut })
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }
}
