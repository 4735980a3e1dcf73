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
    /// <summary>Runs <c>optimizer.step()</c> with collections held off where the runtime allows it.</summary>
    public static void StepWithoutCollections(torch.optim.Optimizer optimizer)
    {
        // <optimizer-step-without-gc>
        // No collection, so no finalizer, while TorchSharp's optimiser passes its implicit Scalars to LibTorch.
        bool held = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(16L * 1024 * 1024);
        try
        {
            optimizer.step();
        }
        finally
        {
            if (held && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)   // a forced collection ends it early
            {
                GC.EndNoGCRegion();
            }
        }
        // </optimizer-step-without-gc>
    }
}
