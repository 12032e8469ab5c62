using ActorMail.Protocol.Mail;

namespace ActorMail.Store;

/// <summary>
/// One user's Maildir (<c>&lt;root&gt;/&lt;user&gt;/{tmp,new,cur}</c>): the file operations the mailbox
/// actor performs, each safe against a crash at any point.
/// </summary>
public sealed class Maildir
{
    private static readonly int ProcessId = Environment.ProcessId;
    private static readonly string Host = Environment.MachineName;
    private static long _sequence;

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

    /// <summary>Where files are made before they are complete.</summary>
    public string Tmp { get; }

    /// <summary>Delivered, not yet seen by a reader.</summary>
    public string New { get; }

    /// <summary>Seen by a reader.</summary>
    public string Cur { get; }

    /// <summary>Creates tmp/, new/ and cur/ if they are missing.</summary>
    public void EnsureExists()
    {
        Directory.CreateDirectory(Tmp);
        Directory.CreateDirectory(New);
        Directory.CreateDirectory(Cur);
    }

    /// <summary>
    /// Delivers a complete, already fsynced spool file: a new name for it in tmp/ (exclusive: link
    /// fails if the name exists), renamed into new/, then new/ fsynced. Returns the file name.
    /// </summary>
    public string Deliver(string spoolPath, long size)
    {
        var name = MaildirName.Build(DateTimeOffset.UtcNow, ProcessId, Interlocked.Increment(ref _sequence), Host, size);
        var tmp = Path.Combine(Tmp, name);
        Native.Link(spoolPath, tmp);
        try
        {
            Native.Rename(tmp, Path.Combine(New, name));
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }

        Native.FsyncDirectory(New);
        return name;
    }

    /// <summary>Removes a delivered file that a failed multi-recipient delivery takes back; true if it was there.</summary>
    public bool Retract(string name)
    {
        var path = Path.Combine(New, name);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        Native.FsyncDirectory(New);
        return true;
    }

    /// <summary>Deletes every file in tmp/: none is complete, since only a running delivery uses it.</summary>
    public int SweepTmp()
    {
        if (!Directory.Exists(Tmp))
        {
            return 0;
        }

        var count = 0;
        foreach (var file in Directory.EnumerateFiles(Tmp))
        {
            File.Delete(file);
            count++;
        }

        return count;
    }
}
