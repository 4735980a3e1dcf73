using System.Collections.Generic;

namespace Cifar100Training;

/// <summary>What one run produced; <c>Name</c> is its --compare entry as written.</summary>
internal sealed record RunResult(string Name, string Directory, IReadOnlyList<EpochMetrics> Metrics);
