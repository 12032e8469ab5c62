namespace ActorMail.Tests;

/// <summary>
/// Tests that measure this process's managed memory, and tests that allocate tens of MiB at
/// once: one collection, so xunit never runs them side by side (a 32 MiB buffer of a TLS test
/// counted as growth of an SMTP limit test).
/// </summary>
[CollectionDefinition(Name)]
public sealed class MemoryMeasured
{
    /// <summary>The collection's name.</summary>
    public const string Name = "memory measured";
}
