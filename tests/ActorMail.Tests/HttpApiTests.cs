using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using Microsoft.AspNetCore.Routing;
using MimeKit;

namespace ActorMail.Tests;

/// <summary>The HTTP API through a real HttpClient, with mail sent by MailKit's SMTP client, against a node on loopback.</summary>
public sealed class HttpApiTests : IAsyncLifetime
{
    private static readonly byte[] AttachmentBytes = [0, 1, 2, 3, 0xff, 0xfe, (byte)'\r', (byte)'\n', 42];
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task A_mime_message_is_listed_shown_served_raw_with_its_attachment_and_deleted()
    {
        await SendAsync(_node, "alice@localhost", "Password reset", "Reset Bot <noreply@example.org>", html: true, attach: true);
        using var http = Client(_node, "alice", "alice-demo");

        var list = await GetJson(http, "api/v1/mailboxes/alice/messages");
        Assert.Equal(1, list.GetProperty("total").GetInt32());
        var entry = Assert.Single(list.GetProperty("messages").EnumerateArray());
        var id = entry.GetProperty("id").GetString()!;
        var file = Assert.Single(_node.Files("alice"));
        Assert.Equal(Path.GetFileName(file), id);
        Assert.Equal("Password reset", entry.GetProperty("subject").GetString());
        Assert.Equal("noreply@example.org", entry.GetProperty("from").GetProperty("address").GetString());
        Assert.Equal("alice@localhost", entry.GetProperty("to")[0].GetProperty("address").GetString());
        Assert.True(entry.GetProperty("hasAttachments").GetBoolean());
        Assert.StartsWith("Open https://app.test/reset?t=abc123 to choose", entry.GetProperty("snippet").GetString(), StringComparison.Ordinal);
        Assert.Equal(new FileInfo(file).Length, entry.GetProperty("size").GetInt64());

        var detail = await GetJson(http, $"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(id)}");
        Assert.Contains("https://app.test/reset?t=abc123", detail.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains("<a href=\"https://app.test/reset?t=abc123\">", detail.GetProperty("html").GetString(), StringComparison.Ordinal);
        Assert.Contains(detail.GetProperty("headers").EnumerateArray(), h => h.GetProperty("name").GetString() == "Subject" && h.GetProperty("value").GetString() == "Password reset");
        var attachment = Assert.Single(detail.GetProperty("attachments").EnumerateArray());
        Assert.Equal("report.bin", attachment.GetProperty("fileName").GetString());
        Assert.Equal("application/octet-stream", attachment.GetProperty("contentType").GetString());
        Assert.Equal(AttachmentBytes.Length, attachment.GetProperty("size").GetInt32());

        using (var bytes = await http.GetAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(id)}/attachments/0"))
        {
            Assert.Equal(HttpStatusCode.OK, bytes.StatusCode);
            Assert.Equal("application/octet-stream", bytes.Content.Headers.ContentType!.MediaType);
            Assert.Equal(AttachmentBytes, await bytes.Content.ReadAsByteArrayAsync());
            Assert.Equal("attachment", bytes.Content.Headers.ContentDisposition!.DispositionType);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(id)}/attachments/1")).StatusCode);
        using (var raw = await http.GetAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(id)}/raw"))
        {
            Assert.Equal("message/rfc822", raw.Content.Headers.ContentType!.MediaType);
            Assert.Equal(await File.ReadAllBytesAsync(file), await raw.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(id)}")).StatusCode);
        Assert.Empty(_node.AllMessages("alice"));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(id)}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(id)}")).StatusCode);
    }

    [Fact]
    public async Task A_message_read_by_pop3_into_cur_is_found_and_deleted_from_there()
    {
        await SendAsync(_node, "bob@localhost", "moved", "a@example.org");
        var source = Assert.Single(_node.Files("bob"));
        var cur = Path.Combine(_node.MailRoot, "bob", "cur", Path.GetFileName(source) + ":2,S");
        File.Move(source, cur);
        using var http = Client(_node, "bob", "bob-demo");
        var id = Assert.Single((await GetJson(http, "api/v1/mailboxes/bob/messages")).GetProperty("messages").EnumerateArray()).GetProperty("id").GetString()!;
        Assert.Equal(Path.GetFileName(source), id);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"api/v1/mailboxes/bob/messages/{Uri.EscapeDataString(id)}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("api/v1/mailboxes/bob/messages")).StatusCode);
        Assert.Empty(_node.AllMessages("bob"));
    }

    [Fact]
    public async Task A_delete_while_a_pop3_session_holds_the_maildrop_is_409_and_deletes_nothing()
    {
        await SendAsync(_node, "alice@localhost", "held", "a@example.org");
        using var http = Client(_node, "alice", "alice-demo");
        using (var pop = new Pop3Client())
        {
            await pop.ConnectAsync("127.0.0.1", _node.Pop3Port, MailKit.Security.SecureSocketOptions.None);
            await pop.AuthenticateAsync("alice", "alice-demo");
            using var all = await http.DeleteAsync("api/v1/mailboxes/alice/messages");
            Assert.Equal(HttpStatusCode.Conflict, all.StatusCode);
            Assert.Contains("POP3", (await ReadProblem(all, 409)).GetProperty("detail").GetString(), StringComparison.Ordinal);
            var id = Path.GetFileName(Assert.Single(_node.Files("alice")));
            Assert.Equal(HttpStatusCode.Conflict, (await http.DeleteAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(id)}")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(id)}/raw")).StatusCode);
            Assert.Single(_node.AllMessages("alice"));
            await pop.DisconnectAsync(true);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("api/v1/mailboxes/alice/messages")).StatusCode);
        Assert.Empty(_node.AllMessages("alice"));
    }

    [Fact]
    public async Task No_or_wrong_credentials_get_401_with_a_challenge_and_a_wrong_password_waits_and_counts()
    {
        using var anonymous = new HttpClient { BaseAddress = _node.HttpBase };
        using var none = await anonymous.GetAsync("api/v1/mailboxes");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Basic", Assert.Single(none.Headers.WwwAuthenticate).Scheme);

        var before = await MetricAsync(_node, "actormail_signin_failures_total{reason=\"wrong\"}");
        using var wrong = Client(_node, "alice", "not-her-password");
        var clock = Stopwatch.StartNew();
        using var refused = await wrong.GetAsync("api/v1/mailboxes/alice/messages");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.True(clock.Elapsed >= _node.Options.Pop3.AuthFailureDelay, $"answered after {clock.Elapsed}");
        using var unknown = Client(_node, "mallory", "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await unknown.GetAsync("api/v1/mailboxes")).StatusCode);
        Assert.Equal(before + 2, await MetricAsync(_node, "actormail_signin_failures_total{reason=\"wrong\"}"));
    }

    [Fact]
    public async Task Verified_credentials_are_remembered_so_requests_cost_no_further_password_check()
    {
        using var http = Client(_node, "bob", "bob-demo");
        var before = await MetricAsync(_node, "actormail_password_checks_total");
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => http.GetAsync("api/v1/mailboxes")));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/v1/mailboxes")).StatusCode);
        }

        Assert.Equal(before + 1, await MetricAsync(_node, "actormail_password_checks_total"));
        using var wrong = Client(_node, "bob", "bob-demo-not");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("api/v1/mailboxes")).StatusCode);
    }

    [Fact]
    public async Task Another_users_mailbox_is_404_like_one_that_does_not_exist_and_an_admin_sees_all()
    {
        await SendAsync(_node, "alice@localhost", "for alice", "a@example.org");
        using var bob = Client(_node, "bob", "bob-demo");
        using var other = await bob.GetAsync("api/v1/mailboxes/alice/messages");
        using var missing = await bob.GetAsync("api/v1/mailboxes/carol/messages");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(await missing.Content.ReadAsStringAsync(), await other.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync("api/v1/mailboxes/alice/messages")).StatusCode);
        Assert.Single(_node.AllMessages("alice"));
        var mine = Assert.Single((await GetJson(bob, "api/v1/mailboxes")).EnumerateArray());
        Assert.Equal("bob", mine.GetProperty("name").GetString());

        await using var node = await TestNode.StartAsync("actormail.http.admins = [bob]");
        await SendAsync(node, "alice@localhost", "for alice", "a@example.org");
        using var admin = Client(node, "bob", "bob-demo");
        var boxes = (await GetJson(admin, "api/v1/mailboxes")).EnumerateArray().ToList();
        Assert.Equal(["alice", "bob"], boxes.Select(b => b.GetProperty("name").GetString()));
        Assert.Equal(1, boxes[0].GetProperty("messages").GetInt32());
        Assert.Equal(new FileInfo(Assert.Single(node.Files("alice"))).Length, boxes[0].GetProperty("octets").GetInt64());
        Assert.Equal(1, (await GetJson(admin, "api/v1/mailboxes/alice/messages")).GetProperty("total").GetInt32());
        using var alice = Client(node, "alice", "alice-demo");
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("api/v1/mailboxes/bob/messages")).StatusCode);
    }

    [Fact]
    public async Task Q_searches_sender_recipients_and_subject_in_any_case_newest_first_with_paging()
    {
        await SendAsync(_node, "alice@localhost", "Invoice 17", "Billing <billing@shop.example>");
        await SendAsync(_node, "alice@localhost", "Welcome aboard", "Team <hello@app.example>");
        await SendAsync(_node, "alice@localhost", "Your INVOICE is late", "Collections <dunning@shop.example>");
        using var http = Client(_node, "alice", "alice-demo");

        async Task<List<string>> Subjects(string query)
        {
            var page = await GetJson(http, "api/v1/mailboxes/alice/messages" + query);
            return [.. page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("subject").GetString()!)];
        }

        Assert.Equal(["Your INVOICE is late", "Welcome aboard", "Invoice 17"], await Subjects(""));
        Assert.Equal(["Your INVOICE is late", "Invoice 17"], await Subjects("?q=invoice"));
        Assert.Equal(["Your INVOICE is late", "Invoice 17"], await Subjects("?q=SHOP.example"));
        Assert.Equal(["Welcome aboard"], await Subjects("?q=team"));
        Assert.Equal(3, (await Subjects("?q=ALICE@localhost")).Count);
        Assert.Empty(await Subjects("?q=nothing-like-it"));
        Assert.Equal(["Welcome aboard"], await Subjects("?limit=1&offset=1"));
        Assert.Equal(2, (await GetJson(http, "api/v1/mailboxes/alice/messages?q=invoice&limit=1")).GetProperty("total").GetInt32());
        foreach (var bad in new[] { "?limit=0", "?limit=1001", "?limit=abc", "?offset=-1", "?limit=+5" })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("api/v1/mailboxes/alice/messages" + bad)).StatusCode);
        }
    }

    [Fact]
    public async Task Ids_that_are_not_maildir_names_are_404_and_touch_nothing_outside_the_mailbox()
    {
        await SendAsync(_node, "bob@localhost", "bob's", "a@example.org");
        var bobs = Path.GetFileName(Assert.Single(_node.Files("bob")));
        using var http = Client(_node, "alice", "alice-demo");
        foreach (var id in new[] { "..", ".hidden", "a..b", "..%2F..%2Fbob%2Fnew%2F" + bobs, "%2E%2E", "x%00y", "..%5Cbob", new string('a', 71) })
        {
            using var get = await http.GetAsync($"api/v1/mailboxes/alice/messages/{id}");
            Assert.True(get.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{id}: {get.StatusCode}");
            using var delete = await http.DeleteAsync($"api/v1/mailboxes/alice/messages/{id}/raw");
            Assert.NotEqual(HttpStatusCode.NoContent, delete.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(bobs)}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(bobs)}")).StatusCode);
        Assert.Single(_node.Files("bob"));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("api/v1/mailboxes/..%2Fbob/messages")).StatusCode);
    }

    [Fact]
    public async Task A_request_with_a_body_is_refused_413_and_changes_nothing()
    {
        await SendAsync(_node, "alice@localhost", "kept", "a@example.org");
        using var http = Client(_node, "alice", "alice-demo");
        using var request = new HttpRequestMessage(HttpMethod.Delete, "api/v1/mailboxes/alice/messages") { Content = new StringContent("{}") };
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.SendAsync(request)).StatusCode);
        Assert.Single(_node.AllMessages("alice"));
    }

    [Fact]
    public async Task The_events_stream_tells_a_new_message_and_its_deletion_to_those_who_may_see_it()
    {
        using var alice = Client(_node, "alice", "alice-demo");
        using var bob = Client(_node, "bob", "bob-demo");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var aliceEvents = await OpenEvents(alice, timeout.Token);
        using var bobEvents = await OpenEvents(bob, timeout.Token);

        await SendAsync(_node, "alice@localhost", "evented", "a@example.org");
        var (name, data) = await NextEvent(aliceEvents, timeout.Token);
        Assert.Equal("delivered", name);
        var id = Path.GetFileName(Assert.Single(_node.Files("alice")));
        Assert.Equal("alice", data.GetProperty("mailbox").GetString());
        Assert.Equal(id, data.GetProperty("id").GetString());

        await alice.DeleteAsync($"api/v1/mailboxes/alice/messages/{Uri.EscapeDataString(id)}");
        (name, data) = await NextEvent(aliceEvents, timeout.Token);
        Assert.Equal("deleted", name);
        Assert.Equal(id, data.GetProperty("id").GetString());

        // bob sees nothing of alice's: his first event is his own mail.
        await SendAsync(_node, "bob@localhost", "his", "a@example.org");
        (name, data) = await NextEvent(bobEvents, timeout.Token);
        Assert.Equal("delivered", name);
        Assert.Equal("bob", data.GetProperty("mailbox").GetString());
    }

    [Fact]
    public async Task Health_and_metrics_answer_without_credentials()
    {
        await SendAsync(_node, "alice@localhost", "counted", "a@example.org");
        using var http = new HttpClient { BaseAddress = _node.HttpBase };
        Assert.Equal("ok\n", await http.GetStringAsync("healthz"));
        Assert.Equal("ok\n", await http.GetStringAsync("livez"));
        Assert.Equal("ready\n", await http.GetStringAsync("readyz"));
        using var metrics = await http.GetAsync("metrics");
        Assert.Equal("text/plain", metrics.Content.Headers.ContentType!.MediaType);
        Assert.Equal("0.0.4", metrics.Content.Headers.ContentType.Parameters.Single(p => p.Name == "version").Value);
        var series = ParseMetrics(await metrics.Content.ReadAsStringAsync());
        Assert.Equal(1, series["actormail_messages_accepted_total"]);
        Assert.Equal(1, series["actormail_sessions_total{protocol=\"smtp\"}"]);
        Assert.Equal(0, series["actormail_connections_refused_total{protocol=\"http\",reason=\"address_full\"}"]);
        Assert.Equal(0, series["actormail_signin_failures_total{reason=\"throttled\"}"]);
        Assert.Equal(1, series["actormail_delivery_batch_size_count"]);
    }

    [Fact]
    public async Task Readyz_is_503_with_the_reason_while_the_mail_root_cannot_be_written()
    {
        await using var node = await TestNode.StartAsync();
        using var http = new HttpClient { BaseAddress = node.HttpBase };
        Assert.Equal("ready\n", await http.GetStringAsync("readyz"));
        var moved = node.MailRoot + ".away";
        Directory.Move(node.MailRoot, moved);
        await File.WriteAllTextAsync(node.MailRoot, "a file where the mail root should be");
        try
        {
            using var answer = await http.GetAsync("readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            Assert.StartsWith("mail root not writable: ", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal("ok\n", await http.GetStringAsync("healthz"));
        }
        finally
        {
            File.Delete(node.MailRoot);
            Directory.Move(moved, node.MailRoot);
        }

        Assert.Equal("ready\n", await http.GetStringAsync("readyz"));
    }

    [Fact]
    public async Task Metrics_move_by_exactly_what_was_sent_and_name_no_user()
    {
        await using var node = await TestNode.StartAsync("actormail.smtp.max-message-size = 4000");
        using var alice = Client(node, "alice", "alice-demo");
        var before = await ScrapeAsync(node);

        await SendAsync(node, "alice@localhost", "one", "a@example.org");
        await SendAsync(node, "alice@localhost", "two", "a@example.org");
        await SendAsync(node, "bob@localhost", "three", "a@example.org");
        using (var big = RawClient.StartData(node.SmtpPort, "alice@localhost"))
        {
            big.Send("Subject: too big\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 70) + "\r\n", 100)) + ".\r\n");
            Assert.StartsWith("552", big.ReadLine(), StringComparison.Ordinal);
        }

        var stored = node.AllMessages("alice").Concat(node.AllMessages("bob")).Sum(f => new FileInfo(f).Length);
        using (var pop = new Pop3Client())
        {
            await pop.ConnectAsync("127.0.0.1", node.Pop3Port, MailKit.Security.SecureSocketOptions.None);
            await pop.AuthenticateAsync("alice", "alice-demo");
            await pop.GetMessageAsync(0);
            await pop.GetMessageAsync(1);
            await pop.DeleteMessageAsync(0);
            await pop.DisconnectAsync(true);
        }

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("api/v1/mailboxes/alice/messages")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("api/v1/mailboxes/bob/messages")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("api/v1/mailboxes/alice/messages/no-such-id")).StatusCode);
        var after = await ScrapeAsync(node);

        double Moved(string series) => after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
        Assert.Equal(3, Moved("actormail_messages_accepted_total"));
        Assert.Equal(1, Moved("actormail_messages_refused_total{code=\"552\"}"));
        Assert.Equal(stored, Moved("actormail_message_octets_received_total"));
        Assert.Equal(4, Moved("actormail_sessions_total{protocol=\"smtp\"}"));
        Assert.Equal(1, Moved("actormail_sessions_total{protocol=\"pop3\"}"));
        Assert.Equal(2, Moved("actormail_pop3_retrievals_total"));
        Assert.Equal(1, Moved("actormail_pop3_deletions_total"));
        // The scrape before counts too: a request is counted as its answer starts, before the client reads it.
        Assert.Equal(2, Moved("actormail_http_requests_total{status=\"200\"}"));
        Assert.Equal(2, Moved("actormail_http_requests_total{status=\"404\"}"));
        Assert.Equal(3, Moved("actormail_delivery_batch_size_count"));
        Assert.Equal(3, Moved("actormail_delivery_batch_size_sum"));
        Assert.Equal(3, Moved("actormail_delivery_flush_seconds_count"));
        Assert.Equal(3, Moved("actormail_delivery_batch_size_bucket{le=\"1\"}"));

        // Labels name protocols, reasons, codes and buckets: never a user or an address.
        Assert.DoesNotContain(after.Keys, k => k.Contains("alice", StringComparison.Ordinal) || k.Contains("bob", StringComparison.Ordinal) || k.Contains('@', StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connections_past_the_per_address_limit_are_answered_503_and_closed()
    {
        await using var node = await TestNode.StartAsync("actormail.http.max-connections-per-address = 2");
        // The limited client is 127.0.0.2; the test reads the metrics from 127.0.0.1.
        var client = new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0);
        using var first = new TcpClient(client);
        using var second = new TcpClient(client);
        await first.ConnectAsync(IPAddress.Loopback, node.HttpPort);
        await second.ConnectAsync(IPAddress.Loopback, node.HttpPort);
        await WaitFor(async () => await MetricAsync(node, "actormail_sessions_open{protocol=\"http\"}") >= 3);

        using var third = new TcpClient(client);
        await third.ConnectAsync(IPAddress.Loopback, node.HttpPort);
        var stream = third.GetStream();
        await stream.WriteAsync("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(stream, Encoding.ASCII);
        Assert.Equal("HTTP/1.1 503 Service Unavailable", await reader.ReadLineAsync());
        Assert.Contains("Connection: close", await reader.ReadToEndAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await MetricAsync(node, "actormail_connections_refused_total{protocol=\"http\",reason=\"address_full\"}"));

        first.Close();
        second.Close();
        await WaitFor(async () => await MetricAsync(node, "actormail_sessions_open{protocol=\"http\"}") <= 1);
        using var fourth = new TcpClient(client);
        await fourth.ConnectAsync(IPAddress.Loopback, node.HttpPort);
        await fourth.GetStream().WriteAsync("GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        using var answer = new StreamReader(fourth.GetStream(), Encoding.ASCII);
        Assert.Equal("HTTP/1.1 200 OK", await answer.ReadLineAsync());
    }

    [Fact]
    public async Task The_openapi_document_describes_every_endpoint_the_node_maps()
    {
        using var http = new HttpClient { BaseAddress = _node.HttpBase };
        using var document = JsonDocument.Parse(await http.GetStringAsync("api/openapi.json"));
        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = document.RootElement.GetProperty("paths");
        var mapped = ((IEndpointRouteBuilder)_node.Http!).DataSources
            .SelectMany(d => d.Endpoints)
            .OfType<RouteEndpoint>()
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.Select(m => ("/" + e.RoutePattern.RawText!.TrimStart('/'), m.ToLowerInvariant())))
            .ToList();
        var documented = paths.EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Where(o => o.Name is "get" or "delete").Select(o => (p.Name, o.Name)))
            .ToList();
        Assert.Equal(mapped.Order(), documented.Order());
    }

    [Fact]
    public async Task A_node_with_role_smtp_serves_no_http()
    {
        await using var node = await TestNode.StartAsync("actormail.role = smtp");
        Assert.Null(node.Http);
        Assert.Null(node.Node.Http);
    }

    [Fact]
    public async Task Wait_answers_with_the_matching_message_that_arrives_after_it_began()
    {
        using var alice = Client(_node, "alice", "alice-demo");
        var waiting = alice.GetAsync("api/v1/mailboxes/alice/wait?q=REPORT&timeout=30");
        await WaitFor(async () => await MetricAsync(_node, "actormail_http_waiting") == 1);

        await SendAsync(_node, "alice@localhost", "unrelated", "a@example.org");
        await SendAsync(_node, "alice@localhost", "Weekly report", "a@example.org");
        using var answer = await waiting;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var message = await ReadJson(answer);
        Assert.Equal("Weekly report", message.GetProperty("subject").GetString());
        var id = message.GetProperty("id").GetString();
        Assert.Contains(_node.Files("alice"), f => Path.GetFileName(f) == id);
        Assert.Equal(0, await MetricAsync(_node, "actormail_http_waiting"));
    }

    [Fact]
    public async Task Wait_answers_at_once_for_a_message_already_there_and_408_when_none_comes()
    {
        await SendAsync(_node, "alice@localhost", "Already here", "a@example.org");
        using var alice = Client(_node, "alice", "alice-demo");
        using (var present = await alice.GetAsync($"api/v1/mailboxes/alice/wait?q=already&timeout={_node.Options.Http.MaxWait.TotalSeconds}"))
        {
            Assert.Equal("Already here", (await ReadJson(present)).GetProperty("subject").GetString());
        }

        using var none = await alice.GetAsync("api/v1/mailboxes/alice/wait?q=never-sent&timeout=1");
        Assert.Contains("never-sent", (await ReadProblem(none, 408)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await MetricAsync(_node, "actormail_http_waiting"));
    }

    [Fact]
    public async Task Wait_keeps_to_the_callers_mailbox_and_its_timeout_limits()
    {
        await SendAsync(_node, "alice@localhost", "for alice only", "a@example.org");
        using var bob = Client(_node, "bob", "bob-demo");
        await ReadProblem(await bob.GetAsync("api/v1/mailboxes/alice/wait?q=alice&timeout=1"), 404);
        var max = (int)_node.Options.Http.MaxWait.TotalSeconds;
        foreach (var bad in new[] { "abc", "-1", "+5", "1.5", (max + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            var problem = await ReadProblem(await bob.GetAsync($"api/v1/mailboxes/bob/wait?timeout={bad}"), 400);
            Assert.Contains($"0 to {max}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Waiters_past_max_waiters_are_answered_503_and_the_first_still_wakes()
    {
        await using var node = await TestNode.StartAsync("actormail.http.max-waiters = 1");
        using var alice = Client(node, "alice", "alice-demo");
        var first = alice.GetAsync("api/v1/mailboxes/alice/wait?q=wake&timeout=30");
        await WaitFor(async () => await MetricAsync(node, "actormail_http_waiting") == 1);

        using (var second = await alice.GetAsync("api/v1/mailboxes/alice/wait?q=wake&timeout=30"))
        {
            await ReadProblem(second, 503);
            Assert.NotNull(second.Headers.RetryAfter);
        }

        await SendAsync(node, "alice@localhost", "wake up", "a@example.org");
        using var woken = await first;
        Assert.Equal("wake up", (await ReadJson(woken)).GetProperty("subject").GetString());
    }

    [Fact]
    public async Task Errors_are_problem_details_with_a_detail_never_500()
    {
        using var alice = Client(_node, "alice", "alice-demo");
        await ReadProblem(await alice.GetAsync("api/v1/mailboxes/alice/messages?limit=abc"), 400);
        await ReadProblem(await alice.GetAsync("api/v1/mailboxes/alice/messages?offset=-3"), 400);
        await ReadProblem(await alice.GetAsync("api/v1/mailboxes/alice/messages/1796172290.M1P1Q1.vm,S=10"), 404);
        await ReadProblem(await alice.GetAsync("api/v1/mailboxes/Not_A_Name/messages"), 404);
        await ReadProblem(await alice.GetAsync("api/v1/no-such-endpoint"), 404);
        await ReadProblem(await alice.PostAsync("api/v1/mailboxes", null), 405);
        using var anonymous = new HttpClient { BaseAddress = _node.HttpBase };
        await ReadProblem(await anonymous.GetAsync("api/v1/mailboxes"), 401);
    }

    [Fact]
    public async Task Hostile_names_and_ids_get_400_or_404_and_touch_nothing_beside_the_mail_root()
    {
        // A folder beside the mail root, laid out like a mailbox, with a marker no answer may carry.
        const string marker = "sibling-secret-7f3a";
        var sibling = Path.Combine(Path.GetDirectoryName(_node.MailRoot)!, "sibling");
        var planted = Path.Combine(sibling, "alice", "new", "1796172290.M1P1Q1.vm,S=40");
        Directory.CreateDirectory(Path.GetDirectoryName(planted)!);
        await File.WriteAllTextAsync(planted, $"Subject: {marker}\r\n\r\n{marker}\r\n");
        var before = Snapshot(sibling);
        await SendAsync(_node, "alice@localhost", "alice's own", "a@example.org");
        var id = Path.GetFileName(planted);
        var longName = new string('a', 10_240);
        var names = new[] { "..", "%2e%2e", "..%2fsibling%2falice", "%2e%2e%2fsibling%2falice", "..%2F..%2Fsibling", "%2f", "alice%00", "%00", longName };
        var ids = new[] { "..", "%2e%2e", "..%2f..%2f..%2fsibling%2falice%2fnew%2f" + id, "%2e%2e%2fsibling", "x%00y", "%00", longName };
        var targets = names.SelectMany(n => new[] { $"/api/v1/mailboxes/{n}/messages", $"/api/v1/mailboxes/{n}/messages/{id}/raw", $"/api/v1/mailboxes/{n}/wait?timeout=0" })
            .Concat(ids.SelectMany(i => new[] { $"/api/v1/mailboxes/alice/messages/{i}", $"/api/v1/mailboxes/alice/messages/{i}/raw", $"/api/v1/mailboxes/alice/messages/{i}/attachments/0" }))
            .Append("/api/v1/mailboxes/alice/messages/../../../../sibling/alice/new/" + id)
            .Append("/api/v1/mailboxes/../../sibling/alice/messages")
            .ToList();
        foreach (var target in targets)
        {
            // DELETE where the API has it (a message, all messages); elsewhere it would be 405.
            var deletable = !target.Contains("/raw", StringComparison.Ordinal) && !target.Contains("/attachments/", StringComparison.Ordinal) && !target.Contains("/wait", StringComparison.Ordinal);
            foreach (var method in deletable ? new[] { "GET", "DELETE" } : ["GET"])
            {
                var (status, body) = await RawRequestAsync(_node, method, target, "alice", "alice-demo");
                var shown = target.Length > 120 ? target[..120] + "..." : target;
                Assert.True(status is 400 or 404, $"{method} {shown}: {status}");
                Assert.DoesNotContain(marker, body, StringComparison.Ordinal);
            }
        }

        Assert.Equal(before, Snapshot(sibling));
        Assert.Single(_node.Files("alice"));
    }

    // Every file under a folder with its octets and modification time: what "untouched" means.
    private static List<string> Snapshot(string folder) =>
        [.. Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => $"{p} {(File.Exists(p) ? Convert.ToHexString(File.ReadAllBytes(p)) : "dir")} {File.GetLastWriteTimeUtc(p):O}")];

    // One request written as given (no client normalises its target), on a connection of its own.
    private static async Task<(int Status, string Body)> RawRequestAsync(TestNode node, string method, string target, string user, string password)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, node.HttpPort);
        var stream = client.GetStream();
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{method} {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {credentials}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = await reader.ReadToEndAsync();
        var status = answer.Split(' ', 3) is [_, var code, ..] ? int.Parse(code, System.Globalization.CultureInfo.InvariantCulture) : 0;
        return (status, answer);
    }

    internal static HttpClient Client(TestNode node, string user, string password)
    {
        var http = new HttpClient { BaseAddress = node.HttpBase, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return http;
    }

    private static async Task<JsonElement> GetJson(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await ReadJson(response);
    }

    // An RFC 9457 problem: application/problem+json with the status and a detail that says why.
    private static async Task<JsonElement> ReadProblem(HttpResponseMessage response, int status)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var problem = document.RootElement.Clone();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        return problem;
    }

    private static async Task<JsonElement> ReadJson(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    private static async Task<double> MetricAsync(TestNode node, string series) => (await ScrapeAsync(node))[series];

    private static async Task<Dictionary<string, double>> ScrapeAsync(TestNode node)
    {
        using var http = new HttpClient { BaseAddress = node.HttpBase };
        return ParseMetrics(await http.GetStringAsync("metrics"));
    }

    // The Prometheus text format (0.0.4): "# HELP" and "# TYPE" lines, then one "series value" line
    // each, the series being a name and optional {label="value",...}. Anything else fails the test.
    private static Dictionary<string, double> ParseMetrics(string text)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                Assert.Matches(@"^# (HELP [a-z_][a-z0-9_]* .*|TYPE [a-z_][a-z0-9_]* (counter|gauge|histogram|summary|untyped))$", line);
                continue;
            }

            var match = System.Text.RegularExpressions.Regex.Match(line, @"^([a-z_][a-z0-9_]*(\{[a-z_]+=""[^""\\]*""(,[a-z_]+=""[^""\\]*"")*\})?) (\S+)$");
            Assert.True(match.Success, $"not a Prometheus sample line: {line}");
            var value = match.Groups[4].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                var v => double.Parse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture),
            };
            Assert.True(series.TryAdd(match.Groups[1].Value, value), $"series twice: {line}");
        }

        return series;
    }

    private static async Task WaitFor(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "condition not met within 10 s");
            await Task.Delay(50);
        }
    }

    private static async Task<StreamReader> OpenEvents(HttpClient http, CancellationToken cancel)
    {
        var response = await http.GetAsync("api/v1/events", HttpCompletionOption.ResponseHeadersRead, cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel), Encoding.UTF8);
        Assert.Equal(": connected", await reader.ReadLineAsync(cancel));
        return reader;
    }

    // The next event (comment lines and heartbeats skipped): its name and its data as JSON.
    private static async Task<(string Name, JsonElement Data)> NextEvent(StreamReader reader, CancellationToken cancel)
    {
        string? name = null;
        string? data = null;
        while (await reader.ReadLineAsync(cancel) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
            else if (line.Length == 0 && name is not null && data is not null)
            {
                using var document = JsonDocument.Parse(data);
                return (name, document.RootElement.Clone());
            }
        }

        throw new InvalidOperationException("the events stream ended");
    }

    internal static async Task SendAsync(TestNode node, string to, string subject, string from, bool html = false, bool attach = false)
    {
        var body = new BodyBuilder { TextBody = "Open https://app.test/reset?t=abc123 to choose a new password.\r\n" };
        if (html)
        {
            body.HtmlBody = "<p>Open <a href=\"https://app.test/reset?t=abc123\">this link</a> to choose a new password.</p>\r\n";
        }

        if (attach)
        {
            body.Attachments.Add("report.bin", AttachmentBytes, new ContentType("application", "octet-stream"));
        }

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = body.ToMessageBody();
        using var smtp = new SmtpClient();
        await smtp.ConnectAsync("127.0.0.1", node.SmtpPort, MailKit.Security.SecureSocketOptions.None);
        await smtp.SendAsync(message);
        await smtp.DisconnectAsync(true);
    }
}
