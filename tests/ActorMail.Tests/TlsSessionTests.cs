using System.Diagnostics;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace ActorMail.Tests;

/// <summary>STARTTLS, STLS, SMTP AUTH and POP3 AUTH PLAIN through real sockets with MailKit, against a node on loopback.</summary>
public sealed class TlsSessionTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync("actormail.smtp.auth-failure-delay = 300ms");

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private static T Trusting<T>(T client)
        where T : IMailService
    {
        // The node's certificate is generated and self-signed.
        client.ServerCertificateValidationCallback = (_, _, _, _) => true;
        return client;
    }

    private static MimeMessage Message(string subject)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.org"));
        message.To.Add(MailboxAddress.Parse("alice@localhost"));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = subject };
        return message;
    }

    [Fact]
    public async Task MailKit_sends_over_starttls_after_authenticating()
    {
        using var client = Trusting(new SmtpClient());
        await client.ConnectAsync("127.0.0.1", _node.SmtpPort, SecureSocketOptions.StartTls);
        Assert.True(client.IsSecure);
        Assert.Contains("PLAIN", client.AuthenticationMechanisms);

        await client.AuthenticateAsync("alice", "alice-demo");
        Assert.True(client.IsAuthenticated);
        await client.SendAsync(Message("over TLS"));
        await client.DisconnectAsync(quit: true);

        Assert.Single(_node.AllMessages("alice"));
    }

    [Fact]
    public async Task MailKit_authenticates_with_login_too()
    {
        using var client = Trusting(new SmtpClient());
        await client.ConnectAsync("127.0.0.1", _node.SmtpPort, SecureSocketOptions.StartTls);
        client.AuthenticationMechanisms.Remove("PLAIN");

        await client.AuthenticateAsync("bob", "bob-demo");

        Assert.True(client.IsAuthenticated);
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_after_the_delay()
    {
        using var client = Trusting(new SmtpClient());
        await client.ConnectAsync("127.0.0.1", _node.SmtpPort, SecureSocketOptions.StartTls);
        var clock = Stopwatch.StartNew();

        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("alice", "not-her-password"));

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"answered after {clock.Elapsed}");
        Assert.Contains("5.7.8", refused.Message + (refused.InnerException?.Message ?? ""), StringComparison.Ordinal);
        await client.AuthenticateAsync("alice", "alice-demo");
    }

    [Fact]
    public async Task MailKit_reads_and_deletes_over_stls()
    {
        using (var smtp = Trusting(new SmtpClient()))
        {
            await smtp.ConnectAsync("127.0.0.1", _node.SmtpPort, SecureSocketOptions.StartTls);
            await smtp.SendAsync(Message("to be read over TLS"));
            await smtp.DisconnectAsync(quit: true);
        }

        using var pop3 = Trusting(new Pop3Client());
        await pop3.ConnectAsync("127.0.0.1", _node.Pop3Port, SecureSocketOptions.StartTls);
        Assert.True(pop3.IsSecure);
        Assert.Contains("PLAIN", pop3.AuthenticationMechanisms);
        await pop3.AuthenticateAsync("alice", "alice-demo");

        Assert.Equal(1, pop3.Count);
        Assert.Equal("to be read over TLS", (await pop3.GetMessageAsync(0)).Subject);
        await pop3.DeleteMessageAsync(0);
        await pop3.DisconnectAsync(quit: true);

        Assert.Empty(_node.AllMessages("alice"));
    }

    [Fact]
    public async Task Implicit_tls_ports_greet_over_tls_and_offer_no_upgrade()
    {
        var (smtpPort, pop3Port) = (FreePort(), FreePort());
        await using var node = await TestNode.StartAsync($"actormail.auth.clear-text = never\nactormail.tls.smtp-port = {smtpPort}\nactormail.tls.pop3-port = {pop3Port}");

        using (var smtp = Trusting(new SmtpClient()))
        {
            await Eventually(() => smtp.ConnectAsync("127.0.0.1", smtpPort, SecureSocketOptions.SslOnConnect));
            Assert.True(smtp.IsSecure);
            Assert.False(smtp.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
            await smtp.AuthenticateAsync("alice", "alice-demo");
            await smtp.SendAsync(Message("over implicit TLS"));
            await smtp.DisconnectAsync(quit: true);
        }

        using var pop3 = Trusting(new Pop3Client());
        await Eventually(() => pop3.ConnectAsync("127.0.0.1", pop3Port, SecureSocketOptions.SslOnConnect));
        Assert.False(pop3.Capabilities.HasFlag(Pop3Capabilities.StartTLS));
        await pop3.AuthenticateAsync("alice", "alice-demo");
        Assert.Equal("over implicit TLS", (await pop3.GetMessageAsync(0)).Subject);
        await pop3.DisconnectAsync(quit: true);
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    // The implicit-TLS listeners bind beside the others; the node waits only for the main two.
    private static async Task Eventually(Func<Task> connect)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await connect();
                return;
            }
            catch (System.Net.Sockets.SocketException) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task Where_clear_text_is_not_allowed_only_tls_signs_in()
    {
        await using var node = await TestNode.StartAsync("actormail.auth.clear-text = never");

        using (var clear = new SmtpClient())
        {
            await clear.ConnectAsync("127.0.0.1", node.SmtpPort, SecureSocketOptions.None);
            Assert.Empty(clear.AuthenticationMechanisms);
            Assert.True(clear.Capabilities.HasFlag(SmtpCapabilities.StartTLS));
        }

        using (var pop3 = new Pop3Client())
        {
            await pop3.ConnectAsync("127.0.0.1", node.Pop3Port, SecureSocketOptions.None);
            Assert.True(pop3.Capabilities.HasFlag(Pop3Capabilities.StartTLS));
            Assert.Empty(pop3.AuthenticationMechanisms);
            await Assert.ThrowsAsync<AuthenticationException>(() => pop3.AuthenticateAsync("bob", "bob-demo"));
        }

        using var secure = Trusting(new Pop3Client());
        await secure.ConnectAsync("127.0.0.1", node.Pop3Port, SecureSocketOptions.StartTls);
        await secure.AuthenticateAsync("bob", "bob-demo");
        Assert.True(secure.IsAuthenticated);
    }
}
