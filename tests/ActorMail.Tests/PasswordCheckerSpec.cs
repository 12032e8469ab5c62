using ActorMail.Auth;
using ActorMail.Configuration;
using ActorMail.Protocol.Auth;
using ActorMail.Protocol.Pop3;
using Akka.TestKit.Xunit2;

namespace ActorMail.Tests;

/// <summary>The node's password checker: its throttle per address and its bounded queue.</summary>
public sealed class PasswordCheckerSpec : TestKit
{
    public PasswordCheckerSpec()
        : base(NodeConfig.Load(environment: new Dictionary<string, string?>()))
    {
    }

    private static NodeOptions Options(string hocon) => NodeOptions.FromConfig(NodeConfig.Load(
        overrideText: $"actormail.users {{ alice = \"{PasswordHash.Create("right", 1000)}\", bob = \"{PasswordHash.Create("b", 1000)}\" }}\nactormail.postmaster = alice\n{hocon}",
        environment: new Dictionary<string, string?>()));

    [Fact]
    public void Past_the_budget_an_address_is_rejected_unchecked_even_with_the_right_password_while_another_is_served()
    {
        var checker = Sys.ActorOf(PasswordChecker.Props(Options("actormail.auth.max-failures-per-address = 3")));
        for (var i = 0; i < 6; i++)
        {
            checker.Tell(new AuthCommands.CheckPassword("alice", $"wrong{i}", "10.0.0.66", i), TestActor);
        }

        // Checks from one address run one after another, so exactly three are checked.
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(new AuthCommands.PasswordChecked(i, PasswordOutcome.Rejected), ExpectMsg<AuthCommands.PasswordChecked>());
        }

        checker.Tell(new AuthCommands.CheckPassword("alice", "right", "10.0.0.66", 10), TestActor);
        Assert.Equal(PasswordOutcome.Rejected, ExpectMsg<AuthCommands.PasswordChecked>().Outcome);
        checker.Tell(new AuthCommands.CheckPassword("alice", "right", "10.0.0.67", 11), TestActor);
        Assert.Equal(PasswordOutcome.Accepted, ExpectMsg<AuthCommands.PasswordChecked>().Outcome);
    }

    [Fact]
    public void Parallel_sign_ins_from_one_address_are_all_checked_in_turn()
    {
        var checker = Sys.ActorOf(PasswordChecker.Props(Options(string.Empty)));
        for (var i = 0; i < 40; i++)
        {
            checker.Tell(new AuthCommands.CheckPassword(i % 2 == 0 ? "alice" : "bob", i % 2 == 0 ? "right" : "b", "10.0.0.1", i), TestActor);
        }

        var answers = Enumerable.Range(0, 40).Select(_ => ExpectMsg<AuthCommands.PasswordChecked>()).ToList();
        Assert.All(answers, a => Assert.Equal(PasswordOutcome.Accepted, a.Outcome));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), answers.Select(a => a.CorrelationId).Order());
    }

    [Fact]
    public void Over_the_queue_a_sign_in_is_answered_busy_at_once()
    {
        var checker = Sys.ActorOf(PasswordChecker.Props(Options("actormail.auth.concurrency = 1\nactormail.auth.max-queued = 1")));
        for (var i = 0; i < 3; i++)
        {
            checker.Tell(new AuthCommands.CheckPassword("alice", "right", $"10.0.1.{i}", i), TestActor);
        }

        // One runs, one waits, the third finds the queue full and is answered first.
        Assert.Equal(new AuthCommands.PasswordChecked(2, PasswordOutcome.Busy), ExpectMsg<AuthCommands.PasswordChecked>());
        var rest = new[] { ExpectMsg<AuthCommands.PasswordChecked>(), ExpectMsg<AuthCommands.PasswordChecked>() };
        Assert.All(rest, a => Assert.Equal(PasswordOutcome.Accepted, a.Outcome));
    }

    [Theory]
    [InlineData("bob", "bob")]
    [InlineData("Hunter2!", "<invalid>")]
    public void A_failed_check_logs_the_user_name_only_if_it_could_be_a_mailbox(string typed, string logged)
    {
        var log = CreateTestProbe();
        Sys.EventStream.Subscribe(log.Ref, typeof(Akka.Event.Info));
        var checker = Sys.ActorOf(PasswordChecker.Props(Options(string.Empty)));

        checker.Tell(new AuthCommands.CheckPassword(typed, "x", "10.0.0.5", 1), TestActor);

        Assert.Equal(PasswordOutcome.Rejected, ExpectMsg<AuthCommands.PasswordChecked>().Outcome);
        var line = log.FishForMessage<Akka.Event.Info>(i => i.Message.ToString()!.StartsWith("Password check failed", StringComparison.Ordinal), TimeSpan.FromSeconds(3)).Message.ToString();
        // Serilog shows string values quoted.
        Assert.Equal($"Password check failed for \"{logged}\" from \"10.0.0.5\"", line);
        Assert.DoesNotContain("Hunter2", line, StringComparison.Ordinal);
    }

    [Fact]
    public void The_request_never_prints_its_password()
    {
        Assert.DoesNotContain("s3cret", new AuthCommands.CheckPassword("alice", "s3cret", "10.0.0.1", 1).ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", new Pop3Effect.CheckPassword("alice", "s3cret").ToString(), StringComparison.Ordinal);
    }
}
