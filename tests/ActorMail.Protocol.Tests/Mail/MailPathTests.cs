using ActorMail.Protocol.Mail;

namespace ActorMail.Protocol.Tests.Mail;

public class MailPathTests
{
    // A valid domain of exactly the given length: 63-octet labels joined by dots.
    private static string Domain(int length)
    {
        var labels = new List<string>();
        var left = length;
        while (left > 0)
        {
            var take = Math.Min(63, left);
            if (left - take == 1)
            {
                take--; // never leave a single octet for a dot with no label after it
            }

            labels.Add(new string((char)('a' + (labels.Count % 26)), take));
            left -= take + 1;
        }

        var domain = string.Join('.', labels);
        Assert.Equal(length, domain.Length);
        return domain;
    }

    [Theory]
    [InlineData("<alice@example.test>", "alice", "example.test")]
    [InlineData("<Alice.Smith+tag@Mail.Example.TEST>", "Alice.Smith+tag", "Mail.Example.TEST")]
    [InlineData("<a!#$%&'*/=?^_`{|}~-@x.test>", "a!#$%&'*/=?^_`{|}~-", "x.test")]
    [InlineData("<a@localhost>", "a", "localhost")]
    [InlineData("<a@x-y.test>", "a", "x-y.test")]
    [InlineData("<a@123.test>", "a", "123.test")]
    [InlineData("<\"john doe\"@example.test>", "\"john doe\"", "example.test")]
    [InlineData("<\"a@b\"@example.test>", "\"a@b\"", "example.test")]
    [InlineData("<\"a\\\"b\"@example.test>", "\"a\\\"b\"", "example.test")]
    [InlineData("<\"..\"@example.test>", "\"..\"", "example.test")]
    [InlineData("<user@[192.0.2.1]>", "user", "[192.0.2.1]")]
    [InlineData("<user@[IPv6:2001:db8::1]>", "user", "[IPv6:2001:db8::1]")]
    [InlineData("<@relay.test:alice@example.test>", "alice", "example.test")]
    [InlineData("<@one.test,@two.test:alice@example.test>", "alice", "example.test")]
    public void ValidAddressesParseIntoLocalPartAndDomain(string text, string local, string domain)
    {
        Assert.True(MailPath.TryParse(text, allowNull: false, out var path, out var error), error);

        Assert.Equal(new MailPath(local, domain), path);
        Assert.False(path.IsNull);
        Assert.Equal($"{local}@{domain}", path.Address);
        Assert.Equal($"<{local}@{domain}>", path.ToString());
    }

    // RFC 5321 §4.1.2: a quoted local part whose quotes are not needed names the same mailbox.
    [Theory]
    [InlineData("<alice@example.test>", "alice")]
    [InlineData("<\"alice\"@example.test>", "alice")]
    [InlineData("<\"Alice.Smith+tag\"@example.test>", "Alice.Smith+tag")]
    [InlineData("<\"al\\ice\"@example.test>", "alice")]
    [InlineData("<\"john doe\"@example.test>", "\"john doe\"")]
    [InlineData("<\"a@b\"@example.test>", "\"a@b\"")]
    [InlineData("<\"..\"@example.test>", "\"..\"")]
    [InlineData("<\"../etc\"@example.test>", "\"../etc\"")]
    [InlineData("<\".alice\"@example.test>", "\".alice\"")]
    [InlineData("<\"a\\\\b\"@example.test>", "\"a\\\\b\"")]
    [InlineData("<\"\"@example.test>", "\"\"")]
    public void PlainLocalPartDropsQuotesThatAreNotNeeded(string text, string plain)
    {
        Assert.True(MailPath.TryParse(text, allowNull: false, out var path, out var error), error);

        Assert.Equal(plain, path.PlainLocalPart);
    }

    // RFC 5321 §4.1.3: IPv4 literals are four 1-3 digit decimals; IPv6 ones carry the "IPv6:" tag.
    [Theory]
    [InlineData("[127.0.0.1]", "127.0.0.1")]
    [InlineData("[192.0.2.255]", "192.0.2.255")]
    [InlineData("[127.0.0.01]", "127.0.0.1")]
    [InlineData("[IPv6:::1]", "::1")]
    [InlineData("[ipv6:2001:DB8::1]", "2001:db8::1")]
    [InlineData("[IPv6:::ffff:127.0.0.1]", "::ffff:127.0.0.1")]
    [InlineData("[127.0.0.256]", null)]
    [InlineData("[127.1]", null)]
    [InlineData("[0x7f.0.0.1]", null)]
    [InlineData("[127.0.0.1.]", null)]
    [InlineData("[1270.0.0.1]", null)]
    [InlineData("[::1]", null)]
    [InlineData("[IPv6:127.0.0.1]", null)]
    [InlineData("[IPv6:fe80::1%2]", null)]
    [InlineData("[x-tag:127.0.0.1]", null)]
    [InlineData("127.0.0.1", null)]
    [InlineData("localhost", null)]
    public void AddressLiteralsGiveTheirAddress(string domain, string? address)
    {
        var parsed = MailPath.TryGetAddressLiteral(domain, out var ip);

        Assert.Equal(address is not null, parsed);
        Assert.Equal(address, ip?.ToString());
    }

    [Fact]
    public void NullPathIsAcceptedWhereAllowed()
    {
        Assert.True(MailPath.TryParse("<>", allowNull: true, out var path, out _));

        Assert.Same(MailPath.Null, path);
        Assert.True(path.IsNull);
        Assert.Equal(string.Empty, path.Address);
        Assert.Equal("<>", path.ToString());
    }

    [Fact]
    public void NullPathIsRefusedWhereNotAllowed()
    {
        Assert.False(MailPath.TryParse("<>", allowNull: false, out var path, out var error));

        Assert.Null(path);
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("<Postmaster>")]
    [InlineData("<postmaster>")]
    [InlineData("<POSTMASTER>")]
    [InlineData("<@relay.test:Postmaster>")]
    public void BarePostmasterParsesWithoutDomain(string text)
    {
        Assert.True(MailPath.TryParse(text, allowNull: false, out var path, out _));

        Assert.Equal(new MailPath("postmaster", string.Empty), path);
        Assert.Equal("postmaster", path.Address);
        Assert.False(path.IsNull);
    }

    [Theory]
    [InlineData(64, true)]
    [InlineData(65, false)]
    public void LocalPartOf64OctetsIsTheLongest(int length, bool valid)
    {
        var text = $"<{new string('l', length)}@x.test>";

        Assert.Equal(valid, MailPath.TryParse(text, allowNull: false, out _, out var error));
        Assert.Equal(valid ? string.Empty : "Local part too long", error);
    }

    [Theory]
    [InlineData(252, true)] // "<a@" + 252 + ">" is 256 octets
    [InlineData(253, false)]
    [InlineData(255, false)] // a full 255-octet domain cannot fit a 256-octet path with brackets, @ and a local part
    [InlineData(256, false)]
    public void WholePathOf256OctetsIsTheLongest(int domainLength, bool valid)
    {
        var text = $"<a@{Domain(domainLength)}>";

        Assert.Equal(valid, MailPath.TryParse(text, allowNull: false, out var path, out var error));
        if (valid)
        {
            Assert.Equal(MailPath.MaxPath, text.Length);
            Assert.Equal(domainLength, path!.Domain.Length);
        }
        else
        {
            Assert.Equal("Path too long", error);
        }
    }

    [Fact]
    public void PathOver256OctetsIsRefusedEvenWithASourceRoute()
    {
        var text = $"<@{Domain(200)}:a@{Domain(60)}>";

        Assert.False(MailPath.TryParse(text, allowNull: false, out _, out var error));
        Assert.Equal("Path too long", error);
    }

    [Theory]
    [InlineData("alice@example.test", "Path must be enclosed in <>")]
    [InlineData("<alice@example.test", "Path must be enclosed in <>")]
    [InlineData("alice@example.test>", "Path must be enclosed in <>")]
    [InlineData("<", "Path must be enclosed in <>")]
    [InlineData("", "Path must be enclosed in <>")]
    [InlineData("<alice>", "Address must be local-part@domain")]
    [InlineData("<alice@>", "Address must be local-part@domain")]
    [InlineData("<@>", "Bad source route")]
    [InlineData("<@example.test>", "Bad source route")]
    [InlineData("<@relay.test:>", "Address must be local-part@domain")]
    [InlineData("<.alice@example.test>", "Bad local part")]
    [InlineData("<alice.@example.test>", "Bad local part")]
    [InlineData("<al..ice@example.test>", "Bad local part")]
    [InlineData("<al ice@example.test>", "Bad local part")]
    [InlineData("<al(ice)@example.test>", "Bad local part")]
    [InlineData("<a@b@example.test>", "Bad local part")]
    [InlineData("<\u00e9@example.test>", "Bad local part")]
    [InlineData("<\"a\"b\"@example.test>", "Bad local part")]
    [InlineData("<\"a\\\"@example.test>", "Bad local part")]
    [InlineData("<\"a\u0001\"@example.test>", "Bad local part")]
    [InlineData("<alice@example..test>", "Bad domain")]
    [InlineData("<alice@.example.test>", "Bad domain")]
    [InlineData("<alice@example.test.>", "Bad domain")]
    [InlineData("<alice@-example.test>", "Bad domain")]
    [InlineData("<alice@example-.test>", "Bad domain")]
    [InlineData("<alice@ex_ample.test>", "Bad domain")]
    [InlineData("<alice@ex ample.test>", "Bad domain")]
    [InlineData("<alice@ex\u00e4mple.test>", "Bad domain")]
    [InlineData("<alice@[]>", "Bad domain")]
    [InlineData("<alice@[1.2.3.4>", "Bad domain")]
    [InlineData("<alice@[1.2 .3.4]>", "Bad domain")]
    [InlineData("<alice@[1.[2].3]>", "Bad domain")]
    public void MalformedPathsAreRefusedWithAReason(string text, string reason)
    {
        Assert.False(MailPath.TryParse(text, allowNull: true, out var path, out var error));

        Assert.Null(path);
        Assert.Equal(reason, error);
    }

    [Theory]
    [InlineData(63, true)]
    [InlineData(64, false)]
    public void DomainLabelOf63OctetsIsTheLongest(int length, bool valid)
    {
        Assert.Equal(valid, MailPath.TryParse($"<a@{new string('d', length)}.test>", allowNull: false, out _, out _));
    }
}
