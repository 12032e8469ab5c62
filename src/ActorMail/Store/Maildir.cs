using ActorMail.Protocol.Store;
using System.IO.Enumeration;
using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Pop3;

namespace ActorMail.Store;

/// <summary>
/// One user's Maildir (<c>&lt;root&gt;/&lt;user&gt;/{tmp,new,cur}</c>): the file operations the mailbox
/// actor performs, each safe against a crash at any point.
/// </summary>
public sealed class Maildir
{
    // Maildrop entries name their folder: "new/<name>" or "cur/<name>".
    private const string NewFolder = "new/";
    private const string CurFolder = "cur/";
    private static readonly int ProcessId = Environment.ProcessId;
    private static readonly string Host = Environment.MachineName;
    private static long _sequence;

    // Every file, hidden ones included, as Directory.EnumerateFiles lists them.
    private static readonly EnumerationOptions ListAll = new() { AttributesToSkip = 0 };

    /// <summary>Opens (and creates if needed) the Maildir of <paramref name="mailbox"/> under <paramref name="root"/>.</summary>
    public Maildir(string root, string mailbox)
    {
        if (!MailboxName.IsValid(mailbox))
        {
            throw new ArgumentException($"not a valid mailbox name: {mailbox}", nameof(mailbox));
        }

        var fullRoot = Path.GetFullPath(root);
        Root = Path.GetFullPath(Path.Combine(fullRoot, mailbox));
        if (!Root.StartsWith(fullRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"mailbox path leaves the mail root: {mailbox}", nameof(mailbox));
        }

        Tmp = Path.Combine(Root, "tmp");
        New = Path.Combine(Root, "new");
        Cur = Path.Combine(Root, "cur");
    }

    /// <summary>The user's directory.</summary>
    public string Root { get; }

    /// <summary>Where Maildir writers make files before they are complete (ActorMail links whole files straight into new/; tmp/ is kept for the layout and swept at start).</summary>
    public string Tmp { get; }

    /// <summary>Delivered, not yet seen by a reader.</summary>
    public string New { get; }

    /// <summary>Seen by a reader.</summary>
    public string Cur { get; }

    /// <summary>Creates tmp/, new/ and cur/ (and the user's directory) as 0700 if they are missing.</summary>
    public void EnsureExists()
    {
        Folders.CreateOwnerOnly(Tmp);
        Folders.CreateOwnerOnly(New);
        Folders.CreateOwnerOnly(Cur);
    }

    /// <summary>
    /// A new unique Maildir name for a message of <paramref name="size"/> octets, made by the
    /// session that delivers it: every recipient's copy and every request asked again carry the
    /// same name, so a mailbox can tell a copy it already holds.
    /// </summary>
    public static string NewName(long size) =>
        MaildirName.Build(DateTimeOffset.UtcNow, ProcessId, Interlocked.Increment(ref _sequence), Host, size);

    /// <summary>
    /// Delivers a complete, durable spool file: a hard link named <paramref name="name"/> in new/.
    /// A link never replaces an existing name and shows the file whole, which is what the
    /// write-in-tmp-then-rename step of Maildir exists for, so tmp/ is not needed. The entry is
    /// durable only after the mailbox actor's sync of the batch. False if new/ already holds the
    /// name: an earlier request for the same delivery (perhaps served on a node since gone) linked it.
    /// </summary>
    public bool Deliver(string spoolPath, string name)
    {
        if (name.Length == 0 || name[0] == '.' || Path.GetFileName(name) != name)
        {
            throw new IOException($"not a Maildir file name: {name}");
        }

        try
        {
            Native.Link(spoolPath, Path.Combine(New, name));
            return true;
        }
        catch (NativeIOException e) when (e.Errno == Native.EEXIST)
        {
            return false;
        }
    }

    /// <summary>Makes every entry linked into new/ so far durable.</summary>
    public void SyncNew() => Native.FsyncDirectory(New);

    /// <summary>
    /// Removes a delivered file that a failed transaction takes back, from new/ or, if a reader
    /// has already moved it, from cur/; true if it was found.
    /// </summary>
    public bool Retract(string name)
    {
        foreach (var (dir, file) in new[] { (New, name), (Cur, name + ":2,") })
        {
            var path = Path.Combine(dir, file);
            if (File.Exists(path))
            {
                File.Delete(path);
                Native.FsyncDirectory(dir);
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Lists the maildrop for a POP3 session: every message in new/ and cur/, in delivery order
    /// (by the unique part of the name). Nothing is renamed: a POP3 snapshot is this list, and a
    /// message is read and deleted where it lies. Each entry's file name is "new/&lt;name&gt;" or
    /// "cur/&lt;name&gt;"; sizes come from <c>S=</c> in the names, so no message is opened.
    /// </summary>
    public Maildrop OpenDrop()
    {
        EnsureExists();
        var drop = new Maildrop.Builder();
        Scan(New, NewFolder, drop);
        Scan(Cur, CurFolder, drop);
        return drop.Build(ordered: true);
    }

    /// <summary>The modification times of new/ and cur/: a listing made at these times is still the maildrop while they stay.</summary>
    public (DateTime New, DateTime Cur) FolderTimes() => (Directory.GetLastWriteTimeUtc(New), Directory.GetLastWriteTimeUtc(Cur));

    /// <summary>
    /// The path of a maildrop entry ("new/&lt;name&gt;", "cur/&lt;name&gt;", or a bare name, taken as
    /// cur/). Only the last path segment of the name is used, so no entry can point elsewhere.
    /// </summary>
    public string MessagePath(string fileName)
    {
        var folder = fileName.StartsWith(NewFolder, StringComparison.Ordinal) ? New : Cur;
        return Path.Combine(folder, Path.GetFileName(fileName));
    }

    /// <summary>
    /// The maildrop entry whose UIDL is <paramref name="id"/>, or null. The id must pass
    /// <see cref="MessageId.IsValid"/> (one path element, no <c>..</c>) before it names a file:
    /// ActorMail's own deliveries are found at new/&lt;id&gt; at once, anything else by listing.
    /// </summary>
    public DropMessage? Find(string id)
    {
        if (!MessageId.IsValid(id))
        {
            return null;
        }

        if (File.Exists(Path.Combine(New, id)))
        {
            return new DropMessage(NewFolder + id, id, SizeOf(New, id));
        }

        return OpenDrop().FirstOrDefault(m => m.Uid == id);
    }

    /// <summary>Removes these maildrop entries and makes the removal durable; returns the entries that were there.</summary>
    public IReadOnlyList<string> Remove(IEnumerable<string> fileNames)
    {
        var removed = new List<string>();
        var touched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in fileNames)
        {
            var path = MessagePath(name);
            if (File.Exists(path))
            {
                File.Delete(path);
                touched.Add(Path.GetDirectoryName(path)!);
                removed.Add(name);
            }
        }

        foreach (var dir in touched)
        {
            Native.FsyncDirectory(dir);
        }

        return removed;
    }

    // Every file of one folder into the listing, straight from the directory's entries: no
    // string per file, and no stat unless a name has no S=.
    private static void Scan(string dir, string folder, Maildrop.Builder drop)
    {
        var files = new FileSystemEnumerable<bool>(dir, (ref FileSystemEntry e) =>
        {
            drop.AddFile(folder, e.FileName, MaildirName.TryGetSize(e.FileName, out var size) ? size : e.Length);
            return true;
        }, ListAll)
        {
            ShouldIncludePredicate = static (ref FileSystemEntry e) => !e.IsDirectory,
        };
        foreach (var _ in files)
        {
        }
    }

    private static long SizeOf(string dir, string name) =>
        MaildirName.TryGetSize(name, out var size) ? size : new FileInfo(Path.Combine(dir, name)).Length;

    /// <summary>Deletes every file in tmp/ at start: ActorMail writes none there now, so any is an interrupted delivery by an earlier build.</summary>
    public int SweepTmp() => Spool.DeleteFilesIn(Tmp, _ => true);

    /// <summary>On a shared mail root, deletes only the files in tmp/ untouched since <paramref name="staleBefore"/> (Maildir's rule for a writer it cannot ask).</summary>
    public int SweepTmp(DateTime staleBefore) => Spool.DeleteFilesIn(Tmp, f => f.LastWriteTimeUtc < staleBefore);
}
