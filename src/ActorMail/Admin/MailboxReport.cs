using System.Globalization;
using System.Text;
using System.Text.Json;
using ActorMail.Protocol.Mail;

namespace ActorMail.Admin;

/// <summary>One mailbox's counts, read from file names alone.</summary>
public sealed record MailboxSummary(string Mailbox, int New, int Cur, long Octets, DateTimeOffset? Oldest, DateTimeOffset? Newest);

/// <summary>
/// The admin listing of every mailbox: message counts, octets and delivery times computed from
/// Maildir file names (<c>S=</c> and the leading seconds) without opening a message. Safe while the
/// node runs: it only lists directories.
/// </summary>
public static class MailboxReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Lists the mailboxes under <paramref name="root"/>, in name order.</summary>
    public static IReadOnlyList<MailboxSummary> Scan(string root)
    {
        if (!Directory.Exists(root))
        {
            return [];
        }

        var result = new List<MailboxSummary>();
        foreach (var dir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            if (!MailboxName.IsValid(name))
            {
                continue;
            }

            var newFiles = Files(Path.Combine(dir, "new"));
            var curFiles = Files(Path.Combine(dir, "cur"));
            long octets = 0;
            DateTimeOffset? oldest = null, newest = null;
            foreach (var file in newFiles.Concat(curFiles))
            {
                if (MaildirName.TryGetSize(file, out var size))
                {
                    octets += size;
                }

                if (MaildirName.TryGetTime(file, out var time))
                {
                    oldest = oldest is null || time < oldest ? time : oldest;
                    newest = newest is null || time > newest ? time : newest;
                }
            }

            result.Add(new MailboxSummary(name, newFiles.Count, curFiles.Count, octets, oldest, newest));
        }

        return result;
    }

    /// <summary>A fixed-width table with a header line.</summary>
    public static string ToTable(IReadOnlyList<MailboxSummary> report)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"MAILBOX",-20} {"NEW",6} {"CUR",6} {"OCTETS",12}  {"OLDEST",-20}  {"NEWEST",-20}");
        foreach (var m in report)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{m.Mailbox,-20} {m.New,6} {m.Cur,6} {m.Octets,12}  {Time(m.Oldest),-20}  {Time(m.Newest),-20}");
        }

        return sb.ToString();
    }

    /// <summary>The same as a JSON array.</summary>
    public static string ToJson(IReadOnlyList<MailboxSummary> report) => JsonSerializer.Serialize(report, Json) + Environment.NewLine;

    private static string Time(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-";

    private static List<string> Files(string dir) =>
        Directory.Exists(dir) ? Directory.EnumerateFiles(dir).Select(f => Path.GetFileName(f)).ToList() : [];
}
