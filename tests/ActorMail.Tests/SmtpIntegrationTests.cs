using System.Text;
using MailKit.Net.Smtp;
using MimeKit;

namespace ActorMail.Tests;

/// <summary>SMTP through real sockets: MailKit's client and a raw client against a node on loopback.</summary>
public sealed class SmtpIntegrationTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task MailKit_send_stores_one_file_in_new()
    {
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", _node.SmtpPort, MailKit.Security.SecureSocketOptions.None);
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Pipelining));
        Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Size));
        Assert.Equal(_node.Options.Smtp.MaxMessageSize, (long)client.MaxSize);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.org"));
        message.To.Add(MailboxAddress.Parse("alice@localhost"));
        message.Subject = "MailKit";
        message.Body = new TextPart("plain") { Text = "hello\r\n.one dot\r\n..two dots\r\n" };
        var response = await client.SendAsync(message);
        await client.DisconnectAsync(quit: true);

        Assert.StartsWith("2.0.0 OK: queued as", response, StringComparison.Ordinal);
        var file = Assert.Single(_node.Files("alice"));
        var stored = await File.ReadAllTextAsync(file);
        Assert.StartsWith("Return-Path: <sender@example.org>\r\nReceived: from ", stored, StringComparison.Ordinal);
        Assert.Contains("\r\n.one dot\r\n..two dots\r\n", stored, StringComparison.Ordinal);
        Assert.EndsWith($",S={new FileInfo(file).Length}", file, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("syncfs")]
    [InlineData("fsync")]
    public async Task Concurrent_clients_each_get_their_message_stored_whole_with_either_sync_method(string sync)
    {
        await using var node = await TestNode.StartAsync($"actormail.store.sync = {sync}");
        async Task SendAll(int client)
        {
            using var smtp = new SmtpClient();
            await smtp.ConnectAsync("127.0.0.1", node.SmtpPort, MailKit.Security.SecureSocketOptions.None);
            for (var i = 0; i < 10; i++)
            {
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse("sender@example.org"));
                message.To.Add(MailboxAddress.Parse("alice@localhost"));
                message.To.Add(MailboxAddress.Parse("bob@localhost"));
                message.Subject = $"c{client}-m{i}";
                message.Body = new TextPart("plain") { Text = $"body of c{client}-m{i}\r\n" };
                await smtp.SendAsync(message);
            }

            await smtp.DisconnectAsync(quit: true);
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(SendAll));

        foreach (var user in new[] { "alice", "bob" })
        {
            var subjects = node.Files(user).Select(f => File.ReadAllText(f)).Select(t => t[(t.IndexOf("Subject: ", StringComparison.Ordinal) + 9)..].Split("\r\n")[0]).Order().ToList();
            Assert.Equal(Enumerable.Range(0, 4).SelectMany(c => Enumerable.Range(0, 10).Select(i => $"c{c}-m{i}")).Order(), subjects);
            Assert.Empty(node.Files(user, "tmp"));
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(node.MailRoot, ActorMail.Store.Spool.FolderName)));
    }

    [Fact]
    public void Stored_bytes_are_the_unstuffed_body_after_the_trace_headers()
    {
        var body = "Subject: raw\r\n\r\n..leading\r\n...two\r\nplain\r\n.\r\n";
        using var c = RawClient.Connect(_node.SmtpPort);
        Assert.StartsWith("220 ", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("250 ", c.Command("EHLO tester"), StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.0", c.Command("MAIL FROM:<a@example.org>"), StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.5", c.Command("RCPT TO:<bob@localhost>"), StringComparison.Ordinal);
        Assert.StartsWith("354 ", c.Command("DATA"), StringComparison.Ordinal);
        c.Send(body);
        Assert.StartsWith("250 2.0.0", c.ReadReply()[^1], StringComparison.Ordinal);
        Assert.StartsWith("221 2.0.0", c.Command("QUIT"), StringComparison.Ordinal);

        var stored = File.ReadAllBytes(Assert.Single(_node.Files("bob")));
        var text = Encoding.ASCII.GetString(stored);
        var bodyStart = text.IndexOf("Subject: raw", StringComparison.Ordinal);
        Assert.Equal("Subject: raw\r\n\r\n.leading\r\n..two\r\nplain\r\n", text[bodyStart..]);
        var trace = text[..bodyStart];
        Assert.Matches(@"^Return-Path: <a@example\.org>\r\nReceived: from tester \(\[127\.0\.0\.1\]\)\r\n\tby localhost \(ActorMail\) with ESMTP id [0-9a-f]{12};\r\n\t\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\r\n$", trace);
    }

    [Fact]
    public void Several_recipients_get_one_file_each()
    {
        using var c = RawClient.Connect(_node.SmtpPort);
        c.ReadLine();
        c.Command("EHLO tester");
        c.Command("MAIL FROM:<a@example.org>");
        Assert.StartsWith("250", c.Command("RCPT TO:<alice@localhost>"), StringComparison.Ordinal);
        Assert.StartsWith("250", c.Command("RCPT TO:<bob@actormail.test>"), StringComparison.Ordinal);
        Assert.StartsWith("250", c.Command("RCPT TO:<Alice@LOCALHOST>"), StringComparison.Ordinal);
        c.Command("DATA");
        c.Send("Subject: two\r\n\r\nfor both\r\n.\r\n");
        Assert.StartsWith("250 2.0.0", c.ReadReply()[^1], StringComparison.Ordinal);
        Assert.Single(_node.Files("alice"));
        Assert.Single(_node.Files("bob"));
        Assert.Equal(File.ReadAllBytes(_node.Files("alice")[0]), File.ReadAllBytes(_node.Files("bob")[0]));
    }

    [Fact]
    public void Pipelined_commands_in_one_write_are_answered_in_order()
    {
        using var c = RawClient.Connect(_node.SmtpPort);
        c.ReadLine();
        c.Command("EHLO tester");
        c.Send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@localhost>\r\nRCPT TO:<nobody@localhost>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n");
        Assert.StartsWith("250 2.1.0", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.5", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("550 5.1.1", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.5", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("354", c.ReadLine(), StringComparison.Ordinal);
        // The body, the terminator and the next transaction in one write: the commands after the
        // terminator wait until the message is stored, then are answered in order.
        c.Send("Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<b@example.org>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\nsecond\r\n.\r\nNOOP\r\nQUIT\r\n");
        Assert.StartsWith("250 2.0.0", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.0", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.5", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("354", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("250 2.0.0", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("250 2.0.0 OK", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("221", c.ReadLine(), StringComparison.Ordinal);
        Assert.Single(_node.Files("alice"));
        Assert.Equal(2, _node.Files("bob").Length);
    }

    [Theory]
    [InlineData("MAIL FROM:<a@example.org>", "503 5.5.1")]
    [InlineData("RCPT TO:<alice@localhost>", "503 5.5.1")]
    [InlineData("DATA", "503 5.5.1")]
    [InlineData("FROB", "500 5.5.2")]
    [InlineData("HELO", "501 5.5.4")]
    [InlineData("VRFY alice", "252 2.5.0")]
    [InlineData("NOOP", "250 2.0.0")]
    [InlineData("RSET", "250 2.0.0")]
    public void Commands_before_HELO_get_their_exact_reply(string command, string expected)
    {
        using var c = RawClient.Connect(_node.SmtpPort);
        c.ReadLine();
        Assert.StartsWith(expected, c.Command(command), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RCPT TO:<nobody@localhost>", "550 5.1.1")]
    [InlineData("RCPT TO:<someone@example.com>", "550 5.7.1")]
    [InlineData("RCPT TO:<../etc@localhost>", "501 5.1.3")]
    [InlineData("RCPT TO:<a/b@localhost>", "550 5.1.1")]
    [InlineData("RCPT TO:<postmaster@localhost>", "250 2.1.5")]
    [InlineData("RCPT TO:<Postmaster>", "250 2.1.5")]
    [InlineData("RCPT TO:alice@localhost", "501 5.5.4")]
    [InlineData("RCPT TO:<alice@localhost> NOTIFY=NEVER", "555 5.5.4")]
    [InlineData("MAIL FROM:<b@example.org>", "503 5.5.1")]
    public void Recipient_errors_get_their_exact_code(string command, string expected)
    {
        using var c = RawClient.Connect(_node.SmtpPort);
        c.ReadLine();
        c.Command("EHLO tester");
        c.Command("MAIL FROM:<a@example.org>");
        Assert.StartsWith(expected, c.Command(command), StringComparison.Ordinal);
    }

    [Fact]
    public void Declared_size_over_the_limit_gets_552_5_3_4()
    {
        using var c = RawClient.Connect(_node.SmtpPort);
        c.ReadLine();
        c.Command("EHLO tester");
        Assert.StartsWith("552 5.3.4", c.Command($"MAIL FROM:<a@example.org> SIZE={_node.Options.Smtp.MaxMessageSize + 1}"), StringComparison.Ordinal);
        Assert.StartsWith("250 2.1.0", c.Command($"MAIL FROM:<a@example.org> SIZE={_node.Options.Smtp.MaxMessageSize}"), StringComparison.Ordinal);
    }

    [Fact]
    public void Command_line_over_512_octets_gets_500_5_5_6_and_the_session_goes_on()
    {
        using var c = RawClient.Connect(_node.SmtpPort);
        c.ReadLine();
        Assert.StartsWith("500 5.5.6", c.Command("NOOP " + new string('x', 600)), StringComparison.Ordinal);
        Assert.StartsWith("250 2.0.0", c.Command("NOOP " + new string('x', 505)), StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_command_budget_ends_with_421()
    {
        using var c = RawClient.Connect(_node.SmtpPort);
        c.ReadLine();
        for (var i = 1; i < _node.Options.Smtp.MaxBadCommands; i++)
        {
            Assert.StartsWith("500 5.5.2", c.Command("BOGUS"), StringComparison.Ordinal);
        }

        c.Send("BOGUS\r\n");
        Assert.StartsWith("500 5.5.2", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("421 4.7.0", c.ReadLine(), StringComparison.Ordinal);
        Assert.True(c.ClosedByServer());
    }

    [Fact]
    public void Refused_recipients_neither_end_the_session_nor_keep_good_messages_out()
    {
        using var c = RawClient.Connect(_node.SmtpPort);
        c.ReadLine();
        c.Command("EHLO relay.test");
        const int messages = 12;
        for (var m = 0; m < messages; m++)
        {
            Assert.StartsWith("250 2.1.0", c.Command("MAIL FROM:<list@example.org>"), StringComparison.Ordinal);
            Assert.StartsWith("250 2.1.5", c.Command("RCPT TO:<bob@localhost>"), StringComparison.Ordinal);
            for (var gone = 0; gone < 4; gone++)
            {
                Assert.StartsWith("550 5.1.1", c.Command($"RCPT TO:<gone{m}x{gone}@localhost>"), StringComparison.Ordinal);
            }

            Assert.StartsWith("354", c.Command("DATA"), StringComparison.Ordinal);
            Assert.StartsWith("250 2.0.0", c.Command($"Subject: {m}\r\n\r\nbody\r\n."), StringComparison.Ordinal);
        }

        Assert.StartsWith("221", c.Command("QUIT"), StringComparison.Ordinal);
        Assert.Equal(messages, _node.AllMessages("bob").Length);
    }

    [Fact]
    public void A_NUL_in_the_body_gets_554_5_6_0_at_the_end_and_nothing_is_stored()
    {
        using var c = RawClient.StartData(_node.SmtpPort, "alice@localhost");
        c.Send("Subject: nul\r\n\r\nbefore\0after\r\n.\r\n");
        Assert.Equal("554 5.6.0 NUL octet in message body, message not stored", c.ReadReply()[^1]);
        Assert.StartsWith("250 2.0.0", c.Command("NOOP"), StringComparison.Ordinal);
        Assert.Empty(_node.AllMessages("alice"));
    }

    // The default policy is normalize: a probe is body, stored with CRLF, and what follows it is
    // never a command.
    [Theory]
    [InlineData("line\n.\nMAIL FROM:<e@x.test>\r\n.\r\n", "line\r\n.\r\nMAIL FROM:<e@x.test>\r\n")]
    [InlineData("line\n.\r\nMAIL FROM:<e@x.test>\r\n.\r\n", "line\r\n.\r\nMAIL FROM:<e@x.test>\r\n")]
    [InlineData("line\r.\r\nMAIL FROM:<e@x.test>\r\n.\r\n", "line\r\n.\r\nMAIL FROM:<e@x.test>\r\n")]
    [InlineData("bare\nlf\r\n.\r\n", "bare\r\nlf\r\n")]
    public void Smuggling_probes_do_not_end_DATA_and_are_stored_with_CRLF(string body, string stored)
    {
        using var c = RawClient.StartData(_node.SmtpPort, "alice@localhost");
        c.Send(body + "NOOP\r\n");
        Assert.StartsWith("250 2.0.0 OK: queued", c.ReadReply()[^1], StringComparison.Ordinal);
        Assert.Equal("250 2.0.0 OK", c.ReadReply()[^1]);
        Assert.EndsWith("\r\n" + stored, File.ReadAllText(Assert.Single(_node.AllMessages("alice"))), StringComparison.Ordinal);
    }
}
