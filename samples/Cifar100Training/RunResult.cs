using System.Collections.Generic;

namespace Cifar100Training;

/// <summary>What one run (an entry and a seed) produced; <c>Name</c> is its --compare entry as written.</summary>
/// <param name="Restarts">How often it reloaded its checkpoint after a native error.</param>
/// <param name="Error">Why it failed, when it failed for good (its metrics are those it reached); null when it finished.</param>
/// <param name="Diverged">Whether it was stopped because its training loss or gradients were not finite (its last metrics
/// are those of the evaluation that saw it, or of the last one before the step that refused).</param>
internal sealed record RunResult(string Name, ulong Seed, string Directory, IReadOnlyList<EpochMetrics> Metrics, int Restarts = 0, string? Error = null,
    bool Diverged = false)
{
    public bool Failed => Error is not null;

    /// <summary>summary.csv's status: ok, failed (a native error that restarts did not cure) or diverged.</summary>
    public string Status => !Failed ? "ok" : Diverged ? "diverged" : "failed";
}
