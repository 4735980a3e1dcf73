using System;
using System.Runtime;
using TorchSharp;

namespace SelectiveLoss.Tests.Stress;

/// <summary>
/// The mitigation measured for the caller's optimiser: run its step in a region without garbage collections, so no
/// finalizer can free one of its implicit Scalars meanwhile. README's troubleshooting entry shows the same code.
/// </summary>
internal static class GCMitigation
{
    /// <summary>Bytes the runtime sets aside for the step's allocations (and other threads' meanwhile).</summary>
    public const long Budget = 16L * 1024 * 1024;

    /// <summary>Runs <c>optimizer.step()</c> with collections held off where the runtime allows it.</summary>
    public static void StepWithoutCollections(torch.optim.Optimizer optimizer)
    {
        bool held = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(Budget);
        try
        {
            optimizer.step();
        }
        finally
        {
            // A collection that happened anyway (the budget ran out, or one was forced) has already ended the region.
            if (held && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }
        }
    }
}
