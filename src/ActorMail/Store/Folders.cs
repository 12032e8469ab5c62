namespace ActorMail.Store;

/// <summary>Creates the node's folders with exactly the owner-only mode, whatever the parent folder's bits.</summary>
internal static class Folders
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Creates <paramref name="path"/>, and each missing folder above it, as 0700. mkdir(2) alone
    /// cannot promise that: it applies the umask, and under a setgid folder (Debian's /var/mail is
    /// 2775 root:mail) the new folder inherits the setgid bit; chmod(2) afterwards sets the mode
    /// exactly. A folder that already exists keeps the mode it has.
    /// </summary>
    public static void CreateOwnerOnly(string path)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        if (Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path))) is { } parent)
        {
            CreateOwnerOnly(parent);
        }

        // Two processes (the SMTP and the POP3 role) may create the same folder at once: both
        // calls succeed, and both set the same mode.
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, OwnerOnly);
    }
}
