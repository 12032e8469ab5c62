using System.Collections.Frozen;
using ActorMail.Configuration;
using ActorMail.Hosting;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace ActorMail.Http;

/// <summary>
/// The web page at / (docs/WEB.md): static files embedded in the node, signed in with the API's
/// HTTP Basic, plus the two routes only the page needs (who is signed in, and a message's HTML
/// part sanitized for the sandboxed frame).
/// </summary>
public sealed class WebPage
{
    /// <summary>The page's own policy: its scripts and styles only, no inline code, and every DOM sink that parses HTML refused (Trusted Types with no policy).</summary>
    public const string PagePolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

    private const string ResourcePrefix = "ActorMail.Http.wwwroot.";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary();

    private readonly MailboxApi _api;
    private readonly Task<RunningNode> _node;
    private readonly NodeOptions _options;
    private readonly FrozenDictionary<string, byte[]> _files;

    public WebPage(MailboxApi api, NodeOptions options, Task<RunningNode> node)
    {
        _api = api;
        _options = options;
        _node = node;
        _files = Embedded();
    }

    /// <summary>Maps the page's routes onto <paramref name="app"/>.</summary>
    public void Map(IEndpointRouteBuilder app)
    {
        // The page itself asks for the sign-in, so that a browser shows its dialog at once.
        app.MapGet("/", c => _api.Authorized(c, (c, _) => Serve(c, "index.html")));
        app.MapGet("/static/{file}", c => Serve(c, c.Request.RouteValues["file"] as string ?? string.Empty));
        app.MapGet($"{MailboxApi.Prefix}/me", c => _api.Authorized(c, Me));
        app.MapGet($"{MailboxApi.Prefix}/mailboxes/{{name}}/messages/{{id}}/html", c => _api.Authorized(c, Html));
        app.MapGet($"{MailboxApi.Prefix}/sessions", c => _api.Authorized(c, Sessions));
        app.MapGet($"{MailboxApi.Prefix}/sessions/{{id}}", c => _api.Authorized(c, Session));
    }

    // An admin sees every session; anyone else only those they signed in with.
    private string? SessionsOf(string user) => _api.Access.IsAdmin(user) ? null : user;

    private async Task Sessions(HttpContext c, string user)
    {
        var journal = (await _node.ConfigureAwait(false)).Http!.Journal;
        var listed = await journal.Ask<SessionJournalCommands.SessionsListed>(new SessionJournalCommands.ListSessions(SessionsOf(user)), _options.Http.StoreTimeout).ConfigureAwait(false);
        await c.Response.WriteAsJsonAsync(listed.Sessions.Select(s => new { s.Id, s.Protocol, s.Remote, s.User, s.Start, s.DurationMs, s.End }), c.RequestAborted).ConfigureAwait(false);
    }

    private async Task Session(HttpContext c, string user)
    {
        var journal = (await _node.ConfigureAwait(false)).Http!.Journal;
        var id = c.Request.RouteValues["id"] as string ?? string.Empty;
        var read = await journal.Ask<SessionJournalCommands.SessionRead>(new SessionJournalCommands.ReadSession(id, SessionsOf(user)), _options.Http.StoreTimeout).ConfigureAwait(false);
        if (read.Session is null)
        {
            c.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        await c.Response.WriteAsJsonAsync(read.Session, c.RequestAborted).ConfigureAwait(false);
    }

    private Task Me(HttpContext c, string user)
    {
        c.Response.ContentType = "application/json; charset=utf-8";
        return c.Response.WriteAsJsonAsync(new { user, admin = _api.Access.IsAdmin(user), mailboxes = _api.Access.Visible(user) }, c.RequestAborted);
    }

    // The HTML part as a document of its own, for <iframe sandbox> only: sanitized, and under a
    // policy that forbids scripts, forms and frames and sandboxes it even if opened directly.
    private Task Html(HttpContext c, string user) => _api.WithMessage(c, user, async (mailbox, read) =>
    {
        var remote = c.Request.Query["images"] == "remote";
        var html = MessageView.Detail(mailbox, read.Id, read.Content).Html;
        if (html is null)
        {
            c.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        c.Response.Headers.ContentSecurityPolicy = MailHtml.Policy(remote);
        c.Response.Headers["Referrer-Policy"] = "no-referrer";
        c.Response.ContentType = "text/html; charset=utf-8";
        await c.Response.WriteAsync("<!doctype html><meta charset=\"utf-8\">" + MailHtml.Sanitize(html, remote), c.RequestAborted).ConfigureAwait(false);
    });

    private Task Serve(HttpContext c, string name)
    {
        if (!_files.TryGetValue(name, out var bytes))
        {
            c.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        var headers = c.Response.Headers;
        headers.ContentSecurityPolicy = PagePolicy;
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers.XFrameOptions = new StringValues("DENY");
        c.Response.ContentType = ContentTypes[Path.GetExtension(name)];
        c.Response.ContentLength = bytes.Length;
        return c.Response.Body.WriteAsync(bytes, c.RequestAborted).AsTask();
    }

    // Read once: the files ship inside the assembly, so the node needs no folder beside it.
    private static FrozenDictionary<string, byte[]> Embedded()
    {
        var assembly = typeof(WebPage).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[resource[ResourcePrefix.Length..]] = copy.ToArray();
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
