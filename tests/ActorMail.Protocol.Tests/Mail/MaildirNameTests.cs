using System.Text.RegularExpressions;
using ActorMail.Protocol.Mail;

namespace ActorMail.Protocol.Tests.Mail;

public partial class MaildirNameTests
{
    [GeneratedRegex(@"^\d+\.M\d+P\d+Q\d+\.[^/:]+,S=\d+$")]
    private static partial Regex NameShape();

    // 2023-11-14T22:13:20.123456Z
    private static readonly DateTimeOffset Time = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123).AddTicks(4560);

    [Fact]
    public void BuildWritesSecondsMicrosecondsPidSequenceHostAndSize()
    {
        var name = MaildirName.Build(Time, 4242, 17, "mx.test", 1234);

        Assert.Equal("1700000000.M123456P4242Q17.mx.test,S=1234", name);
        Assert.Matches(NameShape(), name);
    }

    [Fact]
    public void BuildUsesUtcWhateverTheOffset()
    {
        var local = Time.ToOffset(TimeSpan.FromHours(-7));

        Assert.Equal(MaildirName.Build(Time, 1, 1, "h", 1), MaildirName.Build(local, 1, 1, "h", 1));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(999_999L)]
    [InlineData(1_000_000L)]
    public void BuildAlwaysMatchesTheMaildirShape(long microseconds)
    {
        var time = DateTimeOffset.UnixEpoch.AddTicks(microseconds * 10);

        var name = MaildirName.Build(time, 1, 0, "host", 0);

        Assert.Matches(NameShape(), name);
        Assert.StartsWith($"{microseconds / 1_000_000}.M{microseconds % 1_000_000:D6}P", name, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a/b", "a\\057b")]
    [InlineData("a:b", "a\\072b")]
    [InlineData("/:/", "\\057\\072\\057")]
    [InlineData("mx.test", "mx.test")]
    public void HostSlashAndColonAreEscaped(string host, string escaped)
    {
        Assert.Equal(escaped, MaildirName.EscapeHost(host));

        var name = MaildirName.Build(Time, 1, 2, host, 3);

        Assert.Equal($"1700000000.M123456P1Q2.{escaped},S=3", name);
        Assert.Matches(NameShape(), name);
    }

    [Theory]
    [InlineData("1700000000.M1P2Q3.mx.test,S=1234", 1234L)]
    [InlineData("1700000000.M1P2Q3.mx.test,S=1234:2,", 1234L)]
    [InlineData("1700000000.M1P2Q3.mx.test,S=1234:2,S", 1234L)]
    [InlineData("1700000000.M1P2Q3.mx.test,S=1234:2,FRS", 1234L)]
    [InlineData("1700000000.M1P2Q3.mx.test,S=1234,W=1300:2,S", 1234L)]
    [InlineData("1700000000.M1P2Q3.host,S=9,S=77", 77L)]
    [InlineData("1.M1P1Q1.h,S=0", 0L)]
    public void TryGetSizeReadsTheSizeWithOrWithoutFlags(string fileName, long size)
    {
        Assert.True(MaildirName.TryGetSize(fileName, out var actual));
        Assert.Equal(size, actual);
    }

    [Theory]
    [InlineData("1700000000.M1P2Q3.mx.test")]
    [InlineData("1700000000.M1P2Q3.mx.test:2,S")]
    [InlineData("1700000000.M1P2Q3.mx.test,S=")]
    [InlineData("1700000000.M1P2Q3.mx.test,S=12a")]
    [InlineData("1700000000.M1P2Q3.mx.test,S=-5")]
    [InlineData("1700000000.M1P2Q3.mx.test:2,S=5")]
    [InlineData("")]
    public void TryGetSizeIsFalseWithoutAReadableSize(string fileName)
    {
        Assert.False(MaildirName.TryGetSize(fileName, out _));
    }

    [Theory]
    [InlineData("1700000000.M123456P1Q2.mx.test,S=5", 1_700_000_000L)]
    [InlineData("1700000000.M1P2Q3.mx.test,S=5:2,S", 1_700_000_000L)]
    [InlineData("0.M0P0Q0.h,S=1", 0L)]
    [InlineData("253402300799.x", 253_402_300_799L)]
    public void TryGetTimeReadsWholeSecondsFromTheFront(string fileName, long seconds)
    {
        Assert.True(MaildirName.TryGetTime(fileName, out var time));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(seconds), time);
        Assert.Equal(TimeSpan.Zero, time.Offset);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1700000000")]
    [InlineData(".M1P2Q3.h,S=5")]
    [InlineData("abc.M1P2Q3.h,S=5")]
    [InlineData("-1.M1P2Q3.h,S=5")]
    [InlineData("+1.M1P2Q3.h,S=5")]
    [InlineData("253402300800.x")]
    [InlineData("99999999999999999999999.x")]
    public void TryGetTimeIsFalseWithoutReadableSeconds(string fileName)
    {
        Assert.False(MaildirName.TryGetTime(fileName, out _));
    }

    [Fact]
    public void BuiltNameReadsBackItsSizeAndTime()
    {
        var name = MaildirName.Build(Time, 7, 8, "a:b/c", 98765);

        Assert.True(MaildirName.TryGetSize(name + ":2,S", out var size));
        Assert.Equal(98765, size);
        Assert.True(MaildirName.TryGetTime(name, out var time));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), time);
    }

    [Theory]
    [InlineData("1.M1P1Q1.h,S=5", "1.M1P1Q1.h,S=5")]
    [InlineData("1.M1P1Q1.h,S=5:2,", "1.M1P1Q1.h,S=5")]
    [InlineData("1.M1P1Q1.h,S=5:2,RS", "1.M1P1Q1.h,S=5")]
    [InlineData("1.M1P1Q1.a\\072b,S=5:2,S", "1.M1P1Q1.a\\072b,S=5")]
    public void UniquePartIsTheNameWithoutItsFlags(string fileName, string unique)
    {
        Assert.Equal(unique, MaildirName.UniquePart(fileName));
    }
}
