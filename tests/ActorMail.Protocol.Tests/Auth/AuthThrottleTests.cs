using ActorMail.Protocol.Auth;

namespace ActorMail.Protocol.Tests.Auth;

public class AuthThrottleTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromSeconds(60);

    [Fact]
    public void An_address_is_checked_up_to_its_budget_then_refused_until_the_window_ends()
    {
        var throttle = new AuthThrottle(Minute, maxPerAddress: 3, maxPerUser: 100);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(ThrottleVerdict.Check, throttle.Consider("10.0.0.9", "alice", i, out _));
            throttle.Failed("10.0.0.9", "alice", i);
        }

        Assert.Equal(ThrottleVerdict.AddressThrottled, throttle.Consider("10.0.0.9", "alice", 5, out var first));
        Assert.True(first);
        Assert.Equal(ThrottleVerdict.AddressThrottled, throttle.Consider("10.0.0.9", "bob", 59, out first));
        Assert.False(first);
        Assert.Equal(ThrottleVerdict.Check, throttle.Consider("10.0.0.10", "alice", 59, out _));
        Assert.Equal(ThrottleVerdict.Check, throttle.Consider("10.0.0.9", "alice", 60.5, out _));
    }

    [Fact]
    public void A_name_under_attack_is_refused_to_failing_addresses_but_its_owner_elsewhere_is_checked()
    {
        var throttle = new AuthThrottle(Minute, maxPerAddress: 100, maxPerUser: 4);
        foreach (var address in new[] { "x1", "x2", "x3", "x4" })
        {
            throttle.Failed(address, "alice", 1);
        }

        Assert.Equal(ThrottleVerdict.UserThrottled, throttle.Consider("x1", "alice", 2, out var first));
        Assert.True(first);
        Assert.Equal(ThrottleVerdict.Check, throttle.Consider("owner", "alice", 2, out _));
        Assert.Equal(ThrottleVerdict.Check, throttle.Consider("x1", "bob", 2, out _));
    }

    [Fact]
    public void Memory_stays_bounded_under_many_addresses()
    {
        var throttle = new AuthThrottle(Minute, maxPerAddress: 10, maxPerUser: 10, maxTracked: 100);
        for (var i = 0; i < 10_000; i++)
        {
            throttle.Failed($"10.0.{i / 256}.{i % 256}", $"user{i}", 0);
        }

        // The newest are still counted; the oldest were dropped to stay within the bound.
        Assert.Equal(1, throttle.FailuresOf("10.0.39.15", 0));
        Assert.Equal(0, throttle.FailuresOf("10.0.0.0", 0));
    }
}
