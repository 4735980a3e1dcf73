namespace SelectiveLoss.Benchmarks;

/// <summary>One line of the numerics check's CSV: a model's training step (or the check itself) in one variant, with its
/// ratio to the step with oneDNN as it is (NaN where there is none).</summary>
internal sealed record NumericsRow(string Model, string Variant, string OneDnnMaxIsa, int Blocks, int StepsPerBlock, double MedianMs, double MinMs, double MaxMs, double Ratio);
