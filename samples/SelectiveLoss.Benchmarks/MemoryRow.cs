namespace SelectiveLoss.Benchmarks;

/// <summary>
/// One line of the leak check's CSV: a rule's resident memory and live tensors before and after its steps. Live tensors
/// are TorchSharp's count over all threads (<c>Tensor.TotalCount</c>); the thread's count
/// (<c>DisposeScopeManager.Statistics.ThreadTotalLiveCount</c>) is kept beside it, but misses what the finalizer thread
/// releases (an unread <c>StepResult</c>'s two tensors).
/// </summary>
/// <remarks>The managed heap (after a full collection) is exact to a few KB: it shows state that grows per step, such
/// as a history or a journal that is never cut, long before resident memory could.</remarks>
internal sealed record MemoryRow(
    string Rule, int Repeat, int Steps, double RssBeforeMb, double RssAfterMb, long LiveBefore, long LiveAfter, long ThreadLiveBefore, long ThreadLiveAfter,
    long ManagedBeforeBytes, long ManagedAfterBytes)
{
    public double ManagedGrowthKb => (ManagedAfterBytes - ManagedBeforeBytes) / 1024.0;

    public double GrowthMb => RssAfterMb - RssBeforeMb;

    public long LiveGrowth => LiveAfter - LiveBefore;

    /// <summary>Flat: resident memory and the managed heap grew by less than their noise thresholds, and not one tensor
    /// more is alive.</summary>
    public bool IsFlat(double thresholdMb, double managedThresholdKb) => GrowthMb < thresholdMb && ManagedGrowthKb < managedThresholdKb && LiveGrowth <= 0;
}
