using System.Collections.Generic;

namespace Cifar100Training;

/// <summary>What one strategy's run produced.</summary>
internal sealed record RunResult(string Name, string Directory, IReadOnlyList<EpochMetrics> Metrics);
