using Ganss.Xss;

namespace ActorMail.Http;

/// <summary>
/// Makes a message's HTML part fit for the web page's sandboxed frame. The sanitizer is the
/// first wall, the frame's sandbox and its Content-Security-Policy the next: each alone must
/// keep scripts, forms, frames and remote loads out.
/// </summary>
public static class MailHtml
{
    // Elements that talk back to a server or embed another document: never kept, even inert.
    private static readonly string[] Forbidden = ["form", "input", "button", "select", "textarea", "option", "optgroup", "fieldset", "label", "legend"];

    private static readonly HtmlSanitizer Blocking = Create(remoteImages: false);
    private static readonly HtmlSanitizer Loading = Create(remoteImages: true);

    /// <summary>Cleans <paramref name="html"/>; remote image sources stay only if <paramref name="remoteImages"/>.</summary>
    public static string Sanitize(string html, bool remoteImages) => (remoteImages ? Loading : Blocking).Sanitize(html);

    /// <summary>The Content-Security-Policy of the frame's document: no script, no form, no frame, no fonts; images inline, or remote too when asked.</summary>
    public static string Policy(bool remoteImages) =>
        $"default-src 'none'; img-src data:{(remoteImages ? " http: https:" : string.Empty)}; style-src 'unsafe-inline'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox";

    private static HtmlSanitizer Create(bool remoteImages)
    {
        var sanitizer = new HtmlSanitizer();
        foreach (var tag in Forbidden)
        {
            sanitizer.AllowedTags.Remove(tag);
        }

        sanitizer.AllowedSchemes.Add("mailto");
        sanitizer.AllowedSchemes.Add("data");
        sanitizer.FilterUrl += (_, e) =>
        {
            var link = e.Tag?.TagName.Equals("A", StringComparison.OrdinalIgnoreCase) == true;
            var inline = e.SanitizedUrl?.StartsWith("data:", StringComparison.OrdinalIgnoreCase) == true;

            // data: is for inline images, not for links to a page made up by the sender. A link
            // is only followed when clicked (and the sandbox stops even that); anything else with
            // a URL (img src, CSS url()) loads as soon as it is shown, so only when asked.
            if (link ? inline : !inline && !remoteImages)
            {
                e.SanitizedUrl = null;
            }
        };

        return sanitizer;
    }
}
