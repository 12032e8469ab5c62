using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading.Channels;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Protocol.Http;
using ActorMail.Protocol.Mail;
using ActorMail.Store;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Net.Http.Headers;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Http;

/// <summary>
/// The HTTP endpoints (docs/API.md). Every read and every change of a mailbox is a message to its
/// actor, asked through the mailbox router: the HTTP side never touches the Maildir itself.
/// </summary>
public sealed class MailboxApi
{
    /// <summary>The prefix of the versioned API.</summary>
    public const string Prefix = "/api/v1";

    private const string FailuresKey = "actormail.sign-in-failures";
    // Readable for curl users: <, > and quotes in mail are not escaped as \u003C; the answers are
    // application/json with nosniff, never HTML.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly NodeOptions _options;
    private readonly Task<RunningNode> _node;
    private readonly HttpAccess _access;
    private readonly IHostApplicationLifetime _lifetime;
    private long _correlation;
    private int _waiters;

    public MailboxApi(NodeOptions options, Task<RunningNode> node, IHostApplicationLifetime lifetime)
    {
        _options = options;
        _node = node;
        _lifetime = lifetime;
        _access = new HttpAccess(options, async () => (await node.ConfigureAwait(false)).Passwords);
    }

    /// <summary>Who may see which mailbox.</summary>
    internal HttpAccess Access => _access;

    /// <summary>Maps every endpoint onto <paramref name="app"/>.</summary>
    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", Healthz);
        app.MapGet("/livez", Healthz);
        app.MapGet("/readyz", Readyz);
        app.MapGet("/metrics", Metrics);
        app.MapGet("/api/openapi.json", OpenApi);
        app.MapGet($"{Prefix}/mailboxes", c => Authorized(c, Mailboxes));
        app.MapGet($"{Prefix}/mailboxes/{{name}}/messages", c => Authorized(c, Messages));
        app.MapDelete($"{Prefix}/mailboxes/{{name}}/messages", c => Authorized(c, DeleteAll));
        app.MapGet($"{Prefix}/mailboxes/{{name}}/messages/{{id}}", c => Authorized(c, Message));
        app.MapDelete($"{Prefix}/mailboxes/{{name}}/messages/{{id}}", c => Authorized(c, Delete));
        app.MapGet($"{Prefix}/mailboxes/{{name}}/messages/{{id}}/raw", c => Authorized(c, Raw));
        app.MapGet($"{Prefix}/mailboxes/{{name}}/messages/{{id}}/attachments/{{index}}", c => Authorized(c, Attachment));
        app.MapGet($"{Prefix}/mailboxes/{{name}}/wait", c => Authorized(c, Wait));
        app.MapGet($"{Prefix}/events", c => Authorized(c, Events));
    }

    /// <summary>Counts a request by its status, as its answer starts (so a client that has it sees it counted).</summary>
    public void CountRequests(HttpContext c)
    {
        if (_node.IsCompletedSuccessfully)
        {
            var metrics = NodeMetrics.Get(_node.Result.System);
            c.Response.OnStarting(() =>
            {
                metrics.HttpRequests(c.Response.StatusCode).Increment();
                return Task.CompletedTask;
            });
        }
    }

    // The process runs and answers: nothing else is checked.
    private static Task Healthz(HttpContext c) => Text(c, StatusCodes.Status200OK, "ok\n");

    private Task Readyz(HttpContext c)
    {
        if (!_node.IsCompletedSuccessfully || !_node.Result.Ready)
        {
            return Text(c, StatusCodes.Status503ServiceUnavailable, "starting: the listeners are not bound yet\n");
        }

        return MailRootProblem() is { } why
            ? Text(c, StatusCodes.Status503ServiceUnavailable, $"mail root not writable: {why}\n")
            : Text(c, StatusCodes.Status200OK, "ready\n");
    }

    // Creates and removes an empty file in the mail root: what a delivery's first step needs.
    private string? MailRootProblem()
    {
        var probe = Path.Combine(_options.DataRoot, $".readyz.{Environment.ProcessId}.{Next()}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
                return null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    private async Task Metrics(HttpContext c)
    {
        var node = await _node.ConfigureAwait(false);
        c.Response.ContentType = NodeMetrics.ContentType;
        await NodeMetrics.Get(node.System).ExportAsync(c.Response.Body, c.RequestAborted).ConfigureAwait(false);
    }

    private static async Task OpenApi(HttpContext c)
    {
        c.Response.ContentType = "application/json; charset=utf-8";
        await using var document = typeof(MailboxApi).Assembly.GetManifestResourceStream("ActorMail.Http.openapi.json")
            ?? throw new InvalidOperationException("the OpenAPI document is not embedded");
        await document.CopyToAsync(c.Response.Body, c.RequestAborted).ConfigureAwait(false);
    }

    // Signs the request in, then runs the endpoint as that user. A failure is answered here.
    internal async Task Authorized(HttpContext c, Func<HttpContext, string, Task> endpoint)
    {
        var address = c.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var signIn = await _access.SignInAsync(c.Request.Headers.Authorization, address, c.RequestAborted).ConfigureAwait(false);
        switch (signIn.Outcome)
        {
            case SignInOutcome.Accepted:
                await endpoint(c, signIn.User!).ConfigureAwait(false);
                return;
            case SignInOutcome.Busy:
                c.Response.Headers.RetryAfter = "1";
                await Error(c, StatusCodes.Status503ServiceUnavailable, "too many sign-ins in progress, try again later").ConfigureAwait(false);
                return;
            case SignInOutcome.Rejected:
                CountFailure(c);
                break;
        }

        c.Response.Headers.WWWAuthenticate = BasicCredentials.Challenge;
        await Error(c, StatusCodes.Status401Unauthorized, "sign in with HTTP Basic: a user name and password of actormail.users").ConfigureAwait(false);
    }

    // As POP3 closes a connection at its max-auth-failures, a keep-alive connection ends with
    // the reply to that many failed sign-ins.
    private void CountFailure(HttpContext c)
    {
        if (c.Features.Get<IConnectionItemsFeature>()?.Items is not { } items)
        {
            return;
        }

        var failures = (items.TryGetValue(FailuresKey, out var n) && n is int count ? count : 0) + 1;
        items[FailuresKey] = failures;
        if (failures >= _options.Pop3.MaxAuthFailures)
        {
            c.Response.Headers.Connection = "close";
        }
    }

    private async Task Mailboxes(HttpContext c, string user)
    {
        var node = await _node.ConfigureAwait(false);
        var counts = await Task.WhenAll(_access.Visible(user).Select(m => Ask(node, new CountMessages(m, Next())))).ConfigureAwait(false);
        if (counts.FirstOrDefault(r => r is not MessagesCounted) is { } failed)
        {
            await StoreError(c, failed).ConfigureAwait(false);
            return;
        }

        await Write(c, StatusCodes.Status200OK, counts.Cast<MessagesCounted>().Select(m => new { name = m.Mailbox, messages = m.Messages, octets = m.Octets })).ConfigureAwait(false);
    }

    private async Task Messages(HttpContext c, string user)
    {
        if (Mailbox(c, user) is not { } mailbox)
        {
            await NotFound(c).ConfigureAwait(false);
            return;
        }

        var query = c.Request.Query;
        if (!Number(query["limit"], _options.Http.DefaultPageSize, out var limit) || limit < 1 || limit > _options.Http.MaxPageSize
            || !Number(query["offset"], 0, out var offset))
        {
            await Error(c, StatusCodes.Status400BadRequest, $"limit must be 1 to {_options.Http.MaxPageSize} and offset 0 or more").ConfigureAwait(false);
            return;
        }

        var answer = await Ask(await _node.ConfigureAwait(false), new ListMessages(mailbox, Next())).ConfigureAwait(false);
        if (answer is not MessagesListed listed)
        {
            await StoreError(c, answer).ConfigureAwait(false);
            return;
        }

        var text = query["q"].ToString();
        var matching = string.IsNullOrEmpty(text) ? [.. listed.Messages] : listed.Messages.Where(m => m.Matches(text)).ToList();
        await Write(c, StatusCodes.Status200OK, new
        {
            total = matching.Count,
            messages = matching.Skip(offset).Take(limit).Select(Summary),
        }).ConfigureAwait(false);
    }

    // The newest message matching q, as soon as there is one. The hub is told to wake this request
    // before the mailbox is listed, so a delivery either is in the listing or wakes it afterwards.
    private async Task Wait(HttpContext c, string user)
    {
        if (Mailbox(c, user) is not { } mailbox)
        {
            await NotFound(c).ConfigureAwait(false);
            return;
        }

        var max = (int)_options.Http.MaxWait.TotalSeconds;
        if (!Number(c.Request.Query["timeout"], (int)_options.Http.DefaultWait.TotalSeconds, out var seconds) || seconds > max)
        {
            await Error(c, StatusCodes.Status400BadRequest, $"timeout must be a whole number of seconds, 0 to {max}").ConfigureAwait(false);
            return;
        }

        var node = await _node.ConfigureAwait(false);
        var waiting = NodeMetrics.Get(node.System).Waiting;
        if (Interlocked.Increment(ref _waiters) > _options.Http.MaxWaiters)
        {
            Interlocked.Decrement(ref _waiters);
            c.Response.Headers.RetryAfter = "1";
            await Error(c, StatusCodes.Status503ServiceUnavailable, $"{_options.Http.MaxWaiters} requests are waiting already (actormail.http.max-waiters); try again later").ConfigureAwait(false);
            return;
        }

        var text = c.Request.Query["q"].ToString();
        var id = Next();
        // One slot, oldest dropped: a waiter needs to know only that something changed since it looked.
        var wake = Channel.CreateBounded<MailboxEvent>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(c.RequestAborted, _lifetime.ApplicationStopping);
        deadline.CancelAfter(TimeSpan.FromSeconds(seconds));
        waiting.Increment();
        try
        {
            await node.Http!.Events.Ask<EventHubCommands.Listening>(new EventHubCommands.Listen(id, wake.Writer, [mailbox]), _options.Http.StoreTimeout).ConfigureAwait(false);
            var lastLook = false;
            while (true)
            {
                var answer = await Ask(node, new ListMessages(mailbox, Next())).ConfigureAwait(false);
                if (answer is not MessagesListed listed)
                {
                    await StoreError(c, answer).ConfigureAwait(false);
                    return;
                }

                if (listed.Messages.FirstOrDefault(m => text.Length == 0 || m.Matches(text)) is { } found)
                {
                    await Write(c, StatusCodes.Status200OK, Summary(found)).ConfigureAwait(false);
                    return;
                }

                if (lastLook)
                {
                    break;
                }

                lastLook = !await Woken(wake.Reader, deadline.Token).ConfigureAwait(false);
            }

            if (!c.RequestAborted.IsCancellationRequested)
            {
                await Error(c, StatusCodes.Status408RequestTimeout, $"no message matching '{text}' arrived in {mailbox} within {seconds} s").ConfigureAwait(false);
            }
        }
        catch (AskTimeoutException)
        {
            await StoreError(c, null).ConfigureAwait(false);
        }
        finally
        {
            node.Http!.Events.Tell(new EventHubCommands.StopListening(id));
            waiting.Decrement();
            Interlocked.Decrement(ref _waiters);
        }
    }

    // True when a mailbox event came; false at the deadline or when the hub stops. Either is
    // followed by one last look, which also finds a delivery made by another process (role split).
    private static async Task<bool> Woken(ChannelReader<MailboxEvent> reader, CancellationToken deadline)
    {
        try
        {
            return await reader.WaitToReadAsync(deadline).ConfigureAwait(false) && reader.TryRead(out _);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static object Summary(MessageSummary m) => new
    {
        m.Id,
        m.From,
        m.To,
        m.Cc,
        m.Subject,
        m.Date,
        m.Received,
        m.Size,
        m.Snippet,
        m.HasAttachments,
    };

    private Task Message(HttpContext c, string user) => WithMessage(c, user, (mailbox, read) =>
        Write(c, StatusCodes.Status200OK, MessageView.Detail(mailbox, read.Id, read.Content)));

    private Task Raw(HttpContext c, string user) => WithMessage(c, user, async (_, read) =>
    {
        c.Response.ContentType = "message/rfc822";
        c.Response.ContentLength = read.Content.Length;
        c.Response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileNameStar = read.Id + ".eml" }.ToString();
        await c.Response.Body.WriteAsync(ImmutableCollectionsMarshal.AsArray(read.Content), c.RequestAborted).ConfigureAwait(false);
    });

    private Task Attachment(HttpContext c, string user) => WithMessage(c, user, async (_, read) =>
    {
        var index = c.Request.RouteValues["index"] as string;
        if (!Number(index, -1, out var i) || MessageView.Attachment(read.Content, i) is not { } attachment)
        {
            await NotFound(c).ConfigureAwait(false);
            return;
        }

        // Served as a download, never as a page of this origin: mail is written by strangers.
        c.Response.ContentType = attachment.ContentType;
        c.Response.ContentLength = attachment.Content.Length;
        c.Response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileNameStar = attachment.FileName ?? $"attachment-{i}" }.ToString();
        await c.Response.Body.WriteAsync(attachment.Content, c.RequestAborted).ConfigureAwait(false);
    });

    private async Task Delete(HttpContext c, string user)
    {
        var id = c.Request.RouteValues["id"] as string;
        if (Mailbox(c, user) is not { } mailbox || !MessageId.IsValid(id))
        {
            await NotFound(c).ConfigureAwait(false);
            return;
        }

        var answer = await Ask(await _node.ConfigureAwait(false), new DeleteMessages(mailbox, Next(), [id])).ConfigureAwait(false);
        await (answer switch
        {
            MessagesDeleted { Ids.Length: > 0 } => NoContent(c),
            MessagesDeleted => NotFound(c),
            _ => StoreError(c, answer),
        }).ConfigureAwait(false);
    }

    private async Task DeleteAll(HttpContext c, string user)
    {
        if (Mailbox(c, user) is not { } mailbox)
        {
            await NotFound(c).ConfigureAwait(false);
            return;
        }

        var answer = await Ask(await _node.ConfigureAwait(false), new DeleteAllMessages(mailbox, Next())).ConfigureAwait(false);
        await (answer is MessagesDeleted ? NoContent(c) : StoreError(c, answer)).ConfigureAwait(false);
    }

    // Server-Sent Events: one line of JSON per event, a comment line at each heartbeat.
    private async Task Events(HttpContext c, string user)
    {
        var node = await _node.ConfigureAwait(false);
        var hub = node.Http!.Events;
        var channel = Channel.CreateBounded<MailboxEvent>(new BoundedChannelOptions(_options.Http.EventBuffer)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });
        var id = Next();
        var mailboxes = _access.IsAdmin(user) ? null : _access.Visible(user).ToImmutableHashSet(StringComparer.Ordinal);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(c.RequestAborted, _lifetime.ApplicationStopping);
        try
        {
            // ": connected" is written once the hub follows the mailboxes: what happens after it is sent.
            await hub.Ask<EventHubCommands.Listening>(new EventHubCommands.Listen(id, channel.Writer, mailboxes), _options.Http.StoreTimeout).ConfigureAwait(false);
            c.Response.ContentType = "text/event-stream";
            c.Response.Headers.CacheControl = "no-store";
            await c.Response.WriteAsync(": connected\n\n", stop.Token).ConfigureAwait(false);
            await c.Response.Body.FlushAsync(stop.Token).ConfigureAwait(false);
            while (!stop.IsCancellationRequested)
            {
                var frame = await NextFrame(channel.Reader, stop.Token).ConfigureAwait(false);
                await c.Response.WriteAsync(frame, stop.Token).ConfigureAwait(false);
                await c.Response.Body.FlushAsync(stop.Token).ConfigureAwait(false);
                if (frame.StartsWith("event: overflow", StringComparison.Ordinal))
                {
                    return;
                }
            }
        }
        catch (AskTimeoutException)
        {
            await StoreError(c, null).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client went away or the node is stopping: the stream simply ends.
        }
        finally
        {
            hub.Tell(new EventHubCommands.StopListening(id));
        }
    }

    private async Task<string> NextFrame(ChannelReader<MailboxEvent> reader, CancellationToken stop)
    {
        using var beat = CancellationTokenSource.CreateLinkedTokenSource(stop);
        beat.CancelAfter(_options.Http.EventHeartbeat);
        try
        {
            if (!await reader.WaitToReadAsync(beat.Token).ConfigureAwait(false))
            {
                return "event: overflow\ndata: {}\n\n";
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return ": heartbeat\n\n";
        }
        catch (ChannelClosedException)
        {
            return "event: overflow\ndata: {}\n\n";
        }

        var frames = new System.Text.StringBuilder();
        while (reader.TryRead(out var e))
        {
            var (name, data) = e switch
            {
                MessageArrived a => ("delivered", JsonSerializer.Serialize(new { mailbox = a.Mailbox, id = a.Id, size = a.Size }, Json)),
                _ => ("deleted", JsonSerializer.Serialize(new { mailbox = e.Mailbox, id = e.Id }, Json)),
            };
            frames.Append("event: ").Append(name).Append("\ndata: ").Append(data).Append("\n\n");
        }

        return frames.ToString();
    }

    // Reads the message named by the route for a user who may see its mailbox, then runs `then`.
    internal async Task WithMessage(HttpContext c, string user, Func<string, MessageRead, Task> then)
    {
        var id = c.Request.RouteValues["id"] as string;
        if (Mailbox(c, user) is not { } mailbox || !MessageId.IsValid(id))
        {
            await NotFound(c).ConfigureAwait(false);
            return;
        }

        var answer = await Ask(await _node.ConfigureAwait(false), new ReadMessage(mailbox, Next(), id)).ConfigureAwait(false);
        await (answer is MessageRead read ? then(mailbox, read) : StoreError(c, answer)).ConfigureAwait(false);
    }

    // The route's mailbox if the user may see it. Another user's mailbox and one that does not
    // exist are told alike (404), so the API does not reveal which names exist.
    private string? Mailbox(HttpContext c, string user) =>
        c.Request.RouteValues["name"] is string name && MailboxName.IsValid(name) && _access.MaySee(user, name) ? name : null;

    private long Next() => Interlocked.Increment(ref _correlation);

    private async Task<object?> Ask(RunningNode node, IMailboxCommand command)
    {
        try
        {
            return await node.Mailboxes.Ask<object>(command, _options.Http.StoreTimeout).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    private static Task StoreError(HttpContext c, object? answer)
    {
        switch (answer)
        {
            case MessageNotFound:
                return NotFound(c);
            case MaildropLocked:
                return Error(c, StatusCodes.Status409Conflict, "a POP3 session holds this maildrop: nothing is deleted while it is open; try again when it ends");
            case RequestFailed:
                return Error(c, StatusCodes.Status500InternalServerError, "the mailbox could not be read or changed (the node's log says why)");
            default:
                c.Response.Headers.RetryAfter = "1";
                return Error(c, StatusCodes.Status503ServiceUnavailable, "the mailbox did not answer in time, try again later");
        }
    }

    // A whole number of ASCII digits only: "+1", " 1", "1e3" and "-1" are not numbers here.
    private static bool Number(string? text, int fallback, out int value)
    {
        value = fallback;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        return text.All(char.IsAsciiDigit) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static Task NotFound(HttpContext c) => Error(c, StatusCodes.Status404NotFound, "no such mailbox or message");

    private static Task NoContent(HttpContext c)
    {
        c.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    // RFC 9457 problem details: the status, its title and a detail that says what to change.
    private static Task Error(HttpContext c, int status, string detail) => Results.Problem(detail: detail, statusCode: status).ExecuteAsync(c);

    private static async Task Write<T>(HttpContext c, int status, T value)
    {
        c.Response.StatusCode = status;
        c.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(c.Response.Body, value, Json, c.RequestAborted).ConfigureAwait(false);
    }

    private static Task Text(HttpContext c, int status, string text)
    {
        c.Response.StatusCode = status;
        c.Response.ContentType = "text/plain; charset=utf-8";
        return c.Response.WriteAsync(text, c.RequestAborted);
    }
}
