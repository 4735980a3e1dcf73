using System;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>Kept samples waiting for a full batch, held outside any dispose scope.</summary>
internal sealed record PendingSamples(Tensor Input, Tensor Target, Tensor? Weights, Tensor? Ids) : IDisposable
{
    public int Count => (int)Input.shape[0];

    public void Dispose()
    {
        Input.Dispose();
        Target.Dispose();
        Weights?.Dispose();
        Ids?.Dispose();
    }
}
