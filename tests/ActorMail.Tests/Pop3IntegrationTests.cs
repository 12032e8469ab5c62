using System.Diagnostics;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MimeKit;

namespace ActorMail.Tests;

/// <summary>POP3 through real sockets: MailKit's client and a raw client against a node on loopback.</summary>
public sealed class Pop3IntegrationTests : IAsyncLifetime
{
    private TestNode _node = null!;

    // POP3 of RFC 1939 in clear: STLS and SASL are TlsSessionTests' (they would add lines to CAPA).
    public async Task InitializeAsync() => _node = await TestNode.StartAsync("actormail.tls.enabled = off\nactormail.pop3.sasl = off");

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Message_sent_by_SMTP_comes_back_from_RETR_byte_for_byte()
    {
        const string text = ".starts with a dot\r\n..starts with two\r\n.\r\nafter a lone dot\r\n";
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.org"));
        message.To.Add(MailboxAddress.Parse("alice@localhost"));
        message.Subject = "round trip";
        message.Body = new TextPart("plain") { Text = text };
        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync("127.0.0.1", _node.SmtpPort, MailKit.Security.SecureSocketOptions.None);
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(true);
        }

        var stored = await File.ReadAllBytesAsync(Assert.Single(_node.Files("alice")));
        using var pop = new Pop3Client();
        await pop.ConnectAsync("127.0.0.1", _node.Pop3Port, MailKit.Security.SecureSocketOptions.None);
        await pop.AuthenticateAsync("alice", "alice-demo");
        Assert.Equal(1, pop.Count);
        using var retrieved = await pop.GetStreamAsync(0);
        using var copy = new MemoryStream();
        await retrieved.CopyToAsync(copy);
        Assert.Equal(stored, copy.ToArray());
        var parsed = await pop.GetMessageAsync(0);
        Assert.Equal(text, parsed.TextBody!.ReplaceLineEndings("\r\n"));
        Assert.Equal(stored.Length, await pop.GetMessageSizeAsync(0));
        await pop.DisconnectAsync(true);
    }

    [Fact]
    public async Task A_message_of_many_chunks_streams_back_intact()
    {
        var body = new System.Text.StringBuilder("Subject: big\r\n\r\n");
        for (var i = 0; i < 5000; i++)
        {
            body.Append(i % 7 == 0 ? ".dot line " : "line ").Append(i).Append(' ').Append('x', 60).Append("\r\n");
        }

        using (var c = RawClient.StartData(_node.SmtpPort, "bob@localhost"))
        {
            c.Send(body.ToString().Replace("\r\n.", "\r\n..", StringComparison.Ordinal) + ".\r\n");
            Assert.StartsWith("250 2.0.0", c.ReadReply()[^1], StringComparison.Ordinal);
        }

        var stored = await File.ReadAllBytesAsync(Assert.Single(_node.Files("bob")));
        Assert.True(stored.Length > 4 * _node.Options.Pop3.RetrChunkSize);
        using var pop = new Pop3Client();
        await pop.ConnectAsync("127.0.0.1", _node.Pop3Port, MailKit.Security.SecureSocketOptions.None);
        await pop.AuthenticateAsync("bob", "bob-demo");
        using var retrieved = await pop.GetStreamAsync(0);
        using var copy = new MemoryStream();
        await retrieved.CopyToAsync(copy);
        Assert.Equal(stored, copy.ToArray());
        await pop.DisconnectAsync(true);
    }

    // A maildrop whose LIST and UIDL take many chunks, made by another program (files straight
    // into new/ and cur/): MailKit reads every size and UID, and a raw client pipelining both
    // with STAT gets the three replies whole and in order.
    [Fact]
    public async Task A_listing_of_many_chunks_comes_back_whole_and_in_order()
    {
        const int count = 4000;
        var dir = Path.Combine(_node.MailRoot, "bob");
        Directory.CreateDirectory(Path.Combine(dir, "new"));
        Directory.CreateDirectory(Path.Combine(dir, "cur"));
        var names = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var name = $"{1_700_000_000 + i}.M{i:D6}P77Q{i}.elsewhere.example,S={30 + (i % 50)}";
            var body = "Subject: m\r\n\r\n" + new string('x', 30 + (i % 50) - 16) + "\r\n";
            Assert.Equal(30 + (i % 50), body.Length);
            var seen = i % 4 == 0;
            await File.WriteAllTextAsync(Path.Combine(dir, seen ? "cur" : "new", seen ? name + ":2,S" : name), body);
            names.Add(name);
        }

        var uidLines = names.Select((n, i) => $"{i + 1} {n}").ToList();
        Assert.True(string.Join("\r\n", uidLines).Length > 3 * _node.Options.Pop3.RetrChunkSize);

        using (var pop = new Pop3Client())
        {
            await pop.ConnectAsync("127.0.0.1", _node.Pop3Port, MailKit.Security.SecureSocketOptions.None);
            await pop.AuthenticateAsync("bob", "bob-demo");
            Assert.Equal(count, pop.Count);
            Assert.Equal(names, await pop.GetMessageUidsAsync());
            Assert.Equal(names.Select((_, i) => 30 + (i % 50)), await pop.GetMessageSizesAsync());
            await pop.DisconnectAsync(true);
        }

        using var c = SignIn("bob", "bob-demo");
        c.Send("DELE 2\r\nLIST\r\nUIDL\r\nSTAT\r\n");
        Assert.Equal("+OK Message 2 deleted", c.ReadLine());
        Assert.StartsWith($"+OK {count - 1} messages", c.ReadLine(), StringComparison.Ordinal);
        Assert.Equal(names.Select((_, i) => $"{i + 1} {30 + (i % 50)}").Where((_, i) => i != 1), c.ReadMultiline());
        Assert.Equal("+OK Unique-id listing follows", c.ReadLine());
        Assert.Equal(uidLines.Where((_, i) => i != 1), c.ReadMultiline());
        Assert.StartsWith($"+OK {count - 1} ", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("+OK", c.Command("RSET"), StringComparison.Ordinal);
    }

    // The mailbox keeps its listing for the next sign-in while new/ and cur/ are unchanged: a
    // file another program adds moves new/'s time, and the next session sees it.
    [Fact]
    public void A_kept_listing_gives_way_to_a_file_added_by_another_program()
    {
        Deliver("alice", 2);
        var newDir = Path.Combine(_node.MailRoot, "alice", "new");
        var curDir = Path.Combine(_node.MailRoot, "alice", "cur");
        var settled = DateTime.UtcNow - TimeSpan.FromHours(1);
        Directory.SetLastWriteTimeUtc(newDir, settled);
        Directory.SetLastWriteTimeUtc(curDir, settled);
        for (var round = 0; round < 2; round++)
        {
            using var c = SignIn("alice", "alice-demo");
            Assert.Matches(@"^\+OK 2 \d+$", c.Command("STAT"));
            c.Command("QUIT");
        }

        File.WriteAllText(Path.Combine(newDir, "1700000000.M000001P9Q1.other,S=20"), "Subject: x\r\n\r\nhello\r\n");
        WaitUntil(() =>
        {
            using var next = TrySignIn("alice", "alice-demo");
            return next is not null && next.Command("STAT").StartsWith("+OK 3 ", StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Stat_list_uidl_top_and_dele_then_quit_removes_exactly_the_marked_files()
    {
        Deliver("alice", 3);
        var before = _node.AllMessages("alice");
        using var c = SignIn("alice", "alice-demo");
        var stat = c.Command("STAT");
        Assert.Matches(@"^\+OK 3 \d+$", stat);
        Assert.StartsWith("+OK 3 messages", c.Command("LIST"), StringComparison.Ordinal);
        var list = c.ReadMultiline();
        Assert.Equal(3, list.Count);
        Assert.Equal(stat.Split(' ')[2], list.Sum(l => long.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        c.Command("UIDL");
        var uids = c.ReadMultiline();
        Assert.Equal(3, uids.Select(u => u.Split(' ')[1]).Distinct().Count());
        Assert.StartsWith("+OK", c.Command("TOP 1 0"), StringComparison.Ordinal);
        var top = c.ReadMultiline();
        Assert.Equal(string.Empty, top[^1]);
        Assert.DoesNotContain(top, l => l.StartsWith("body line", StringComparison.Ordinal));
        Assert.Equal("+OK Message 2 deleted", c.Command("DELE 2"));
        Assert.StartsWith("-ERR", c.Command("RETR 2"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", c.Command("LIST 2"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", c.Command("UIDL 2"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", c.Command("TOP 2 1"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", c.Command("DELE 2"), StringComparison.Ordinal);
        Assert.Matches(@"^\+OK 2 \d+$", c.Command("STAT"));
        Assert.Equal($"+OK 3 {uids[2].Split(' ')[1]}", c.Command("UIDL 3"));
        Assert.Equal("+OK ActorMail POP3 server signing off (2 messages left)", c.Command("QUIT"));
        Assert.True(c.ClosedByServer());

        var after = _node.AllMessages("alice");
        Assert.Equal(2, after.Length);
        using var again = SignIn("alice", "alice-demo");
        again.Command("UIDL");
        var uidsAfter = again.ReadMultiline();
        Assert.Equal([$"1 {uids[0].Split(' ')[1]}", $"2 {uids[2].Split(' ')[1]}"], uidsAfter);
        Assert.Equal(3, before.Length);
    }

    [Fact]
    public void Dele_then_disconnect_removes_nothing_and_rset_unmarks()
    {
        Deliver("bob", 2);
        using (var c = SignIn("bob", "bob-demo"))
        {
            var octets = c.Command("STAT").Split(' ')[2];
            c.Command("DELE 1");
            c.Command("DELE 2");
            Assert.Equal("+OK 0 0", c.Command("STAT"));
            Assert.Equal($"+OK Maildrop has 2 messages ({octets} octets)", c.Command("RSET"));
            c.Command("DELE 1");
        }

        // The session ended without QUIT: its lock comes back and nothing was deleted.
        WaitUntil(() => TrySignIn("bob", "bob-demo") is { } s && Dispose(s));
        Assert.Equal(2, _node.AllMessages("bob").Length);
    }

    [Fact]
    public void A_second_session_gets_IN_USE_until_the_first_quits()
    {
        Deliver("alice", 1);
        using var first = SignIn("alice", "alice-demo");
        using var second = RawClient.Connect(_node.Pop3Port);
        second.ReadLine();
        second.Command("USER alice");
        Assert.StartsWith("-ERR [IN-USE]", second.Command("PASS alice-demo"), StringComparison.Ordinal);
        first.Command("QUIT");
        WaitUntil(() =>
        {
            second.Command("USER alice");
            return second.Command("PASS alice-demo").StartsWith("+OK", StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Unknown_user_and_wrong_password_get_the_same_reply_after_the_same_delay()
    {
        var unknown = FailedSignIn("nobody", "x");
        var wrong = FailedSignIn("alice", "wrong");
        Assert.Equal("-ERR [AUTH] Invalid user name or password", unknown.Reply);
        Assert.Equal(unknown.Reply, wrong.Reply);
        var delay = _node.Options.Pop3.AuthFailureDelay;
        Assert.True(unknown.Elapsed >= delay, $"unknown user answered after {unknown.Elapsed}");
        Assert.True(wrong.Elapsed >= delay, $"wrong password answered after {wrong.Elapsed}");
    }

    [Fact]
    public void Three_failed_sign_ins_close_the_connection()
    {
        using var c = RawClient.Connect(_node.Pop3Port);
        c.ReadLine();
        for (var i = 0; i < _node.Options.Pop3.MaxAuthFailures - 1; i++)
        {
            c.Command("USER alice");
            Assert.StartsWith("-ERR [AUTH]", c.Command("PASS nope"), StringComparison.Ordinal);
        }

        c.Command("USER alice");
        c.Send("PASS nope\r\n");
        Assert.StartsWith("-ERR [AUTH]", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("-ERR [AUTH] Too many", c.ReadLine(), StringComparison.Ordinal);
        Assert.True(c.ClosedByServer());
    }

    [Fact]
    public void Mail_delivered_during_a_session_appears_only_in_the_next_one()
    {
        Deliver("bob", 1);
        using (var c = SignIn("bob", "bob-demo"))
        {
            Deliver("bob", 1);
            Assert.Matches(@"^\+OK 1 \d+$", c.Command("STAT"));
            c.Command("QUIT");
        }

        WaitUntil(() =>
        {
            using var next = TrySignIn("bob", "bob-demo");
            return next is not null && next.Command("STAT").StartsWith("+OK 2 ", StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData("STAT", "-ERR STAT not allowed")]
    [InlineData("RETR 1", "-ERR RETR not allowed")]
    [InlineData("PASS x", "-ERR Send USER first")]
    [InlineData("FROB", "-ERR Unknown command")]
    [InlineData("CAPA", "+OK Capability list follows")]
    public void Authorization_state_refuses_transaction_commands(string command, string expected)
    {
        using var c = RawClient.Connect(_node.Pop3Port);
        Assert.StartsWith("+OK", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith(expected, c.Command(command), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RETR 0", "-ERR No such message")]
    [InlineData("RETR 9", "-ERR No such message")]
    [InlineData("RETR +1", "-ERR Message number")]
    [InlineData("RETR 1 x", "-ERR Wrong arguments")]
    [InlineData("TOP 1", "-ERR Wrong arguments")]
    [InlineData("TOP 1 -1", "-ERR Line count")]
    [InlineData("USER alice", "-ERR USER not allowed")]
    [InlineData("STAT 1", "-ERR Wrong arguments")]
    public void Transaction_arguments_are_validated(string command, string expected)
    {
        Deliver("alice", 1);
        using var c = SignIn("alice", "alice-demo");
        Assert.StartsWith(expected, c.Command(command), StringComparison.Ordinal);
    }

    [Fact]
    public void Capa_lists_the_capabilities()
    {
        using var c = RawClient.Connect(_node.Pop3Port);
        c.ReadLine();
        c.Command("CAPA");
        Assert.Equal(["TOP", "USER", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "IMPLEMENTATION ActorMail"], c.ReadMultiline());
    }

    [Fact]
    public void Pipelined_commands_are_answered_in_order()
    {
        Deliver("alice", 2);
        using var c = RawClient.Connect(_node.Pop3Port);
        c.ReadLine();
        c.Send("USER alice\r\nPASS alice-demo\r\nSTAT\r\nRETR 1\r\nDELE 1\r\nLIST\r\nQUIT\r\n");
        Assert.StartsWith("+OK Send PASS", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("+OK Maildrop has 2", c.ReadLine(), StringComparison.Ordinal);
        Assert.StartsWith("+OK 2 ", c.ReadLine(), StringComparison.Ordinal);
        Assert.EndsWith("octets", c.ReadLine(), StringComparison.Ordinal);
        Assert.Contains("body line 0", c.ReadMultiline());
        Assert.Equal("+OK Message 1 deleted", c.ReadLine());
        Assert.StartsWith("+OK 1 messages", c.ReadLine(), StringComparison.Ordinal);
        Assert.Single(c.ReadMultiline());
        Assert.StartsWith("+OK ActorMail POP3 server signing off (1 messages left)", c.ReadLine(), StringComparison.Ordinal);
    }

    private static bool Dispose(IDisposable d)
    {
        d.Dispose();
        return true;
    }

    private static void WaitUntil(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "condition not met within 10 s");
            Thread.Sleep(50);
        }
    }

    private (string Reply, TimeSpan Elapsed) FailedSignIn(string user, string password)
    {
        using var c = RawClient.Connect(_node.Pop3Port);
        c.ReadLine();
        c.Command($"USER {user}");
        var clock = Stopwatch.StartNew();
        var reply = c.Command($"PASS {password}");
        return (reply, clock.Elapsed);
    }

    private RawClient SignIn(string user, string password) =>
        TrySignIn(user, password) ?? throw new InvalidOperationException($"{user} could not sign in");

    private RawClient? TrySignIn(string user, string password)
    {
        var c = RawClient.Connect(_node.Pop3Port);
        c.ReadLine();
        c.Command($"USER {user}");
        if (c.Command($"PASS {password}").StartsWith("+OK", StringComparison.Ordinal))
        {
            return c;
        }

        c.Dispose();
        return null;
    }

    private void Deliver(string user, int count)
    {
        using var c = RawClient.Connect(_node.SmtpPort);
        c.ReadLine();
        c.Command("EHLO tester");
        for (var i = 0; i < count; i++)
        {
            c.Command("MAIL FROM:<a@example.org>");
            c.Command($"RCPT TO:<{user}@localhost>");
            c.Command("DATA");
            c.Send($"Subject: message {i}\r\n\r\nbody line {i}\r\n.dotted\r\n.\r\n");
            Assert.StartsWith("250 2.0.0", c.ReadReply()[^1], StringComparison.Ordinal);
        }

        c.Command("QUIT");
    }
}
