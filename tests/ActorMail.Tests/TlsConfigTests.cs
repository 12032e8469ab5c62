using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorMail.Configuration;
using ActorMail.Protocol.Auth;
using ActorMail.Tls;
using Akka.Configuration;

namespace ActorMail.Tests;

/// <summary>actormail.tls and the AUTH policy keys, and the certificate they lead to.</summary>
public sealed class TlsConfigTests : IDisposable
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];
    private readonly string _root = Directory.CreateTempSubdirectory("actormail-tls-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static NodeOptions Options(string overrides = "") =>
        NodeOptions.FromConfig(NodeConfig.Load(overrideText: overrides, environment: NoEnvironment));

    [Fact]
    public void Shipped_defaults_offer_tls_and_auth_with_clear_text_on_loopback_only()
    {
        var o = Options();
        Assert.True(o.Tls.Enabled);
        Assert.True(o.Tls.Generates);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, o.Tls.Protocols);
        Assert.Equal(TimeSpan.FromSeconds(10), o.Tls.HandshakeTimeout);
        Assert.Equal(ClearTextAuth.Loopback, o.Auth.ClearText);
        Assert.True(o.Smtp.Auth);
        Assert.False(o.Smtp.AuthRequired);
        Assert.False(o.Smtp.AuthAcceptAny);
        Assert.True(o.Pop3.Sasl);
        Assert.Null(o.Tls.SmtpPort);
        Assert.Null(o.Tls.Pop3Port);

        var smtp = o.ToSmtpPolicy(tls: true);
        Assert.Equal((true, true, false, false, 3), (smtp.TlsOffered, smtp.AuthOffered, smtp.AuthRequired, smtp.AcceptAnyCredentials, smtp.MaxAuthFailures));
        var pop3 = o.ToPop3Policy(tls: true);
        Assert.Equal((true, true, ClearTextAuth.Loopback), (pop3.TlsOffered, pop3.SaslOffered, pop3.ClearText));
    }

    [Fact]
    public void Implicit_tls_ports_are_off_or_a_port()
    {
        var o = Options("actormail.tls.smtp-port = 4465\nactormail.tls.pop3-port = 0");
        Assert.Equal((4465, 0), (o.Tls.SmtpPort, o.Tls.Pop3Port));
    }

    [Theory]
    [InlineData("actormail.tls.protocols = [\"1.3\"]", SslProtocols.Tls13)]
    [InlineData("actormail.tls.protocols = [\"1.2\"]", SslProtocols.Tls12)]
    public void Protocols_name_the_versions_offered(string line, SslProtocols protocols)
    {
        Assert.Equal(protocols, Options(line).Tls.Protocols);
    }

    [Theory]
    [InlineData("actormail.tls.protocols = [\"1.1\"]", "actormail.tls.protocols")]
    [InlineData("actormail.tls.protocols = [\"1.0\", \"1.2\"]", "actormail.tls.protocols")]
    [InlineData("actormail.tls.protocols = []", "actormail.tls.protocols")]
    [InlineData("actormail.tls.handshake-timeout = 0s", "actormail.tls.handshake-timeout")]
    [InlineData("actormail.tls.smtp-port = 70000", "actormail.tls.smtp-port")]
    [InlineData("actormail.tls.pop3-port = on", "actormail.tls.pop3-port")]
    [InlineData("actormail.tls.max-buffered-input = 0", "actormail.tls.max-buffered-input")]
    [InlineData("actormail.tls.generated-validity-days = 0", "actormail.tls.generated-validity-days")]
    [InlineData("actormail.tls.certificate = \"/x.pem\"", "actormail.tls.key")]
    [InlineData("actormail.tls.key = \"/x.key\"", "actormail.tls.key")]
    [InlineData("actormail.auth.clear-text = sometimes", "actormail.auth.clear-text")]
    [InlineData("actormail.smtp.max-auth-failures = 0", "actormail.smtp.max-auth-failures")]
    public void Bad_values_are_refused_with_their_key(string line, string key)
    {
        var e = Assert.Throws<ConfigurationException>(() => Options(line));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_clear_text_rule_can_come_from_the_environment()
    {
        var env = new Dictionary<string, string?> { ["ACTORMAIL_AUTH_CLEAR_TEXT"] = "always" };
        Assert.Equal(ClearTextAuth.Always, NodeOptions.FromConfig(NodeConfig.Load(environment: env)).Auth.ClearText);
    }

    [Fact]
    public void A_certificate_is_generated_once_under_the_mail_root_and_used_again()
    {
        var options = Options().Tls;
        var now = DateTimeOffset.UtcNow;

        using var first = ServerCertificate.Load(options, "mx.test", _root, now, out var made);
        using var second = ServerCertificate.Load(options, "mx.test", _root, now, out var madeAgain);

        Assert.True(made);
        Assert.False(madeAgain);
        Assert.Equal(first.Thumbprint, second.Thumbprint);
        Assert.True(first.HasPrivateKey);
        Assert.Contains("CN=mx.test", first.Subject, StringComparison.Ordinal);
        Assert.Equal(now.AddDays(options.GeneratedValidityDays).UtcDateTime, first.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(2));
        var path = ServerCertificate.GeneratedPath(_root);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
        Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", ServerCertificate.Fingerprint(first));
        var names = first.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Contains("localhost", names.EnumerateDnsNames());
        Assert.Contains(System.Net.IPAddress.Loopback, names.EnumerateIPAddresses());
    }

    [Fact]
    public void An_expired_generated_certificate_is_replaced()
    {
        var options = Options().Tls;
        using var old = ServerCertificate.Load(options, "mx.test", _root, DateTimeOffset.UtcNow.AddDays(-2 * options.GeneratedValidityDays), out _);

        using var fresh = ServerCertificate.Load(options, "mx.test", _root, DateTimeOffset.UtcNow, out var made);

        Assert.True(made);
        Assert.NotEqual(old.Thumbprint, fresh.Thumbprint);
    }

    [Fact]
    public void A_configured_pem_certificate_and_key_are_read()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=configured.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificate = Path.Combine(_root, "cert.pem");
        var keyFile = Path.Combine(_root, "key.pem");
        File.WriteAllText(certificate, made.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        var options = Options($"actormail.tls.certificate = \"{certificate}\"\nactormail.tls.key = \"{keyFile}\"").Tls;

        using var loaded = ServerCertificate.Load(options, "mx.test", _root, DateTimeOffset.UtcNow, out var generated);

        Assert.False(generated);
        Assert.Equal(made.Thumbprint, loaded.Thumbprint);
        Assert.True(loaded.HasPrivateKey);
        Assert.False(Directory.Exists(Path.Combine(_root, ServerCertificate.Folder)));
    }

    [Fact]
    public void A_missing_configured_file_fails_loudly()
    {
        var options = Options($"actormail.tls.certificate = \"{_root}/none.pem\"\nactormail.tls.key = \"{_root}/none.key\"").Tls;

        Assert.ThrowsAny<IOException>(() => ServerCertificate.Load(options, "mx.test", _root, DateTimeOffset.UtcNow, out _));
    }
}
