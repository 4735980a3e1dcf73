using System.Collections.Generic;

namespace Cifar100Training;

/// <summary>What one run (an entry and a seed) produced; <c>Name</c> is its --compare entry as written.</summary>
/// <param name="Restarts">How often it reloaded its checkpoint after a native error.</param>
/// <param name="Error">Why it failed, when it failed for good (its metrics are those it reached); null when it finished.</param>
internal sealed record RunResult(string Name, ulong Seed, string Directory, IReadOnlyList<EpochMetrics> Metrics, int Restarts = 0, string? Error = null)
{
    public bool Failed => Error is not null;
}
