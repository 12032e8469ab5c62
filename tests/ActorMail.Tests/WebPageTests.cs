using System.Net;
using System.Text.Json;
using ActorMail.Http;

namespace ActorMail.Tests;

/// <summary>The web page's routes and the policies they are served with (the browser suite is tests/browser).</summary>
public sealed class WebPageTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task The_page_asks_for_the_sign_in_and_is_served_under_a_strict_policy()
    {
        using var anonymous = new HttpClient { BaseAddress = _node.HttpBase };
        using (var refused = await anonymous.GetAsync(""))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("Basic", refused.Headers.WwwAuthenticate.Single().Scheme);
        }

        using var http = HttpApiTests.Client(_node, "alice", "alice-demo");
        foreach (var (path, type) in new[] { ("", "text/html"), ("static/app.js", "text/javascript"), ("static/app.css", "text/css") })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType!.MediaType);
            var policy = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
            Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
            Assert.Contains("require-trusted-types-for 'script'", policy, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("static/..%2Fopenapi.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("static/nothing.js")).StatusCode);
    }

    [Fact]
    public async Task Me_tells_the_page_who_is_signed_in()
    {
        using var http = HttpApiTests.Client(_node, "bob", "bob-demo");
        using var me = JsonDocument.Parse(await http.GetStringAsync("api/v1/me"));
        Assert.Equal("bob", me.RootElement.GetProperty("user").GetString());
        Assert.False(me.RootElement.GetProperty("admin").GetBoolean());
        Assert.Equal(["bob"], me.RootElement.GetProperty("mailboxes").EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public async Task The_html_part_is_sanitized_and_sandboxed_by_its_own_policy()
    {
        await HttpApiTests.SendAsync(_node, "alice@localhost", "Html", "noreply@example.org", html: true);
        using var http = HttpApiTests.Client(_node, "alice", "alice-demo");
        using var list = JsonDocument.Parse(await http.GetStringAsync("api/v1/mailboxes/alice/messages"));
        var id = Uri.EscapeDataString(list.RootElement.GetProperty("messages")[0].GetProperty("id").GetString()!);

        using var html = await http.GetAsync($"api/v1/mailboxes/alice/messages/{id}/html");
        Assert.Equal(HttpStatusCode.OK, html.StatusCode);
        Assert.Equal("text/html", html.Content.Headers.ContentType!.MediaType);
        Assert.Equal(MailHtml.Policy(remoteImages: false), string.Join(";", html.Headers.GetValues("Content-Security-Policy")));
        Assert.Contains("<a href=\"https://app.test/reset?t=abc123\">this link</a>", await html.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var images = await http.GetAsync($"api/v1/mailboxes/alice/messages/{id}/html?images=remote");
        Assert.Equal(MailHtml.Policy(remoteImages: true), string.Join(";", images.Headers.GetValues("Content-Security-Policy")));

        using var bob = HttpApiTests.Client(_node, "bob", "bob-demo");
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"api/v1/mailboxes/alice/messages/{id}/html")).StatusCode);
    }
}
