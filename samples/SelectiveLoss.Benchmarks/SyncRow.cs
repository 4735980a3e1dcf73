namespace SelectiveLoss.Benchmarks;

/// <summary>One line of the device-sync check's CSV: a step whose result is read, or not, and what the reads cost.</summary>
internal sealed record SyncRow(string Variant, int Steps, double MedianStepMs, double MeanStepMs, double MedianLossReadUs, double MedianKeptReadUs);
