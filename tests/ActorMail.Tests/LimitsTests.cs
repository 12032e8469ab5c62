using System.Text;

namespace ActorMail.Tests;

/// <summary>Limits that need their own node configuration: idle time, connections, message size.</summary>
[Collection(MemoryMeasured.Name)]
public sealed class LimitsTests
{
    [Fact]
    public async Task Idle_SMTP_session_gets_421_4_4_2_and_is_closed()
    {
        await using var node = await TestNode.StartAsync("actormail.smtp.idle-timeout = 1s");
        using var c = RawClient.Connect(node.SmtpPort);
        c.ReadLine();
        Assert.StartsWith("421 4.4.2", c.ReadLine(), StringComparison.Ordinal);
        Assert.True(c.ClosedByServer());
    }

    [Fact]
    public async Task A_command_dripping_one_octet_at_a_time_is_cut_off_by_the_command_timeout()
    {
        await using var node = await TestNode.StartAsync("actormail.smtp.command-timeout = 1s\nactormail.pop3.command-timeout = 1s");
        using var c = RawClient.Connect(node.SmtpPort);
        using var p = RawClient.Connect(node.Pop3Port);
        c.ReadLine();
        p.ReadLine();
        // One octet every 100 ms keeps the idle timer (300 s) alive; only the 1 s command limit can end it.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var closed = false;
        while (!closed && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                c.Send("N");
                p.Send("N");
            }
            catch (IOException)
            {
                closed = true;
            }

            Thread.Sleep(100);
        }

        Assert.StartsWith("421 4.4.2 Command or body too slow", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("-ERR Command too slow", p.ReadLine(), StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"still connected after {clock.Elapsed}");
    }

    [Fact]
    public async Task A_body_that_does_not_finish_in_time_is_cut_off_and_not_stored()
    {
        await using var node = await TestNode.StartAsync("actormail.smtp.data-timeout = 1s");
        using var c = RawClient.StartData(node.SmtpPort, "alice@localhost");
        for (var i = 0; i < 5; i++)
        {
            c.Send("line\r\n");
            Thread.Sleep(100);
        }

        Assert.StartsWith("421 4.4.2", c.ReadLine(), StringComparison.Ordinal);
        Assert.True(c.ClosedByServer());
        Assert.Empty(node.AllMessages("alice"));
    }

    [Fact]
    public async Task A_client_that_half_closes_after_its_last_command_gets_every_reply()
    {
        await using var node = await TestNode.StartAsync();
        using var client = new System.Net.Sockets.TcpClient("127.0.0.1", node.SmtpPort);
        var stream = client.GetStream();
        stream.Write(Encoding.ASCII.GetBytes("EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\nQUIT\r\n"));
        client.Client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var all = reader.ReadToEnd();
        Assert.Contains("250 2.0.0 OK: queued as", all, StringComparison.Ordinal);
        Assert.EndsWith("221 2.0.0 Bye\r\n", all, StringComparison.Ordinal);
        Assert.Single(node.Files("alice"));
    }

    [Fact]
    public async Task Idle_POP3_session_is_logged_out_and_its_lock_released()
    {
        await using var node = await TestNode.StartAsync("actormail.pop3.idle-timeout = 1s");
        using var c = RawClient.Connect(node.Pop3Port);
        c.ReadLine();
        c.Command("USER alice");
        Assert.StartsWith("+OK", c.Command("PASS alice-demo"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR Idle timeout", c.ReadLine(), StringComparison.Ordinal);
        Assert.True(c.ClosedByServer());
        using var next = RawClient.Connect(node.Pop3Port);
        next.ReadLine();
        next.Command("USER alice");
        Assert.StartsWith("+OK", next.Command("PASS alice-demo"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_over_the_limit_gets_421_4_7_0_at_connect_and_others_are_served()
    {
        await using var node = await TestNode.StartAsync("actormail.smtp.max-connections = 2\nactormail.pop3.max-connections = 1");
        using var first = RawClient.Connect(node.SmtpPort);
        using var second = RawClient.Connect(node.SmtpPort);
        Assert.StartsWith("220", first.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("220", second.ReadLine(), StringComparison.Ordinal);
        using (var third = RawClient.Connect(node.SmtpPort))
        {
            Assert.StartsWith("421 4.7.0", third.ReadLine(), StringComparison.Ordinal);
            Assert.True(third.ClosedByServer());
        }

        Assert.StartsWith("250", first.Command("NOOP"), StringComparison.Ordinal);
        using var pop = RawClient.Connect(node.Pop3Port);
        Assert.StartsWith("+OK", pop.ReadLine(), StringComparison.Ordinal);
        using var pop2 = RawClient.Connect(node.Pop3Port);
        Assert.StartsWith("-ERR [SYS/TEMP]", pop2.ReadLine(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_size_body_is_read_to_the_terminator_then_refused_without_a_file_or_memory_growth()
    {
        const int limit = 1024 * 1024;
        await using var node = await TestNode.StartAsync($"actormail.smtp.max-message-size = {limit}");
        using var c = RawClient.StartData(node.SmtpPort, "alice@localhost");
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var line = Encoding.ASCII.GetBytes(new string('x', 998) + "\r\n");
        var block = Enumerable.Repeat(line, 1000).SelectMany(l => l).ToArray();
        for (var sent = 0L; sent < 64L * limit; sent += block.Length)
        {
            c.Send(block);
        }

        c.Send(".\r\n");
        Assert.StartsWith($"552 5.3.4 Message size exceeds fixed limit of {limit} octets", c.ReadReply()[^1], StringComparison.Ordinal);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.True(after - before < 16 * 1024 * 1024, $"managed memory grew by {after - before} octets for a 64 MiB body");
        Assert.StartsWith("250", c.Command("NOOP"), StringComparison.Ordinal);
        Assert.Empty(node.AllMessages("alice"));
        Assert.Empty(Directory.GetFiles(Path.Combine(node.MailRoot, ".spool")));
    }

    [Fact]
    public async Task Recipient_limit_gives_452_4_5_3_and_the_message_goes_to_the_accepted_ones()
    {
        await using var node = await TestNode.StartAsync("actormail.smtp.max-recipients = 2");
        using var c = RawClient.Connect(node.SmtpPort);
        c.ReadLine();
        c.Command("EHLO tester");
        c.Command("MAIL FROM:<a@example.org>");
        Assert.StartsWith("250", c.Command("RCPT TO:<alice@localhost>"), StringComparison.Ordinal);
        Assert.StartsWith("250", c.Command("RCPT TO:<bob@localhost>"), StringComparison.Ordinal);
        Assert.StartsWith("452 4.5.3", c.Command("RCPT TO:<postmaster@localhost>"), StringComparison.Ordinal);
        c.Command("DATA");
        c.Send("Subject: limit\r\n\r\nx\r\n.\r\n");
        Assert.StartsWith("250 2.0.0", c.ReadReply()[^1], StringComparison.Ordinal);
        Assert.Single(node.Files("alice"));
        Assert.Single(node.Files("bob"));
    }

    [Fact]
    public async Task Accept_policy_stores_a_NUL_unchanged()
    {
        await using var node = await TestNode.StartAsync("actormail.smtp.nul-in-body = accept");
        using var c = RawClient.StartData(node.SmtpPort, "bob@localhost");
        c.Send("Subject: nul\r\n\r\nbefore\0after\r\n.\r\n");
        Assert.StartsWith("250 2.0.0", c.ReadReply()[^1], StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\nbefore\0after\r\n", File.ReadAllText(Assert.Single(node.Files("bob"))), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("line\n.\nmore\r\n.\r\n")]
    [InlineData("line\n.\r\nmore\r\n.\r\n")]
    [InlineData("line\r.\r\nmore\r\n.\r\n")]
    [InlineData("bare\nlf\r\n.\r\n")]
    public async Task Reject_policy_refuses_smuggling_probes_550_5_5_2_at_the_real_end(string body)
    {
        await using var node = await TestNode.StartAsync("actormail.smtp.bare-newline = reject");
        using var c = RawClient.StartData(node.SmtpPort, "alice@localhost");
        c.Send(body);
        Assert.StartsWith("550 5.5.2", c.ReadReply()[^1], StringComparison.Ordinal);
        Assert.StartsWith("250 2.0.0", c.Command("NOOP"), StringComparison.Ordinal);
        Assert.Empty(node.AllMessages("alice"));
    }

    [Fact]
    public async Task Normalize_policy_stores_bare_newlines_as_CRLF()
    {
        await using var node = await TestNode.StartAsync("actormail.smtp.bare-newline = normalize");
        using var c = RawClient.StartData(node.SmtpPort, "bob@localhost");
        c.Send("Subject: n\r\n\r\none\ntwo\r\n.\r\n");
        Assert.StartsWith("250 2.0.0", c.ReadReply()[^1], StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\none\r\ntwo\r\n", File.ReadAllText(Assert.Single(node.Files("bob"))), StringComparison.Ordinal);
    }
}
