using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using ActorMail.Protocol.Auth;

namespace ActorMail.Tests;

/// <summary>Many POP3 sessions on many mailboxes while SMTP delivers to the same mailboxes: nothing lost, nothing doubled.</summary>
public sealed partial class ConcurrencyTests
{
    private const int Mailboxes = 50;
    private const int MessagesPerMailbox = 6;

    [Fact]
    public async Task Fifty_pop3_sessions_and_concurrent_delivery_lose_and_duplicate_nothing()
    {
        var users = string.Join("\n", Enumerable.Range(0, Mailboxes).Select(i => $"  u{i} = \"{PasswordHash.Create($"pw{i}", 1000)}\""));
        // Every client here comes from 127.0.0.1, and a reader reconnects while its last session
        // may still be ending: the per-address share is lifted so only the global limit counts.
        await using var node = await TestNode.StartAsync($"actormail.users {{\n{users}\n}}\nactormail.pop3.max-connections-per-address = 1000");
        var accepted = new ConcurrentBag<(int User, string Marker)>();
        var deleted = new ConcurrentBag<(int User, string Marker)>();

        // Blocking clients run on their own threads: on the thread pool they would starve the
        // in-process node's Akka.IO, which runs there.
        var senders = Enumerable.Range(0, 10).Select(s => Task.Factory.StartNew(() =>
        {
            using var c = RawClient.Connect(node.SmtpPort);
            c.ReadLine();
            c.Command("EHLO sender");
            for (var i = s; i < Mailboxes * MessagesPerMailbox; i += 10)
            {
                var user = i % Mailboxes;
                var marker = $"m{i:D4}";
                c.Command("MAIL FROM:<load@example.org>");
                c.Command($"RCPT TO:<u{user}@localhost>");
                c.Command("DATA");
                c.Send($"X-Marker: {marker}\r\n\r\nbody {marker}\r\n.\r\n");
                if (c.ReadReply()[^1].StartsWith("250 ", StringComparison.Ordinal))
                {
                    accepted.Add((user, marker));
                }
            }

            c.Command("QUIT");
        }, TaskCreationOptions.LongRunning)).ToArray();

        var readers = Enumerable.Range(0, Mailboxes).Select(user => Task.Factory.StartNew(() =>
        {
            for (var round = 0; round < 3; round++)
            {
                using var c = SignIn(node, user);
                c.Command("LIST");
                var listing = c.ReadMultiline();
                var mine = new List<string>();
                foreach (var entry in listing.Take(2))
                {
                    var n = entry.Split(' ')[0];
                    Assert.StartsWith("+OK", c.Command($"RETR {n}"), StringComparison.Ordinal);
                    var marker = MarkerLine().Match(string.Join("\n", c.ReadMultiline())).Groups[1].Value;
                    Assert.StartsWith("+OK", c.Command($"DELE {n}"), StringComparison.Ordinal);
                    mine.Add(marker);
                }

                // A session dropped without QUIT deletes nothing; every other one commits.
                if (round == 1)
                {
                    continue;
                }

                Assert.StartsWith("+OK", c.Command("QUIT"), StringComparison.Ordinal);
                foreach (var marker in mine)
                {
                    deleted.Add((user, marker));
                }

                Thread.Sleep(20);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        await Task.WhenAll(senders.Concat(readers));

        var present = new List<(int User, string Marker)>();
        for (var user = 0; user < Mailboxes; user++)
        {
            foreach (var file in node.AllMessages($"u{user}"))
            {
                present.Add((user, MarkerLine().Match(await File.ReadAllTextAsync(file)).Groups[1].Value));
            }
        }

        Assert.Equal(Mailboxes * MessagesPerMailbox, accepted.Count);
        Assert.Equal(present.Count, present.Distinct().Count());
        Assert.Equal(deleted.Count, deleted.Distinct().Count());
        Assert.Empty(present.Intersect(deleted));
        Assert.Equal(accepted.OrderBy(a => a.Marker), present.Concat(deleted).OrderBy(a => a.Marker));
    }

    // The lock of a session that was just dropped comes back once the node has seen the close.
    private static RawClient SignIn(TestNode node, int user)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var c = RawClient.Connect(node.Pop3Port);
            c.ReadLine();
            c.Command($"USER u{user}");
            var reply = c.Command($"PASS pw{user}");
            if (reply.StartsWith("+OK", StringComparison.Ordinal))
            {
                return c;
            }

            c.Dispose();
            Assert.StartsWith("-ERR [IN-USE]", reply, StringComparison.Ordinal);
            Assert.True(DateTime.UtcNow < deadline, "maildrop still locked after 10 s");
            Thread.Sleep(20);
        }
    }

    [GeneratedRegex(@"X-Marker: (m\d{4})")]
    private static partial Regex MarkerLine();
}
