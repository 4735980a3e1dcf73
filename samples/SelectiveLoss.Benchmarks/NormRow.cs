namespace SelectiveLoss.Benchmarks;

/// <summary>One line of the BatchNorm check's CSV: one norm in one case, with its ratio to TorchSharp's BatchNorm2d.</summary>
internal sealed record NormRow(string Case, string Norm, int Blocks, int StepsPerBlock, double MedianMs, double MinMs, double MaxMs, double Ratio);
