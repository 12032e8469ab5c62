using System.Collections.Frozen;
using System.Diagnostics;
using ActorMail.Configuration;
using ActorMail.Hosting;
using ActorMail.Protocol.Auth;
using ActorMail.Protocol.Mail;
using ActorMail.Protocol.Pop3;
using Akka.Actor;
using Akka.Event;

namespace ActorMail.Auth;

/// <summary>Messages between sessions and the node's password checker.</summary>
public static class AuthCommands
{
    /// <summary>Check <paramref name="Password"/> for <paramref name="User"/>, who connected from <paramref name="Address"/>.</summary>
    public sealed record CheckPassword(string User, string Password, string Address, long CorrelationId)
    {
        /// <summary>Never shows the password, wherever the record is printed.</summary>
        public override string ToString() => $"CheckPassword {{ User = {User}, Password = ****, Address = {Address}, CorrelationId = {CorrelationId} }}";
    }

    /// <summary>The answer to <see cref="CheckPassword"/>, echoing its correlation id.</summary>
    public sealed record PasswordChecked(long CorrelationId, PasswordOutcome Outcome);
}

/// <summary>
/// The node's one place that verifies passwords. PBKDF2 costs about 0.1 s of CPU, so checks run on
/// a few dedicated threads (workers on the auth dispatcher), never on a session's. Checks from one
/// client address run one at a time, so the guessing throttle (<see cref="AuthThrottle"/>) has
/// counted each failure before that address's next attempt is considered: past the budget an
/// attempt is answered "rejected" without a check, the answer a wrong password gets. At most
/// <see cref="AuthOptions.MaxQueued"/> checks wait for a thread, and as many behind one address;
/// one more is answered "busy" at once.
/// </summary>
public sealed class PasswordChecker : ReceiveActor
{
    /// <summary>The actor's name under /user.</summary>
    public const string Name = "password-checker";

    private readonly AuthOptions _options;
    private readonly AuthThrottle _throttle;
    private readonly Stack<IActorRef> _idle = new();
    private readonly Queue<Job> _runnable = new();

    // An address with a check waiting or running, and the attempts queued behind it.
    private readonly Dictionary<string, Queue<Job>> _lanes = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Metric _wrong;
    private readonly Metric _throttled;
    private readonly Metric _checks;

    public PasswordChecker(NodeOptions options)
    {
        _options = options.Auth;
        _throttle = new AuthThrottle(_options.ThrottleWindow, _options.MaxFailuresPerAddress, _options.MaxFailuresPerUser);
        var verify = Verifier(options.Users);
        var metrics = NodeMetrics.Get(Context.System);
        _wrong = metrics.WrongPasswords;
        _throttled = metrics.ThrottledSignIns;
        _checks = metrics.PasswordChecks;
        for (var i = 0; i < _options.Concurrency; i++)
        {
            _idle.Push(Context.ActorOf(Akka.Actor.Props.Create(() => new Worker(verify)).WithDispatcher("akka.actor.auth-dispatcher"), $"worker-{i}"));
        }

        Receive<AuthCommands.CheckPassword>(check => Arrive(new Job(check, Sender)));
        Receive<Verified>(Done);
    }

    public static Props Props(NodeOptions options) => Akka.Actor.Props.Create(() => new PasswordChecker(options));

    /// <summary>
    /// True if the user exists and the password matches. An unknown user is checked against a
    /// throwaway hash of the same cost, so the time taken tells nothing.
    /// </summary>
    public static Func<string, string, bool> Verifier(IReadOnlyList<UserEntry> users)
    {
        var hashes = users.ToFrozenDictionary(u => u.Name, u => u.PasswordHash, StringComparer.Ordinal);
        var decoy = PasswordHash.Create(Guid.NewGuid().ToString("N"), PasswordHash.IterationsOf(hashes.Values.FirstOrDefault()));
        return (user, password) => hashes.TryGetValue(user, out var hash)
            ? PasswordHash.Verify(password, hash)
            : PasswordHash.Verify(password, decoy) && false;
    }

    private static double Now => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    private void Arrive(Job job)
    {
        var address = job.Check.Address;
        if (_lanes.TryGetValue(address, out var lane))
        {
            if (lane.Count < _options.MaxQueued)
            {
                lane.Enqueue(job);
            }
            else
            {
                Answer(job, PasswordOutcome.Busy);
            }

            return;
        }

        if (Throttled(job))
        {
            return;
        }

        if (_idle.Count == 0 && _runnable.Count >= _options.MaxQueued)
        {
            Answer(job, PasswordOutcome.Busy);
            return;
        }

        _lanes[address] = new Queue<Job>();
        Dispatch(job);
    }

    private void Done(Verified verified)
    {
        var check = verified.Job.Check;
        _checks.Increment();
        if (!verified.Ok)
        {
            _throttle.Failed(check.Address, check.User, Now);
            _wrong.Increment();
            _log.Info("Password check failed for {User} from {Address}", MailboxName.ForLog(check.User), check.Address);
        }

        Answer(verified.Job, verified.Ok ? PasswordOutcome.Accepted : PasswordOutcome.Rejected);
        _idle.Push(Sender);
        while (_idle.Count > 0 && _runnable.TryDequeue(out var waiting))
        {
            _idle.Pop().Tell(waiting);
        }

        // The address's next attempt is considered only now, with this result counted.
        var lane = _lanes[check.Address];
        while (lane.TryDequeue(out var next))
        {
            if (!Throttled(next))
            {
                Dispatch(next);
                return;
            }
        }

        _lanes.Remove(check.Address);
    }

    private void Dispatch(Job job)
    {
        if (_idle.TryPop(out var worker))
        {
            worker.Tell(job);
        }
        else
        {
            _runnable.Enqueue(job);
        }
    }

    private bool Throttled(Job job)
    {
        var check = job.Check;
        var verdict = _throttle.Consider(check.Address, check.User, Now, out var first);
        if (verdict == ThrottleVerdict.Check)
        {
            return false;
        }

        if (first && verdict == ThrottleVerdict.AddressThrottled)
        {
            _log.Warning("Sign-ins from {Address} refused unchecked for the rest of the {Window} window: {Failures} failures", check.Address, _options.ThrottleWindow, _options.MaxFailuresPerAddress);
        }
        else if (first)
        {
            _log.Warning("Sign-ins for {User} refused unchecked from failing addresses for the rest of the {Window} window: {Failures} failures", MailboxName.ForLog(check.User), _options.ThrottleWindow, _options.MaxFailuresPerUser);
        }

        _throttled.Increment();
        Answer(job, PasswordOutcome.Rejected);
        return true;
    }

    private static void Answer(Job job, PasswordOutcome outcome) =>
        job.ReplyTo.Tell(new AuthCommands.PasswordChecked(job.Check.CorrelationId, outcome));
    private sealed record Job(AuthCommands.CheckPassword Check, IActorRef ReplyTo);

    private sealed record Verified(Job Job, bool Ok);

    private sealed class Worker : ReceiveActor
    {
        public Worker(Func<string, string, bool> verify) =>
            Receive<Job>(job => Sender.Tell(new Verified(job, verify(job.Check.User, job.Check.Password))));
    }
}
