using System.Collections.Immutable;
using System.Text;
using ActorMail.Protocol.Pop3;
using ActorMail.Protocol.Store;

namespace ActorMail.Protocol.Tests.Pop3;

public class Pop3ListingTests
{
    private static readonly Maildrop Three =
    [
        new DropMessage("new/a1", "a1", 10),
        new DropMessage("cur/b2:2,S", "b2", 2048),
        new DropMessage("new/c3", "c3", 0),
    ];

    // The listing as RFC 1939 shows it, written the plain way: what the chunked rendering must equal.
    private static string Expected(Maildrop drop, ImmutableHashSet<int> deleted, ListingKind kind)
    {
        var text = new StringBuilder();
        for (var i = 0; i < drop.Count; i++)
        {
            if (!deleted.Contains(i + 1))
            {
                text.Append(i + 1).Append(' ').Append(kind == ListingKind.Sizes ? drop.SizeOf(i).ToString(System.Globalization.CultureInfo.InvariantCulture) : drop.UidOf(i)).Append("\r\n");
            }
        }

        return text.Append(".\r\n").ToString();
    }

    [Theory]
    [InlineData(ListingKind.Sizes, "1 10\r\n2 2048\r\n3 0\r\n.\r\n")]
    [InlineData(ListingKind.Uids, "1 a1\r\n2 b2\r\n3 c3\r\n.\r\n")]
    public void EveryMessageHasItsLineAndTheDotEnds(ListingKind kind, string wire)
    {
        Assert.Equal(wire, Pop3Listing.Render(Three, [], kind));
    }

    [Theory]
    [InlineData(ListingKind.Sizes, "1 10\r\n3 0\r\n.\r\n")]
    [InlineData(ListingKind.Uids, "1 a1\r\n3 c3\r\n.\r\n")]
    public void ADeletedMessageHasNoLineAndTheOthersKeepTheirNumbers(ListingKind kind, string wire)
    {
        Assert.Equal(wire, Pop3Listing.Render(Three, [2], kind));
    }

    [Theory]
    [InlineData(ListingKind.Sizes)]
    [InlineData(ListingKind.Uids)]
    public void AnEmptyOrAllDeletedMaildropListsOnlyTheDot(ListingKind kind)
    {
        Assert.Equal(".\r\n", Pop3Listing.Render(Maildrop.Empty, [], kind));
        Assert.Equal(".\r\n", Pop3Listing.Render(Three, [1, 2, 3], kind));
    }

    // Every chunk size from the smallest up: the lines and the dot come out whole and in order
    // however the chunks cut them, and no chunk is over its size.
    [Fact]
    public void EveryChunkSizeGivesTheSameOctets()
    {
        var drop = Maildrop.Of(Enumerable.Range(0, 300).Select(i => new DropMessage($"new/{i}.M{i:D6}P1Q{i}.host,S={i * 37}", $"{i}.M{i:D6}P1Q{i}.host,S={i * 37}", i * 37)));
        ImmutableHashSet<int> deleted = [1, 7, 150, 300];
        foreach (var kind in new[] { ListingKind.Sizes, ListingKind.Uids })
        {
            var expected = Expected(drop, deleted, kind);
            for (var size = Pop3Listing.MinimumChunk; size <= Pop3Listing.MinimumChunk + 300; size++)
            {
                var listing = new Pop3Listing(drop, deleted, kind);
                var text = new StringBuilder();
                var buffer = new byte[size];
                for (var chunks = 0; !listing.Done; chunks++)
                {
                    Assert.True(listing.Remaining > 0);
                    var written = listing.Fill(buffer);
                    Assert.InRange(written, 1, size);
                    Assert.True(chunks < expected.Length, "the listing makes progress");
                    text.Append(Encoding.ASCII.GetString(buffer, 0, written));
                }

                Assert.Equal(expected, text.ToString());
                Assert.Equal(0, listing.Remaining);
            }
        }
    }

    [Fact]
    public void RemainingIsNeverLessThanWhatIsStillToCome()
    {
        var listing = new Pop3Listing(Three, [], ListingKind.Uids);
        var before = listing.Remaining;

        var written = listing.Fill(new byte[4096]);

        Assert.True(before >= written);
    }

    [Fact]
    public void AChunkTooSmallForTwoLinesIsRefused()
    {
        var listing = new Pop3Listing(Three, [], ListingKind.Sizes);

        Assert.Throws<ArgumentException>(() => listing.Fill(new byte[Pop3Listing.MinimumChunk - 1]));
    }
}
