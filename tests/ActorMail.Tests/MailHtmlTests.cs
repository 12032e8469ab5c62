using ActorMail.Http;

namespace ActorMail.Tests;

/// <summary>The sanitizer in front of the sandboxed frame: what hostile HTML mail keeps and loses.</summary>
public sealed class MailHtmlTests
{
    private const string Remote = "http://remote.test";

    [Theory]
    [InlineData("<script>top.x = 1</script><p>hi</p>", "<script")]
    [InlineData("<img src=\"x\" onerror=\"top.x = 1\">", "onerror")]
    [InlineData("<a href=\"javascript:top.x = 1\">go</a>", "javascript:")]
    [InlineData("<meta http-equiv=\"refresh\" content=\"0; url=http://remote.test/meta\">", "<meta")]
    [InlineData("<form action=\"http://remote.test/form\"><input name=\"a\"><button>Send</button></form>", "<form")]
    [InlineData("<form><input name=\"a\"></form>", "<input")]
    [InlineData("<iframe src=\"http://remote.test/frame\"></iframe>", "<iframe")]
    [InlineData("<link rel=\"stylesheet\" href=\"http://remote.test/css\">", "<link")]
    [InlineData("<style>body { background: url(http://remote.test/style) }</style>", "remote.test/style")]
    [InlineData("<a href=\"data:text/html,hi\">go</a>", "data:")]
    public void Hostile_constructs_are_removed_whatever_the_choice_on_images(string html, string gone)
    {
        Assert.DoesNotContain(gone, MailHtml.Sanitize(html, remoteImages: false), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(gone, MailHtml.Sanitize(html, remoteImages: true), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("<img src=\"http://remote.test/img\" alt=\"logo\">")]
    [InlineData("<p style=\"background-image: url(http://remote.test/css-url)\">x</p>")]
    public void Remote_images_are_dropped_unless_asked_for(string html)
    {
        Assert.DoesNotContain(Remote, MailHtml.Sanitize(html, remoteImages: false), StringComparison.Ordinal);
        Assert.Contains(Remote, MailHtml.Sanitize(html, remoteImages: true), StringComparison.Ordinal);
    }

    [Fact]
    public void Text_links_and_inline_images_stay()
    {
        var html = "<p>Open <a href=\"https://app.test/reset\">this link</a>.</p><img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"dot\">";
        var clean = MailHtml.Sanitize(html, remoteImages: false);
        Assert.Contains("<a href=\"https://app.test/reset\">this link</a>", clean, StringComparison.Ordinal);
        Assert.Contains("data:image/png;base64,iVBORw0KGgo=", clean, StringComparison.Ordinal);
    }

    [Fact]
    public void The_frame_policy_allows_remote_images_only_when_asked()
    {
        Assert.DoesNotContain("http:", MailHtml.Policy(remoteImages: false), StringComparison.Ordinal);
        Assert.Contains("img-src data: http: https:", MailHtml.Policy(remoteImages: true), StringComparison.Ordinal);
        Assert.Contains("sandbox", MailHtml.Policy(remoteImages: false), StringComparison.Ordinal);
        Assert.DoesNotContain("allow-", MailHtml.Policy(remoteImages: true), StringComparison.Ordinal);
    }
}
