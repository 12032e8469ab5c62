using System.Collections.Immutable;
using System.Runtime.InteropServices;
using ActorMail.Store;
using MimeKit;

namespace ActorMail.Http;

/// <summary>One header field as stored, its value decoded.</summary>
public sealed record HeaderField(string Name, string Value);

/// <summary>One attachment of a message, by its index among the message's attachments.</summary>
public sealed record AttachmentInfo(int Index, string? FileName, string ContentType, long Size);

/// <summary>The JSON of GET .../messages/{id}.</summary>
public sealed record MessageDetail(
    string Id,
    string Mailbox,
    Correspondent? From,
    ImmutableArray<Correspondent> To,
    ImmutableArray<Correspondent> Cc,
    string Subject,
    DateTimeOffset? Date,
    long Size,
    ImmutableArray<HeaderField> Headers,
    string? Text,
    string? Html,
    ImmutableArray<AttachmentInfo> Attachments);

/// <summary>An attachment's decoded octets and how to serve them.</summary>
public sealed record AttachmentContent(byte[] Content, string ContentType, string? FileName);

/// <summary>
/// Reads a stored message with MimeKit for the HTTP side, off the store's threads: the mailbox
/// actor hands over the octets, and parsing them costs CPU on the request's thread only.
/// </summary>
public static class MessageView
{
    /// <summary>Headers, text, HTML and the list of attachments.</summary>
    public static MessageDetail Detail(string mailbox, string id, ImmutableArray<byte> content)
    {
        using var message = Parse(content);
        if (message is null)
        {
            return new MessageDetail(id, mailbox, null, [], [], string.Empty, null, content.Length, [], null, null, []);
        }

        return new MessageDetail(
            id,
            mailbox,
            Correspondent.From(message.From).FirstOrDefault(),
            Correspondent.From(message.To),
            Correspondent.From(message.Cc),
            message.Subject ?? string.Empty,
            MessageSummary.DateOf(message),
            content.Length,
            [.. message.Headers.Select(h => new HeaderField(h.Field, h.Value))],
            message.TextBody,
            message.HtmlBody,
            [.. message.Attachments.Select((a, i) => new AttachmentInfo(i, FileNameOf(a), ContentTypeOf(a), Decode(a).LongLength))]);
    }

    /// <summary>The decoded attachment at <paramref name="index"/>, or null if there is none.</summary>
    public static AttachmentContent? Attachment(ImmutableArray<byte> content, int index)
    {
        using var message = Parse(content);
        var attachment = message?.Attachments.ElementAtOrDefault(index);
        return attachment is null ? null : new AttachmentContent(Decode(attachment), ContentTypeOf(attachment), FileNameOf(attachment));
    }

    private static MimeMessage? Parse(ImmutableArray<byte> content)
    {
        // The actor handed this array over; it is read here, never written.
        using var stream = new MemoryStream(ImmutableCollectionsMarshal.AsArray(content) ?? [], writable: false);
        try
        {
            return MimeMessage.Load(stream);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string? FileNameOf(MimeEntity entity) => entity switch
    {
        MimePart part => part.FileName,
        _ => entity.ContentDisposition?.FileName ?? entity.ContentType.Name,
    };

    private static string ContentTypeOf(MimeEntity entity) =>
        entity.ContentType.Charset is { } charset ? $"{entity.ContentType.MimeType}; charset={charset}" : entity.ContentType.MimeType;

    private static byte[] Decode(MimeEntity entity)
    {
        using var decoded = new MemoryStream();
        switch (entity)
        {
            case MimePart { Content: { } body }:
                body.DecodeTo(decoded);
                break;
            case MessagePart { Message: { } inner }:
                inner.WriteTo(decoded);
                break;
        }

        return decoded.ToArray();
    }
}
