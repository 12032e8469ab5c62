using ActorMail.Protocol.Session;

namespace ActorMail.Protocol.Tests.Session;

public class AdmissionControlTests
{
    [Fact]
    public void The_global_limit_comes_first_and_a_release_frees_a_slot()
    {
        var control = new AdmissionControl(maxConnections: 2, maxPerAddress: 10, ratePerSecond: 0, burst: 1);

        Assert.Equal(Admission.Accepted, control.Admit("10.0.0.1", 0));
        Assert.Equal(Admission.Accepted, control.Admit("10.0.0.2", 0));
        Assert.Equal(Admission.ServerFull, control.Admit("10.0.0.3", 0));
        Assert.Equal(2, control.Open);

        control.Release("10.0.0.1");
        Assert.Equal(Admission.Accepted, control.Admit("10.0.0.3", 0));
    }

    [Fact]
    public void One_address_holds_at_most_its_share_while_another_is_still_served()
    {
        var control = new AdmissionControl(maxConnections: 100, maxPerAddress: 3, ratePerSecond: 0, burst: 1);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(Admission.Accepted, control.Admit("127.0.0.2", 0));
        }

        Assert.Equal(Admission.AddressFull, control.Admit("127.0.0.2", 0));
        Assert.Equal(Admission.Accepted, control.Admit("127.0.0.3", 0));
        Assert.Equal(2, control.Addresses);

        control.Release("127.0.0.2");
        Assert.Equal(Admission.Accepted, control.Admit("127.0.0.2", 0));
    }

    [Fact]
    public void The_rate_allows_a_burst_then_one_connection_per_token_earned()
    {
        var control = new AdmissionControl(maxConnections: 100, maxPerAddress: 100, ratePerSecond: 2, burst: 3);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(Admission.Accepted, control.Admit("a", 10.0));
        }

        Assert.Equal(Admission.AddressTooFast, control.Admit("a", 10.0));
        Assert.Equal(Admission.AddressTooFast, control.Admit("a", 10.4));
        Assert.Equal(Admission.Accepted, control.Admit("a", 10.5));
        Assert.Equal(Admission.AddressTooFast, control.Admit("a", 10.6));
        Assert.Equal(Admission.Accepted, control.Admit("b", 10.6));
    }

    [Fact]
    public void A_refused_connection_takes_no_slot_and_releasing_an_unknown_address_changes_nothing()
    {
        var control = new AdmissionControl(maxConnections: 5, maxPerAddress: 1, ratePerSecond: 0, burst: 1);
        Assert.Equal(Admission.Accepted, control.Admit("a", 0));
        Assert.Equal(Admission.AddressFull, control.Admit("a", 0));
        control.Release("nobody");
        Assert.Equal(1, control.Open);
        control.Release("a");
        control.Release("a");
        Assert.Equal((0, 0), (control.Open, control.Addresses));
    }

    [Fact]
    public void Rate_zero_is_off()
    {
        var control = new AdmissionControl(maxConnections: 10_000, maxPerAddress: 10_000, ratePerSecond: 0, burst: 1);
        for (var i = 0; i < 5000; i++)
        {
            Assert.Equal(Admission.Accepted, control.Admit("a", 0));
        }
    }

    [Fact]
    public void Pruning_forgets_only_buckets_that_have_refilled()
    {
        var control = new AdmissionControl(maxConnections: 100, maxPerAddress: 100, ratePerSecond: 1, burst: 2);
        control.Admit("a", 0);
        control.Admit("a", 0);
        Assert.Equal(Admission.AddressTooFast, control.Admit("a", 0));
        control.Prune(1.0);
        Assert.Equal(Admission.Accepted, control.Admit("a", 1.0));
        Assert.Equal(Admission.AddressTooFast, control.Admit("a", 1.0));
    }
}
