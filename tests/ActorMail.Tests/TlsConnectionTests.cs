using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ActorMail.Configuration;
using ActorMail.Tls;
using Akka.Actor;
using Akka.IO;
using Akka.TestKit.Xunit2;

namespace ActorMail.Tests;

/// <summary>
/// <see cref="TlsConnection"/> over real loopback sockets: an actor owns the Akka.IO connection
/// and echoes what it decrypts, and a .NET <see cref="SslStream"/> client talks to it.
/// </summary>
[Collection(MemoryMeasured.Name)]
public sealed class TlsConnectionTests : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _root = Directory.CreateTempSubdirectory("actormail-tlsconn-").FullName;
    private readonly SslStreamCertificateContext _certificate;
    private readonly TlsOptions _options;

    public TlsConnectionTests()
        : base(NodeConfig.Load(environment: new Dictionary<string, string?>()))
    {
        _options = NodeOptions.FromConfig(NodeConfig.Load(environment: new Dictionary<string, string?>())).Tls;
        var certificate = ServerCertificate.Generate("mx.test", DateTimeOffset.UtcNow, 1, ServerCertificate.GeneratedPath(_root));
        _certificate = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
    }

    void IDisposable.Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Shutdown();
    }

    private (IActorRef Echo, IPEndPoint Address) StartEcho(TlsOptions options, bool hold = false)
    {
        var echo = Sys.ActorOf(Props.Create(() => new TlsEcho(TestActor, _certificate, options, hold)));
        var bound = ExpectMsg<Tcp.Bound>(Wait);
        return (echo, (IPEndPoint)bound.LocalAddress);
    }

    private static async Task<SslStream> ConnectAsync(IPEndPoint address, SslProtocols protocols)
    {
        var client = new TcpClient();
        await client.ConnectAsync(address.Address, address.Port);
        var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "mx.test",
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return ssl;
    }

    private static async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(Wait);
        return buffer;
    }

    [Theory]
    [InlineData(SslProtocols.Tls13, "Tls13")]
    [InlineData(SslProtocols.Tls12, "Tls12")]
    public async Task Handshakes_then_echoes_what_it_decrypts(SslProtocols protocols, string version)
    {
        var (_, address) = StartEcho(_options);

        await using var ssl = await ConnectAsync(address, protocols);
        var established = ExpectMsg<TlsConnection.Established>(Wait);
        Assert.StartsWith(version, established.Description, StringComparison.Ordinal);
        Assert.Equal(protocols, ssl.SslProtocol);

        await ssl.WriteAsync("EHLO client.test\r\n"u8.ToArray());
        Assert.Equal("EHLO client.test\r\n"u8.ToArray(), await ReadExactlyAsync(ssl, 18));
    }

    [Fact]
    public async Task A_megabyte_each_way_passes_a_small_input_bound_whole_and_in_order()
    {
        var (_, address) = StartEcho(_options with { MaxBufferedInput = 4096 });
        await using var ssl = await ConnectAsync(address, SslProtocols.Tls13);
        var payload = new byte[1 << 20];
        new Random(19).NextBytes(payload);

        var reading = ReadExactlyAsync(ssl, payload.Length);
        await ssl.WriteAsync(payload).AsTask().WaitAsync(Wait);

        Assert.Equal(payload, await reading);
    }

    [Fact]
    public async Task While_the_owner_takes_no_plaintext_reading_from_the_socket_stops_at_the_bound()
    {
        const int size = 32 << 20;
        var (echo, address) = StartEcho(_options with { MaxBufferedInput = 4096 }, hold: true);
        await using var ssl = await ConnectAsync(address, SslProtocols.Tls13);
        ExpectMsg<TlsConnection.Established>(Wait);

        // The owner takes no plaintext yet: records pile up to the bound, the socket is asked for no more,
        // and the client's write stalls once the kernel's buffers are full.
        var reading = ReadExactlyAsync(ssl, size);
        var writing = ssl.WriteAsync(new byte[size]).AsTask();
        ExpectMsg<Suspended>(Wait);
        await Task.Delay(500);
        Assert.False(writing.IsCompleted, "the client's write completed while the owner read nothing");

        echo.Tell(Release.Instance);
        var most = ExpectMsg<MostBuffered>(Wait);
        Assert.InRange(most.Octets, 4096, 4 << 20);
        await writing.WaitAsync(Wait);
        Assert.Equal(size, (await reading).Length);
    }

    [Fact]
    public async Task A_client_that_offers_only_a_version_not_enabled_fails_the_handshake()
    {
        var (_, address) = StartEcho(_options with { Protocols = SslProtocols.Tls13 });

        await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(address, SslProtocols.Tls12));

        ExpectMsg<TlsConnection.Failed>(Wait);
    }

    [Fact]
    public async Task Clear_text_where_a_handshake_is_expected_fails_it()
    {
        var (_, address) = StartEcho(_options);
        using var client = new TcpClient();
        await client.ConnectAsync(address.Address, address.Port);

        await client.GetStream().WriteAsync("RSET\r\nNOOP\r\n"u8.ToArray());

        ExpectMsg<TlsConnection.Failed>(Wait);
    }

    [Fact]
    public async Task Closing_sends_close_notify_after_the_last_write()
    {
        var (_, address) = StartEcho(_options);
        await using var ssl = await ConnectAsync(address, SslProtocols.Tls13);
        ExpectMsg<TlsConnection.Established>(Wait);

        await ssl.WriteAsync("QUIT\r\n"u8.ToArray());
        Assert.Equal("QUIT\r\n"u8.ToArray(), await ReadExactlyAsync(ssl, 6));
        await ssl.ShutdownAsync();

        // The echo answers the end of the client's TLS by closing its own: close_notify, then FIN.
        Assert.Equal(0, await ssl.ReadAsync(new byte[16]).AsTask().WaitAsync(Wait));
        ExpectMsg<Tcp.ConnectionClosed>(Wait);
    }

    private sealed record Suspended;

    private sealed record MostBuffered(long Octets);

    private sealed record Release
    {
        public static Release Instance { get; } = new();
    }

    private sealed record Echoed;

    // The smallest owner of a TlsConnection: binds, takes one connection, handshakes, echoes.
    // Like the session shell it reads in pull mode: the socket is asked for each read, and only
    // while the undecrypted records are under their bound.
    private sealed class TlsEcho : ReceiveActor
    {
        private TlsConnection? _tls;
        private IActorRef? _connection;
        private bool _suspended;
        private bool _hold;
        private long _most;

        public TlsEcho(IActorRef probe, SslStreamCertificateContext certificate, TlsOptions options, bool hold)
        {
            _hold = hold;
            Context.System.Tcp().Tell(new Tcp.Bind(Self, new IPEndPoint(IPAddress.Loopback, 0), pullMode: true));
            Receive<Tcp.Bound>(b =>
            {
                Sender.Tell(new Tcp.ResumeAccepting(1));
                probe.Tell(b);
            });
            Receive<Tcp.Connected>(_ =>
            {
                _connection = Sender;
                _tls = new TlsConnection(Sender, Self, certificate, options);
                Sender.Tell(new Tcp.Register(Self, keepOpenOnPeerClosed: true));
                Sender.Tell(Tcp.ResumeReading.Instance);
                _tls.StartHandshake();
            });
            Receive<Tcp.Received>(r =>
            {
                _tls!.Received(r.Data);
                _most = Math.Max(_most, _tls.Buffered);
                if (!_tls.Full)
                {
                    _connection!.Tell(Tcp.ResumeReading.Instance);
                }
                else if (!_suspended)
                {
                    _suspended = true;
                    probe.Tell(new Suspended());
                }
            });
            Receive<TlsConnection.Room>(_ =>
            {
                _suspended = false;
                _connection!.Tell(Tcp.ResumeReading.Instance);
            });
            Receive<TlsConnection.RecordsWritten>(_ => _tls!.Acknowledged());
            Receive<TlsConnection.Established>(e =>
            {
                probe.Tell(e);
                _tls!.Begin();
                if (!_hold)
                {
                    _tls.ReadNext();
                }
            });
            Receive<Release>(_ =>
            {
                _hold = false;
                probe.Tell(new MostBuffered(_most));
                _tls!.ReadNext();
            });
            Receive<TlsConnection.Decrypted>(d =>
            {
                _tls!.ReadDone();
                _tls.Write(d.Data, new Echoed());
            });
            Receive<Echoed>(_ => _tls!.ReadNext());
            Receive<TlsConnection.Ended>(_ =>
            {
                _tls!.ReadDone();
                _tls.Close(_connection!);
            });
            Receive<TlsConnection.Failed>(f =>
            {
                probe.Tell(f);
                _connection?.Tell(Tcp.Abort.Instance);
            });
            Receive<Tcp.PeerClosed>(_ => _tls!.PeerClosed());
            Receive<Tcp.ConnectionClosed>(probe.Tell);
        }

        protected override void PostStop() => _tls?.Dispose();
    }
}
