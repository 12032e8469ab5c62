using System.Net.Security;
using System.Security.Authentication;
using System.Threading.Channels;
using ActorMail.Configuration;
using Akka.Actor;
using Akka.IO;

namespace ActorMail.Tls;

/// <summary>
/// TLS over one Akka.IO connection, for the actor that owns it: .NET's <see cref="SslStream"/>
/// runs over a small stream whose reads are the connection's <see cref="Tcp.Received"/> bytes and
/// whose writes are acknowledged <see cref="Tcp.Write"/>s. Every method is called on the owner's
/// thread; everything the tasks learn comes back to the owner as a message (<see cref="Established"/>,
/// <see cref="Failed"/>, <see cref="Decrypted"/>, <see cref="Ended"/>, <see cref="Room"/>, and the
/// acknowledgements given to <see cref="Write"/>), so no task ever touches the owner's state.
/// Bounded both ways: received records wait here up to <see cref="TlsOptions.MaxBufferedInput"/>
/// octets (<see cref="Full"/> tells the owner to suspend reading), one decrypting read is
/// outstanding at a time and only when the owner asks (<see cref="ReadNext"/>), and writes go out
/// one at a time, each only after the previous one's octets were acknowledged by the socket.
/// </summary>
public sealed class TlsConnection : IDisposable
{
    // The largest TLS record's plaintext (RFC 8446 §5.1): one decrypting read takes at most this.
    private const int ReadSize = 16384;

    private readonly IActorRef _self;
    private readonly ConnectionStream _stream;
    private readonly SslStream _ssl;
    private readonly SslServerAuthenticationOptions _authentication;
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[] _readBuffer = new byte[ReadSize];
    private Task _writes = Task.CompletedTask;
    private bool _established;

    /// <summary>TLS for <paramref name="connection"/>, owned by <paramref name="self"/>, presenting <paramref name="certificate"/>.</summary>
    public TlsConnection(IActorRef connection, IActorRef self, SslStreamCertificateContext certificate, TlsOptions options)
    {
        _self = self;
        _stream = new ConnectionStream(connection, self, options.MaxBufferedInput);
        _ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        _authentication = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate,
            EnabledSslProtocols = options.Protocols,
            ClientCertificateRequired = false,
            AllowRenegotiation = false,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        };
    }

    /// <summary>True once the handshake is over and <see cref="Begin"/> was called.</summary>
    public bool IsEstablished => _established;

    /// <summary>True while a decrypting read is outstanding.</summary>
    public bool Reading { get; private set; }

    /// <summary>True while received records fill the input bound: the owner should not read from its socket.</summary>
    public bool Full => _stream.Buffered >= _stream.MaxBuffered;

    /// <summary>Octets received and not yet taken by the decryptor.</summary>
    public long Buffered => _stream.Buffered;

    /// <summary>Starts the server handshake; the outcome comes to the owner as <see cref="Established"/> or <see cref="Failed"/>.</summary>
    public void StartHandshake()
    {
        _ssl.AuthenticateAsServerAsync(_authentication, _stop.Token).ContinueWith(
            t => t.IsCompletedSuccessfully
                ? (object)new Established($"{_ssl.SslProtocol} {_ssl.NegotiatedCipherSuite}")
                : new Failed(t.IsCanceled ? "cancelled" : Reason(t.Exception)),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).PipeTo(_self);
    }

    /// <summary>Octets received from the socket: TLS records for the handshake or the decryptor.</summary>
    public void Received(ByteString data) => _stream.Deliver(data);

    /// <summary>The peer closed its side of the socket: reads end once what was received is used.</summary>
    public void PeerClosed() => _stream.EndOfInput();

    /// <summary>The socket acknowledged one of this connection's writes.</summary>
    public void Acknowledged() => _stream.Acknowledged();

    /// <summary>The handshake is over: reading and writing plaintext may begin.</summary>
    public void Begin() => _established = true;

    /// <summary>Starts one decrypting read, unless one is outstanding: its plaintext comes as <see cref="Decrypted"/>, the end of the peer's TLS as <see cref="Ended"/>.</summary>
    public void ReadNext()
    {
        if (Reading || !_established)
        {
            return;
        }

        Reading = true;
        _ssl.ReadAsync(_readBuffer, _stop.Token).AsTask().ContinueWith(
            t => t.IsCompletedSuccessfully
                ? t.Result > 0 ? (object)new Decrypted(ByteString.CopyFrom(_readBuffer, 0, t.Result)) : Ended.Instance
                : new Failed(t.IsCanceled ? "cancelled" : Reason(t.Exception)),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).PipeTo(_self);
    }

    /// <summary>The owner received <see cref="Decrypted"/> or <see cref="Ended"/>: no read is outstanding now.</summary>
    public void ReadDone() => Reading = false;

    /// <summary>Encrypts and writes <paramref name="plaintext"/> after every earlier write; <paramref name="acknowledgement"/> goes to the owner once the socket has taken its records.</summary>
    public void Write(ByteString plaintext, object acknowledgement)
    {
        var bytes = plaintext.ToArray();
        _writes = After(_writes, async () =>
        {
            await _ssl.WriteAsync(bytes, _stop.Token).ConfigureAwait(false);
            _self.Tell(acknowledgement);
        });
    }

    /// <summary>After every earlier write: the TLS close_notify, then <see cref="Tcp.Close"/> (which flushes).</summary>
    public void Close(IActorRef connection) =>
        _writes = After(_writes, async () =>
        {
            try
            {
                await _ssl.ShutdownAsync().WaitAsync(_stop.Token).ConfigureAwait(false);
            }
            finally
            {
                connection.Tell(Tcp.Close.Instance, _self);
            }
        });

    /// <summary>Stops every task of this connection; what they would still say goes nowhere.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _stream.EndOfInput();
        _ssl.Dispose();
        _stop.Dispose();
    }

    // Runs `next` once `previous` is done; a failure is told to the owner, so the chain never faults.
    private async Task After(Task previous, Func<Task> next)
    {
        await previous.ConfigureAwait(false);
        try
        {
            await next().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or AuthenticationException)
        {
            _self.Tell(new Failed(Reason(e)));
        }
    }

    private static string Reason(Exception? e) => (e is AggregateException a ? a.InnerException : e) switch
    {
        null => "unknown",
        OperationCanceledException => "cancelled",
        var inner => inner.InnerException is { } cause ? $"{inner.Message} ({cause.Message})" : inner.Message,
    };

    /// <summary>The handshake finished; <paramref name="Description"/> names the version and cipher suite.</summary>
    public sealed record Established(string Description);

    /// <summary>The handshake, a read or a write failed.</summary>
    public sealed record Failed(string Reason);

    /// <summary>Plaintext decrypted from the peer.</summary>
    public sealed record Decrypted(ByteString Data);

    /// <summary>The peer ended its TLS (close_notify or FIN): no more plaintext will come.</summary>
    public sealed record Ended
    {
        public static Ended Instance { get; } = new();
    }

    /// <summary>The decryptor used received records below the bound: the owner may read from its socket again.</summary>
    public sealed record Room
    {
        public static Room Instance { get; } = new();
    }

    /// <summary>The acknowledgement of one write of TLS records; the owner hands it to <see cref="Acknowledged"/>.</summary>
    public sealed class RecordsWritten : Tcp.Event
    {
        public static RecordsWritten Instance { get; } = new();
    }

    // The stream under SslStream: reads take what the owner delivered, writes become acknowledged
    // Tcp.Writes whose acknowledgement the owner hands back. SslStream reads one at a time.
    private sealed class ConnectionStream(IActorRef connection, IActorRef owner, int maxBuffered) : Stream
    {
        private readonly Channel<ByteString> _input = Channel.CreateUnbounded<ByteString>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly Channel<TaskCompletionSource> _unacknowledged = Channel.CreateUnbounded<TaskCompletionSource>();
        private ByteString _current = ByteString.Empty;
        private int _offset;
        private long _buffered;

        public int MaxBuffered => maxBuffered;

        public long Buffered => Interlocked.Read(ref _buffered);

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void Deliver(ByteString data)
        {
            if (!data.IsEmpty && _input.Writer.TryWrite(data))
            {
                Interlocked.Add(ref _buffered, data.Count);
            }
        }

        public void EndOfInput() => _input.Writer.TryComplete();

        public void Acknowledged()
        {
            if (_unacknowledged.Reader.TryRead(out var written))
            {
                written.TrySetResult();
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_offset >= _current.Count)
            {
                if (!await _input.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) || !_input.Reader.TryRead(out var next))
                {
                    return 0;
                }

                _current = next;
                _offset = 0;
            }

            var count = Math.Min(buffer.Length, _current.Count - _offset);
            _current.ToReadOnlySpan().Slice(_offset, count).CopyTo(buffer.Span);
            _offset += count;
            var before = Interlocked.Add(ref _buffered, -count) + count;
            if (before >= maxBuffered && before - count < maxBuffered)
            {
                owner.Tell(Room.Instance);
            }

            return count;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _unacknowledged.Writer.TryWrite(written);
            connection.Tell(Tcp.Write.Create(ByteString.FromBytes(buffer.ToArray()), RecordsWritten.Instance), owner);
            await written.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        // SslStream is used asynchronously only; a blocking call here would hold a thread the actor system needs.
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
