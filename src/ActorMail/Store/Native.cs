using System.Runtime.InteropServices;

namespace ActorMail.Store;

/// <summary>The few POSIX calls .NET does not expose: hard links, fsync of a path, and syncfs.</summary>
internal static partial class Native
{
    private const int ORdonly = 0;
    private const int ODirectory = 0x10000;
    private const int OCloexec = 0x80000;

    /// <summary>errno for "file exists".</summary>
    public const int EEXIST = 17;

    /// <summary>errno for "no space left on device".</summary>
    public const int ENOSPC = 28;

    /// <summary>Creates <paramref name="newPath"/> as another name of <paramref name="existing"/>; fails if it exists.</summary>
    public static void Link(string existing, string newPath) => Check(link(existing, newPath), "link", newPath);

    /// <summary>Makes a directory's entries durable.</summary>
    public static void FsyncDirectory(string path) => WithDescriptor(path, ODirectory, fd => fsync(fd), "fsync");

    /// <summary>Makes a file's contents and size durable.</summary>
    public static void FsyncFile(string path) => WithDescriptor(path, 0, fd => fsync(fd), "fsync");

    /// <summary>Writes out everything waiting on the filesystem that holds <paramref name="path"/> (syncfs(2); it reports write-back errors since Linux 5.8).</summary>
    public static void SyncFileSystem(string path) => WithDescriptor(path, ODirectory, fd => syncfs(fd), "syncfs");

    private static void WithDescriptor(string path, int flags, Func<int, int> call, string name)
    {
        var fd = open(path, ORdonly | OCloexec | flags);
        Check(fd, "open", path);
        try
        {
            Check(call(fd), name, path);
        }
        finally
        {
            _ = close(fd);
        }
    }

    private static void Check(int result, string call, string path)
    {
        if (result < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new NativeIOException(errno, $"{call} {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    /// <summary>Sets the process's file-creation mask and returns the previous one.</summary>
    public static int SetUmask(int mask) => umask(mask);

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial int umask(int mask);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string oldpath, string newpath);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int syncfs(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close(int fd);
}

/// <summary>A failed POSIX call, with its errno.</summary>
public sealed class NativeIOException(int errno, string message) : IOException(message, errno)
{
    /// <summary>The errno the call set.</summary>
    public int Errno { get; } = errno;
}
