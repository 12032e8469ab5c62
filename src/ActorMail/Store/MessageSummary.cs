using System.Collections.Immutable;
using System.Text;
using MimeKit;
using MimeKit.Text;

namespace ActorMail.Store;

/// <summary>A name and address from a From, To or Cc header.</summary>
/// <param name="Name">The display name, decoded; empty if there is none.</param>
/// <param name="Address">The address.</param>
public sealed record Correspondent(string Name, string Address)
{
    /// <summary>True if <paramref name="text"/> occurs in the name or the address, in any case.</summary>
    public bool Matches(string text) =>
        Name.Contains(text, StringComparison.OrdinalIgnoreCase) || Address.Contains(text, StringComparison.OrdinalIgnoreCase);

    internal static ImmutableArray<Correspondent> From(InternetAddressList list) =>
        [.. list.Mailboxes.Select(m => new Correspondent(m.Name ?? string.Empty, m.Address ?? string.Empty))];
}

/// <summary>What a listing shows of one message, read once by its mailbox actor (a delivered file never changes).</summary>
/// <param name="Id">The message's id: its POP3 UIDL.</param>
/// <param name="From">The first From address, or null.</param>
/// <param name="To">The To addresses.</param>
/// <param name="Cc">The Cc addresses.</param>
/// <param name="Subject">The decoded subject; empty if there is none.</param>
/// <param name="Date">The Date header, or null if it has none.</param>
/// <param name="Received">When the node stored it (from the file name), or null for a name without the time.</param>
/// <param name="Size">Octets stored.</param>
/// <param name="Snippet">The start of the body text, white space collapsed.</param>
/// <param name="HasAttachments">True if any part is an attachment.</param>
public sealed record MessageSummary(
    string Id,
    Correspondent? From,
    ImmutableArray<Correspondent> To,
    ImmutableArray<Correspondent> Cc,
    string Subject,
    DateTimeOffset? Date,
    DateTimeOffset? Received,
    long Size,
    string Snippet,
    bool HasAttachments)
{
    /// <summary>True if <paramref name="text"/> occurs in the sender, a recipient or the subject, in any case.</summary>
    public bool Matches(string text) =>
        Subject.Contains(text, StringComparison.OrdinalIgnoreCase)
        || (From?.Matches(text) ?? false)
        || To.Any(c => c.Matches(text))
        || Cc.Any(c => c.Matches(text));

    /// <summary>Parses the message file at <paramref name="path"/> with MimeKit; null if the file is gone.</summary>
    public static MessageSummary? Read(string path, string id, long size, DateTimeOffset? received, int snippetLength)
    {
        MimeMessage message;
        try
        {
            message = MimeMessage.Load(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (FormatException)
        {
            // Not a parsable message (an empty file, say): listed all the same, with nothing to show.
            return new MessageSummary(id, null, [], [], string.Empty, null, received, size, string.Empty, false);
        }

        using (message)
        {
            return new MessageSummary(
                id,
                Correspondent.From(message.From).FirstOrDefault(),
                Correspondent.From(message.To),
                Correspondent.From(message.Cc),
                message.Subject ?? string.Empty,
                DateOf(message),
                received,
                size,
                SnippetOf(message, snippetLength),
                message.Attachments.Any());
        }
    }

    /// <summary>The Date header, or null when the message has none.</summary>
    public static DateTimeOffset? DateOf(MimeMessage message) =>
        message.Headers.Contains(HeaderId.Date) && message.Date != DateTimeOffset.MinValue ? message.Date : null;

    /// <summary>The body text (the plain part, or the HTML part made text), white space collapsed, cut at <paramref name="length"/> characters.</summary>
    public static string SnippetOf(MimeMessage message, int length)
    {
        var text = message.TextBody ?? (message.HtmlBody is { } html ? TextOf(html) : string.Empty);
        var collapsed = new StringBuilder(Math.Min(text.Length, length + 1));
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (collapsed.Length > 0)
            {
                collapsed.Append(' ');
            }

            collapsed.Append(word);
            if (collapsed.Length >= length)
            {
                break;
            }
        }

        var cut = Math.Min(collapsed.Length, length);
        if (cut > 0 && cut < collapsed.Length && char.IsHighSurrogate(collapsed[cut - 1]))
        {
            cut--;
        }

        return collapsed.ToString(0, cut);
    }

    // The character data of an HTML body, scripts and styles left out: enough for a snippet.
    private static string TextOf(string html)
    {
        var text = new StringBuilder();
        using var reader = new StringReader(html);
        var tokenizer = new HtmlTokenizer(reader) { DecodeCharacterReferences = true };
        var hidden = 0;
        while (tokenizer.ReadNextToken(out var token))
        {
            switch (token)
            {
                case HtmlTagToken tag when tag.Id is HtmlTagId.Script or HtmlTagId.Style && !tag.IsEmptyElement:
                    hidden = Math.Max(0, hidden + (tag.IsEndTag ? -1 : 1));
                    break;
                case HtmlTagToken:
                    text.Append(' ');
                    break;
                case HtmlDataToken data when hidden == 0 && token is not HtmlScriptDataToken:
                    text.Append(data.Data);
                    break;
            }
        }

        return text.ToString();
    }
}
