using ActorMail.Protocol.Auth;

namespace ActorMail.Protocol.Tests.Auth;

public sealed class CredentialsCacheTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(60);

    [Fact]
    public void Remembered_credentials_are_verified_until_the_lifetime_ends()
    {
        var cache = new CredentialsCache(Ttl, 10);
        Assert.False(cache.IsVerified("alice", "pw", 0));
        cache.Remember("alice", "pw", 100);
        Assert.True(cache.IsVerified("alice", "pw", 100));
        Assert.True(cache.IsVerified("alice", "pw", 159.9));
        Assert.False(cache.IsVerified("alice", "pw", 160));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Another_password_or_user_is_not_verified()
    {
        var cache = new CredentialsCache(Ttl, 10);
        cache.Remember("alice", "pw", 0);
        Assert.False(cache.IsVerified("alice", "pw2", 1));
        Assert.False(cache.IsVerified("alice", "PW", 1));
        Assert.False(cache.IsVerified("bob", "pw", 1));
    }

    [Fact]
    public void The_split_between_user_and_password_is_part_of_the_key()
    {
        var cache = new CredentialsCache(Ttl, 10, key: new byte[32]);
        Assert.NotEqual(cache.KeyOf("a:b", "c"), cache.KeyOf("a", "b:c"));
    }

    [Fact]
    public void Keys_depend_on_the_process_key_and_hold_no_password()
    {
        var one = new CredentialsCache(Ttl, 10);
        var two = new CredentialsCache(Ttl, 10);
        var key = one.KeyOf("alice", "alice-demo");
        Assert.NotEqual(key, two.KeyOf("alice", "alice-demo"));
        Assert.Equal(key, one.KeyOf("alice", "alice-demo"));
        Assert.DoesNotContain("alice-demo", key, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(key).Length);
    }

    [Fact]
    public void At_capacity_expired_entries_go_first_then_all()
    {
        var cache = new CredentialsCache(Ttl, 2);
        cache.Remember("a", "1", 0);
        cache.Remember("b", "2", 50);
        cache.Remember("c", "3", 70);
        Assert.False(cache.IsVerified("a", "1", 70));
        Assert.True(cache.IsVerified("b", "2", 70));
        Assert.True(cache.IsVerified("c", "3", 70));

        cache.Remember("d", "4", 71);
        Assert.Equal(1, cache.Count);
        Assert.True(cache.IsVerified("d", "4", 71));
    }
}
