using System.Collections.Generic;

namespace Cifar100Training;

/// <summary>What a --data folder gave: both splits, the format, and the class names where the format has them (image folders; null otherwise).</summary>
internal sealed record LoadedData(CifarData Train, CifarData Test, DataFormat Format, IReadOnlyList<string>? ClassNames);
