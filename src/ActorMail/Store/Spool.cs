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

    /// <summary>Creates a new spool file exclusively (the folder is made at start, or here if it went missing).</summary>
    public static Spool Create(string dataRoot, string name)
    {
        var folder = System.IO.Path.Combine(dataRoot, FolderName);
        var path = System.IO.Path.Combine(folder, name);
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

    /// <summary>Deletes every leftover spool file: none belongs to a running session at start.</summary>
    public static int Sweep(string dataRoot) => DeleteFilesIn(System.IO.Path.Combine(dataRoot, FolderName));

    /// <summary>Deletes every file directly in <paramref name="folder"/>, if it exists; returns how many.</summary>
    internal static int DeleteFilesIn(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        var count = 0;
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            File.Delete(file);
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
