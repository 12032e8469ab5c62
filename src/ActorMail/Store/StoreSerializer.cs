using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;
using ActorMail.Protocol.Store;
using Akka.Actor;
using Akka.Serialization;
using SerializationException = System.Runtime.Serialization.SerializationException;
using static ActorMail.Store.StoreCommands;

namespace ActorMail.Store;

/// <summary>
/// Writes the store messages (<see cref="IStoreMessage"/>) that travel between cluster nodes in
/// a compact binary form of their own: a short manifest per type, then the fields in order.
/// Nothing here depends on .NET type names, so two nodes of one version always agree, and a type
/// without an entry fails loudly (<see cref="MailboxShards.CheckSerializers"/>) instead of
/// falling back to a general-purpose serializer.
/// </summary>
public sealed class StoreSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer's id in <c>akka.actor.serialization-identifiers</c>; ids below 100 are Akka's.</summary>
    public const int Id = 4161;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // One entry per message type: its manifest, how to write its fields, how to read them back.
    private static readonly Codec[] Codecs =
    [
        Of<DeliverMessage>("dm", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write(m.SpoolPath); w.Write(m.Size); w.Write(m.FileName); },
            r => new DeliverMessage(r.ReadString(), r.ReadInt64(), r.ReadString(), r.ReadInt64(), r.ReadString())),
        Of<MessageDelivered>("md", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write(m.FileName); },
            r => new MessageDelivered(r.ReadString(), r.ReadInt64(), r.ReadString())),
        Of<DeliveryFailed>("df", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write((int)m.Failure); w.Write(m.Reason); },
            r => new DeliveryFailed(r.ReadString(), r.ReadInt64(), ReadFailure(r), r.ReadString())),
        Of<RetractMessage>("rm", (w, m) => { w.Write(m.Mailbox); w.Write(m.FileName); },
            r => new RetractMessage(r.ReadString(), r.ReadString())),
        Of<OpenMaildrop>("om", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); },
            r => new OpenMaildrop(r.ReadString(), r.ReadInt64())),
        Of<MaildropOpened>("mo", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); WriteList(w, m.Messages, WriteDrop); },
            r => new MaildropOpened(r.ReadString(), r.ReadInt64(), Maildrop.Of(ReadList(r, ReadDrop)))),
        Of<MaildropLocked>("ml", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); },
            r => new MaildropLocked(r.ReadString(), r.ReadInt64())),
        Of<MaildropFailed>("mf", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write(m.Reason); },
            r => new MaildropFailed(r.ReadString(), r.ReadInt64(), r.ReadString())),
        Of<CommitDeletions>("cd", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); WriteList(w, m.FileNames, (x, s) => x.Write(s)); },
            r => new CommitDeletions(r.ReadString(), r.ReadInt64(), ReadList(r, x => x.ReadString()))),
        Of<DeletionsCommitted>("dc", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write(m.Removed); },
            r => new DeletionsCommitted(r.ReadString(), r.ReadInt64(), r.ReadInt32())),
        Of<DeletionsFailed>("dx", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write(m.Reason); },
            r => new DeletionsFailed(r.ReadString(), r.ReadInt64(), r.ReadString())),
        Of<MaildropLost>("lo", (w, m) => w.Write(m.Mailbox),
            r => new MaildropLost(r.ReadString())),
        Of<CountMessages>("cm", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); },
            r => new CountMessages(r.ReadString(), r.ReadInt64())),
        Of<MessagesCounted>("mc", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write(m.Messages); w.Write(m.Octets); },
            r => new MessagesCounted(r.ReadString(), r.ReadInt64(), r.ReadInt32(), r.ReadInt64())),
        Of<ListMessages>("lm", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); },
            r => new ListMessages(r.ReadString(), r.ReadInt64())),
        Of<MessagesListed>("ms", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); WriteList(w, m.Messages, WriteSummary); },
            r => new MessagesListed(r.ReadString(), r.ReadInt64(), ReadList(r, ReadSummary))),
        Of<ReadMessage>("rd", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write(m.Id); },
            r => new ReadMessage(r.ReadString(), r.ReadInt64(), r.ReadString())),
        Of<MessageRead>("mr", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write(m.Id); w.Write(m.Content.Length); w.Write(m.Content.AsSpan()); },
            r => new MessageRead(r.ReadString(), r.ReadInt64(), r.ReadString(), ImmutableCollectionsMarshal.AsImmutableArray(r.ReadBytes(r.ReadInt32())))),
        Of<MessageNotFound>("nf", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write(m.Id); },
            r => new MessageNotFound(r.ReadString(), r.ReadInt64(), r.ReadString())),
        Of<DeleteMessages>("de", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); WriteList(w, m.Ids, (x, s) => x.Write(s)); },
            r => new DeleteMessages(r.ReadString(), r.ReadInt64(), ReadList(r, x => x.ReadString()))),
        Of<DeleteAllMessages>("da", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); },
            r => new DeleteAllMessages(r.ReadString(), r.ReadInt64())),
        Of<MessagesDeleted>("mx", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); WriteList(w, m.Ids, (x, s) => x.Write(s)); },
            r => new MessagesDeleted(r.ReadString(), r.ReadInt64(), ReadList(r, x => x.ReadString()))),
        Of<RequestFailed>("rf", (w, m) => { w.Write(m.Mailbox); w.Write(m.CorrelationId); w.Write(m.Reason); },
            r => new RequestFailed(r.ReadString(), r.ReadInt64(), r.ReadString())),
    ];

    private static readonly FrozenDictionary<Type, Codec> ByType = Codecs.ToFrozenDictionary(c => c.Type);
    private static readonly FrozenDictionary<string, Codec> ByManifest = Codecs.ToFrozenDictionary(c => c.Manifest, StringComparer.Ordinal);

    public StoreSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    public override int Identifier => Id;

    /// <summary>The message types this serializer writes.</summary>
    public static IEnumerable<Type> Types => Codecs.Select(c => c.Type);

    public override string Manifest(object o) => CodecOf(o.GetType()).Manifest;

    public override byte[] ToBinary(object obj)
    {
        var codec = CodecOf(obj.GetType());
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Utf8, leaveOpen: true))
        {
            codec.Write(writer, obj);
        }

        return buffer.ToArray();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!ByManifest.TryGetValue(manifest, out var codec))
        {
            throw new SerializationException($"no store message has the manifest '{manifest}'");
        }

        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false), Utf8);
        return codec.Read(reader);
    }

    private static Codec CodecOf(Type type) =>
        ByType.TryGetValue(type, out var codec) ? codec : throw new ArgumentException($"{type.FullName} is not a store message this serializer knows", nameof(type));

    private static Codec Of<T>(string manifest, Action<BinaryWriter, T> write, Func<BinaryReader, T> read)
        where T : notnull =>
        new(typeof(T), manifest, (w, o) => write(w, (T)o), r => read(r));

    private static StoreFailure ReadFailure(BinaryReader r)
    {
        var value = (StoreFailure)r.ReadInt32();
        return Enum.IsDefined(value) ? value : throw new SerializationException($"unknown store failure {(int)value}");
    }

    private static void WriteList<T>(BinaryWriter w, ImmutableArray<T> items, Action<BinaryWriter, T> write)
    {
        w.Write(items.IsDefault ? 0 : items.Length);
        foreach (var item in items.IsDefault ? [] : items)
        {
            write(w, item);
        }
    }

    // A maildrop goes as the list of its messages: the same octets as before it was held compactly.
    private static void WriteList<T>(BinaryWriter w, IReadOnlyList<T> items, Action<BinaryWriter, T> write)
    {
        w.Write(items.Count);
        foreach (var item in items)
        {
            write(w, item);
        }
    }

    private static ImmutableArray<T> ReadList<T>(BinaryReader r, Func<BinaryReader, T> read)
    {
        var count = r.ReadInt32();
        var items = ImmutableArray.CreateBuilder<T>(count);
        for (var i = 0; i < count; i++)
        {
            items.Add(read(r));
        }

        return items.MoveToImmutable();
    }

    private static void WriteDrop(BinaryWriter w, DropMessage d)
    {
        w.Write(d.FileName);
        w.Write(d.Uid);
        w.Write(d.Size);
    }

    private static DropMessage ReadDrop(BinaryReader r) => new(r.ReadString(), r.ReadString(), r.ReadInt64());

    private static void WriteSummary(BinaryWriter w, MessageSummary s)
    {
        w.Write(s.Id);
        w.Write(s.From is not null);
        if (s.From is not null)
        {
            WriteCorrespondent(w, s.From);
        }

        WriteList(w, s.To, WriteCorrespondent);
        WriteList(w, s.Cc, WriteCorrespondent);
        w.Write(s.Subject);
        WriteTime(w, s.Date);
        WriteTime(w, s.Received);
        w.Write(s.Size);
        w.Write(s.Snippet);
        w.Write(s.HasAttachments);
    }

    private static MessageSummary ReadSummary(BinaryReader r) => new(
        Id: r.ReadString(),
        From: r.ReadBoolean() ? ReadCorrespondent(r) : null,
        To: ReadList(r, ReadCorrespondent),
        Cc: ReadList(r, ReadCorrespondent),
        Subject: r.ReadString(),
        Date: ReadTime(r),
        Received: ReadTime(r),
        Size: r.ReadInt64(),
        Snippet: r.ReadString(),
        HasAttachments: r.ReadBoolean());

    private static void WriteCorrespondent(BinaryWriter w, Correspondent c)
    {
        w.Write(c.Name);
        w.Write(c.Address);
    }

    private static Correspondent ReadCorrespondent(BinaryReader r) => new(r.ReadString(), r.ReadString());

    // A time keeps its offset: ticks of the local time, then the offset in minutes.
    private static void WriteTime(BinaryWriter w, DateTimeOffset? t)
    {
        w.Write(t.HasValue);
        if (t is { } time)
        {
            w.Write(time.Ticks);
            w.Write((short)time.TotalOffsetMinutes);
        }
    }

    private static DateTimeOffset? ReadTime(BinaryReader r) =>
        r.ReadBoolean() ? new DateTimeOffset(r.ReadInt64(), TimeSpan.FromMinutes(r.ReadInt16())) : null;

    private sealed record Codec(Type Type, string Manifest, Action<BinaryWriter, object> Write, Func<BinaryReader, object> Read);
}
