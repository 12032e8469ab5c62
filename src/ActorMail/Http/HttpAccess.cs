using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics;
using ActorMail.Auth;
using ActorMail.Configuration;
using ActorMail.Protocol.Auth;
using ActorMail.Protocol.Http;
using ActorMail.Protocol.Pop3;
using Akka.Actor;

namespace ActorMail.Http;

/// <summary>How a request's sign-in went.</summary>
public enum SignInOutcome
{
    /// <summary>No Authorization header, or one that is not well-formed Basic: 401 at once.</summary>
    NoCredentials,

    /// <summary>Wrong user or password (or refused by the throttle), after the failure delay: 401.</summary>
    Rejected,

    /// <summary>The password checker is full or did not answer in time: 503.</summary>
    Busy,

    /// <summary>Signed in as <see cref="SignIn.User"/>.</summary>
    Accepted,
}

/// <summary>The outcome of a sign-in and, if accepted, the user.</summary>
public sealed record SignIn(SignInOutcome Outcome, string? User = null);

/// <summary>
/// Who a request is and what it may see. HTTP Basic credentials are checked by the node's one
/// <see cref="PasswordChecker"/>, with the client's address, so HTTP and POP3 sign-ins share its
/// threads and its throttle; a failure waits <c>actormail.pop3.auth-failure-delay</c>, as in POP3.
/// Accepted credentials are then remembered in a <see cref="CredentialsCache"/> (no password kept),
/// and requests arriving together with the same credentials from one address share one check.
/// A user sees their own mailbox; <c>actormail.http.admins</c> see every mailbox.
/// </summary>
public sealed class HttpAccess
{
    private readonly NodeOptions _options;
    private readonly Func<Task<IActorRef>> _passwords;
    private readonly CredentialsCache _cache;
    private readonly FrozenSet<string> _users;
    private readonly FrozenSet<string> _admins;
    private readonly ConcurrentDictionary<string, Lazy<Task<PasswordOutcome>>> _checking = new(StringComparer.Ordinal);
    private long _correlation;

    public HttpAccess(NodeOptions options, Func<Task<IActorRef>> passwords)
    {
        _options = options;
        _passwords = passwords;
        _cache = new CredentialsCache(options.Http.CredentialsTtl, options.Http.MaxCachedCredentials);
        _users = options.Users.Select(u => u.Name).ToFrozenSet(StringComparer.Ordinal);
        _admins = options.Http.Admins.ToFrozenSet(StringComparer.Ordinal);
    }

    private static double Now => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    /// <summary>Checks the Authorization header of a request from <paramref name="address"/>.</summary>
    public async Task<SignIn> SignInAsync(string? authorization, string address, CancellationToken cancel)
    {
        if (!BasicCredentials.TryParse(authorization, out var credentials))
        {
            return new SignIn(SignInOutcome.NoCredentials);
        }

        if (_cache.IsVerified(credentials.User, credentials.Password, Now))
        {
            return new SignIn(SignInOutcome.Accepted, credentials.User);
        }

        var key = $"{_cache.KeyOf(credentials.User, credentials.Password)} {address}";
        var check = _checking.GetOrAdd(key, _ => new Lazy<Task<PasswordOutcome>>(() => CheckAsync(credentials, address)));
        PasswordOutcome outcome;
        try
        {
            outcome = await check.Value.ConfigureAwait(false);
        }
        finally
        {
            _checking.TryRemove(new KeyValuePair<string, Lazy<Task<PasswordOutcome>>>(key, check));
        }

        switch (outcome)
        {
            case PasswordOutcome.Accepted:
                _cache.Remember(credentials.User, credentials.Password, Now);
                return new SignIn(SignInOutcome.Accepted, credentials.User);
            case PasswordOutcome.Rejected:
                try
                {
                    await Task.Delay(_options.Pop3.AuthFailureDelay, cancel).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The client left during the delay: the answer is the same, and nobody reads it.
                }

                return new SignIn(SignInOutcome.Rejected);
            default:
                return new SignIn(SignInOutcome.Busy);
        }
    }

    /// <summary>True if <paramref name="user"/> may see <paramref name="mailbox"/>, which must be a configured one.</summary>
    public bool MaySee(string user, string mailbox) =>
        _users.Contains(mailbox) && (user == mailbox || _admins.Contains(user));

    /// <summary>The mailboxes <paramref name="user"/> may see, in name order.</summary>
    public IReadOnlyList<string> Visible(string user) =>
        [.. _users.Where(m => MaySee(user, m)).Order(StringComparer.Ordinal)];

    /// <summary>True if <paramref name="user"/> sees every mailbox.</summary>
    public bool IsAdmin(string user) => _admins.Contains(user);

    private async Task<PasswordOutcome> CheckAsync(BasicCredentials credentials, string address)
    {
        var checker = await _passwords().ConfigureAwait(false);
        var correlation = Interlocked.Increment(ref _correlation);
        try
        {
            var answer = await checker.Ask<AuthCommands.PasswordChecked>(
                new AuthCommands.CheckPassword(credentials.User, credentials.Password, address, correlation), _options.Http.StoreTimeout).ConfigureAwait(false);
            return answer.CorrelationId == correlation ? answer.Outcome : PasswordOutcome.Busy;
        }
        catch (AskTimeoutException)
        {
            return PasswordOutcome.Busy;
        }
    }
}
