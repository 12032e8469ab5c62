using System.Collections.Frozen;
using ActorMail.Configuration;
using ActorMail.Protocol.Auth;
using ActorMail.Protocol.Pop3;

namespace ActorMail.Pop3;

/// <summary>Builds the POP3 policy, whose password check costs the same for an unknown user as for a wrong password.</summary>
public static class Pop3Authentication
{
    /// <summary>The POP3 decider's view of the node's settings.</summary>
    public static Pop3Policy Policy(NodeOptions options)
    {
        var hashes = options.Users.ToFrozenDictionary(u => u.Name, u => u.PasswordHash, StringComparer.Ordinal);
        // An unknown user is checked against a throwaway hash of the same cost, so timing tells nothing.
        var decoy = PasswordHash.Create(Guid.NewGuid().ToString("N"), PasswordHash.IterationsOf(hashes.Values.FirstOrDefault()));
        return new Pop3Policy(
            options.Pop3.MaxBadCommands,
            options.Pop3.MaxAuthFailures,
            (user, password) => hashes.TryGetValue(user, out var hash)
                ? PasswordHash.Verify(password, hash)
                : PasswordHash.Verify(password, decoy) && false,
            options.Pop3.MaxJunkCommands);
    }
}
