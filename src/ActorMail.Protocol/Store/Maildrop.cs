using System.Collections;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using ActorMail.Protocol.Mail;

namespace ActorMail.Protocol.Store;

/// <summary>
/// A maildrop listing held compactly: every file name as UTF-8 in shared blocks and one small
/// entry per message, so a mailbox of 100,000 messages costs a few megabytes, not the two
/// strings and one object per message a list of <see cref="DropMessage"/> would. Immutable;
/// a <see cref="DropMessage"/> is made only when one message is asked for.
/// </summary>
[CollectionBuilder(typeof(Maildrop), nameof(Create))]
public sealed class Maildrop : IReadOnlyList<DropMessage>
{
    // Blocks small enough to stay off the large-object heap, so a listing never copies itself to grow.
    private const int BlockSize = 64 * 1024;

    private readonly byte[][] _blocks;
    private readonly Entry[] _entries;

    private Maildrop(byte[][] blocks, Entry[] entries, long octets)
    {
        _blocks = blocks;
        _entries = entries;
        Octets = octets;
    }

    /// <summary>A maildrop with no message.</summary>
    public static Maildrop Empty { get; } = new([], [], 0);

    /// <summary>Messages in the listing.</summary>
    public int Count => _entries.Length;

    /// <summary>Octets of all the messages together.</summary>
    public long Octets { get; }

    /// <summary>The message at <paramref name="index"/> (from 0), made on demand.</summary>
    public DropMessage this[int index] => new(FileNameOf(index), UidOf(index), SizeOf(index));

    /// <summary>Builds a listing from messages already made (tests, and a listing read off the wire).</summary>
    public static Maildrop Of(IEnumerable<DropMessage> messages) => Create([.. messages]);

    /// <summary>Builds a listing from a collection expression of messages.</summary>
    public static Maildrop Create(ReadOnlySpan<DropMessage> messages)
    {
        var builder = new Builder(messages.Length);
        foreach (var m in messages)
        {
            builder.Add(m.FileName, m.Uid, m.Size);
        }

        return builder.Build();
    }

    /// <summary>The size in octets of the message at <paramref name="index"/>.</summary>
    public long SizeOf(int index) => _entries[index].Size;

    /// <summary>The file name of the message at <paramref name="index"/> (<c>new/…</c> or <c>cur/…</c>).</summary>
    public string FileNameOf(int index) => Encoding.UTF8.GetString(NameBytes(index));

    /// <summary>The UIDL of the message at <paramref name="index"/>.</summary>
    public string UidOf(int index) => Encoding.ASCII.GetString(UidBytes(index));

    /// <summary>The UIDL of the message at <paramref name="index"/> as its ASCII octets, for rendering without a string.</summary>
    public ReadOnlySpan<byte> UidBytes(int index)
    {
        ref readonly var e = ref _entries[index];
        return _blocks[e.Block].AsSpan(e.Uid, e.UidLength);
    }

    /// <inheritdoc/>
    public IEnumerator<DropMessage> GetEnumerator()
    {
        for (var i = 0; i < _entries.Length; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private ReadOnlySpan<byte> NameBytes(int index)
    {
        ref readonly var e = ref _entries[index];
        return _blocks[e.Block].AsSpan(e.Name, e.NameLength);
    }

    // 24 bytes a message. The UID is usually the file name less its folder and flags, so it
    // points into the name; only a UID made from a hash is stored beside it.
    [StructLayout(LayoutKind.Auto)]
    private readonly record struct Entry(int Block, int Name, ushort NameLength, byte FolderLength, int Uid, byte UidLength, long Size);

    // Sorting 100,000 names is most of a large maildrop's listing time: a struct comparer lets the
    // sort call it without a delegate, and a UID that is the unique part gives its length at once.
    private readonly struct DeliveryOrder(byte[][] blocks) : IComparer<Entry>
    {
        public int Compare(Entry a, Entry b)
        {
            var x = blocks[a.Block].AsSpan(a.Name + a.FolderLength, a.NameLength - a.FolderLength);
            var y = blocks[b.Block].AsSpan(b.Name + b.FolderLength, b.NameLength - b.FolderLength);
            var unique = Unique(a, x).SequenceCompareTo(Unique(b, y));
            if (unique != 0)
            {
                return unique;
            }

            var whole = x.SequenceCompareTo(y);

            // "new/" after "cur/" as octets: reversed, so that new/ comes first.
            return whole != 0 ? whole : blocks[b.Block].AsSpan(b.Name, b.FolderLength).SequenceCompareTo(blocks[a.Block].AsSpan(a.Name, a.FolderLength));
        }

        private static ReadOnlySpan<byte> Unique(in Entry e, ReadOnlySpan<byte> name)
        {
            if (e.Uid == e.Name + e.FolderLength && (e.UidLength == name.Length || name[e.UidLength] == (byte)':'))
            {
                return name[..e.UidLength];
            }

            var colon = name.IndexOf((byte)':');
            return colon < 0 ? name : name[..colon];
        }
    }

    /// <summary>Collects messages, then makes the listing once.</summary>
    public sealed class Builder
    {
        private readonly List<byte[]> _blocks = [];
        private readonly List<Entry> _entries;
        private byte[] _block = [];
        private int _used;
        private long _octets;

        /// <summary>A builder with room for <paramref name="capacity"/> messages before it grows.</summary>
        public Builder(int capacity = 0) => _entries = new List<Entry>(capacity);

        /// <summary>Messages added so far.</summary>
        public int Count => _entries.Count;

        /// <summary>Adds one message by its entry name (<c>folder/name</c>, or a bare name) and UID: 1 to 70 ASCII characters (RFC 1939 §7).</summary>
        public void Add(string fileName, string uid, long size)
        {
            var slash = fileName.IndexOf('/', StringComparison.Ordinal) + 1;
            Add(fileName.AsSpan(0, slash), fileName.AsSpan(slash), uid, size);
        }

        /// <summary>
        /// Adds a file of a Maildir folder as the directory lists it, without making a string:
        /// its UID is the unique part of the name, or the hash <see cref="MaildirName.Uid"/> makes.
        /// </summary>
        /// <param name="folder">The entry's folder and its slash: <c>new/</c> or <c>cur/</c>.</param>
        /// <param name="name">The file's name.</param>
        /// <param name="size">Its size in octets.</param>
        public void AddFile(string folder, ReadOnlySpan<char> name, long size)
        {
            if (MaildirName.IsOwnUid(name))
            {
                Add(folder, name, MaildirName.UniqueSpan(name), size);
            }
            else
            {
                Add(folder, name, MaildirName.Uid(name.ToString()), size);
            }
        }

        /// <summary>The listing of every message added, in the order added.</summary>
        public Maildrop Build() => Build(ordered: false);

        /// <summary>
        /// The listing, in delivery order if <paramref name="ordered"/>: by the unique part of the
        /// name (which begins with the delivery time), then the whole name, new/ before cur/.
        /// Names compare as UTF-8 octets, which is code point order.
        /// </summary>
        public Maildrop Build(bool ordered)
        {
            if (_entries.Count == 0)
            {
                return Empty;
            }

            var blocks = _blocks.ToArray();
            var entries = _entries.ToArray();
            if (ordered)
            {
                entries.AsSpan().Sort(new DeliveryOrder(blocks));
            }

            return new(blocks, entries, _octets);
        }

        private void Add(ReadOnlySpan<char> folder, ReadOnlySpan<char> name, ReadOnlySpan<char> uid, long size)
        {
            var folderLength = Encoding.UTF8.GetByteCount(folder);
            var nameLength = folderLength + Encoding.UTF8.GetByteCount(name);
            if (nameLength > ushort.MaxValue || folderLength > byte.MaxValue || uid.Length is 0 or > MessageId.MaxLength || !Ascii.IsValid(uid))
            {
                throw new ArgumentException($"not a maildrop entry: {folder}{name}", nameof(name));
            }

            // A UID that begins the name shares the name's octets (where those are ASCII, as a UID's are).
            var shared = name.StartsWith(uid, StringComparison.Ordinal);
            var need = nameLength + (shared ? 0 : uid.Length);
            if (_used + need > _block.Length)
            {
                _block = new byte[Math.Max(BlockSize, need)];
                _blocks.Add(_block);
                _used = 0;
            }

            var at = _used;
            _used += Encoding.UTF8.GetBytes(folder, _block.AsSpan(_used));
            _used += Encoding.UTF8.GetBytes(name, _block.AsSpan(_used));
            var uidAt = at + folderLength;
            if (!shared)
            {
                uidAt = _used;
                _used += Encoding.ASCII.GetBytes(uid, _block.AsSpan(uidAt));
            }

            _entries.Add(new Entry(_blocks.Count - 1, at, (ushort)nameLength, (byte)folderLength, uidAt, (byte)uid.Length, size));
            _octets += size;
        }
    }
}
