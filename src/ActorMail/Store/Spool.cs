namespace ActorMail.Store;

/// <summary>
/// The file one SMTP session streams a message body into (under <c>&lt;root&gt;/.spool</c>, on the same
/// filesystem as the Maildirs so delivery is a hard link). Owned by one session actor, never shared.
/// </summary>
public sealed class Spool : IDisposable
{
    /// <summary>The spool folder's name under the mail root; no mailbox name can start with a dot.</summary>
    public const string FolderName = ".spool";

    private FileStream? _stream;

    private Spool(string path, FileStream stream)
    {
        Path = path;
        _stream = stream;
    }

    /// <summary>The spool file's full path.</summary>
    public string Path { get; }

    /// <summary>Octets written so far.</summary>
    public long Length { get; private set; }

    /// <summary>The first write error, if any; later writes are skipped.</summary>
    public IOException? Failure { get; private set; }

    /// <summary>Separates a spool file's name from the node that owns it.</summary>
    public const char OwnerSeparator = '~';

    /// <summary>
    /// Creates a new spool file exclusively (the folder is made at start, or here if it went
    /// missing). On a mail root that several cluster nodes share, <paramref name="owner"/> (the
    /// node's id) ends the name, so that each node's start-up sweep knows its own files.
    /// </summary>
    public static Spool Create(string dataRoot, string name, string? owner = null)
    {
        var folder = System.IO.Path.Combine(dataRoot, FolderName);
        var path = System.IO.Path.Combine(folder, owner is null ? name : $"{name}{OwnerSeparator}{owner}");
        FileStream stream;
        try
        {
            stream = Open(path);
        }
        catch (DirectoryNotFoundException)
        {
            Folders.CreateOwnerOnly(folder);
            stream = Open(path);
        }

        return new Spool(path, stream);
    }

    // A small buffer: it gathers the trace headers and a small body into one write(2), while the
    // decoded chunks of a large body (up to one read, 64 KiB) bypass it. A 64 KiB buffer per open
    // spool was most of the memory of 10,000 transactions in flight.
    private static FileStream Open(string path) =>
        new(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 4096);

    /// <summary>Deletes every leftover spool file: on a mail root of its own, none belongs to a running session at start.</summary>
    public static int Sweep(string dataRoot) => DeleteFilesIn(System.IO.Path.Combine(dataRoot, FolderName), _ => true);

    /// <summary>
    /// On a shared mail root: deletes this node's own leftovers (named with <paramref name="owner"/>)
    /// and any file untouched since <paramref name="staleBefore"/> (a node that never came back),
    /// never a file another live node is writing.
    /// </summary>
    public static int Sweep(string dataRoot, string owner, DateTime staleBefore) =>
        DeleteFilesIn(System.IO.Path.Combine(dataRoot, FolderName), file =>
            OwnerOf(file.Name) == owner || file.LastWriteTimeUtc < staleBefore);

    private static string? OwnerOf(string name)
    {
        var at = name.LastIndexOf(OwnerSeparator);
        return at < 0 ? null : name[(at + 1)..];
    }

    /// <summary>Deletes the files directly in <paramref name="folder"/> that <paramref name="sweep"/> picks, if it exists; returns how many.</summary>
    internal static int DeleteFilesIn(string folder, Func<FileInfo, bool> sweep)
    {
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        var count = 0;
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles().Where(sweep))
        {
            file.Delete();
            count++;
        }

        return count;
    }

    /// <summary>Appends bytes; an I/O error is kept in <see cref="Failure"/> rather than thrown.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (Failure is not null || _stream is null || bytes.IsEmpty)
        {
            return;
        }

        try
        {
            _stream.Write(bytes);
            Length += bytes.Length;
        }
        catch (IOException e)
        {
            Failure = e;
        }
    }

    /// <summary>
    /// Hands everything written to the operating system and closes the file; false (with
    /// <see cref="Failure"/> set) on error. Not yet durable: the mailbox actor makes it so, a
    /// batch at a time, before the message is linked into new/.
    /// </summary>
    public bool Complete()
    {
        if (Failure is null && _stream is not null)
        {
            try
            {
                _stream.Flush();
            }
            catch (IOException e)
            {
                Failure = e;
            }
        }

        try
        {
            _stream?.Dispose();
        }
        catch (IOException e)
        {
            // Disposing flushes what a failed flush left in the buffer, and fails the same way.
            Failure ??= e;
        }

        _stream = null;
        return Failure is null;
    }

    /// <summary>Closes and deletes the file: after delivery (the Maildirs hold their own links) or on refusal.</summary>
    public void Dispose()
    {
        try
        {
            _stream?.Dispose();
        }
        catch (IOException)
        {
            // A close error on a file about to be deleted changes nothing.
        }

        _stream = null;
        File.Delete(Path);
    }
}
