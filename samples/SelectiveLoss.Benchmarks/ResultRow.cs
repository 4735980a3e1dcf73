namespace SelectiveLoss.Benchmarks;

/// <summary>One line of the benchmark's CSV.</summary>
internal sealed record ResultRow(string Norm, string Strategy, double Keep, int Batch, double MedianMs, double RatioToFull, double PeakRssMb);
