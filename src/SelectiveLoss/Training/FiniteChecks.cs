using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using SelectiveLoss.Numerics;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>The checks that keep NaN and infinity out of an update: one device read per step; on a NaN, the numerics
/// check runs again to tell whether the CPU is the cause.</summary>
internal static class FiniteChecks
{
    /// <summary>Throws <see cref="NonFiniteLossException"/> when the loss or any gradient is not finite.</summary>
    public static void LossAndGradients(Tensor loss, IEnumerable<Tensor> parameters)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        var flags = new List<Tensor>(grads.Count + 1) { loss.detach().isfinite().all() };
        flags.AddRange(grads.Select(g => g.isfinite().all()));
        if (stack(flags).all().item<bool>())
        {
            return;
        }

        double value = loss.detach().to(ScalarType.Float64).item<double>();
        int bad = grads.Count(g => !g.isfinite().all().item<bool>());
        throw new NonFiniteLossException(value, bad, 0, string.Create(CultureInfo.InvariantCulture,
            $"The step's loss is {value:G6} and {bad} of {grads.Count} parameter gradients are not finite; the optimiser step was skipped, and the model, the optimiser and the selection state are as they were."),
            NumericsCheck.Recheck());
    }

    /// <summary>Throws <see cref="NonFiniteLossException"/> when a kept sample's loss is not finite.</summary>
    public static void PerSample(Tensor perSampleLoss)
    {
        using var scope = NewDisposeScope();
        Tensor finite = perSampleLoss.detach().isfinite();
        if (finite.all().item<bool>())
        {
            return;
        }

        long n = perSampleLoss.numel();
        throw NonFiniteSamples((int)(n - finite.sum().item<long>()), n,
            "kept samples' losses are not finite; nothing was remembered and no gradient was computed. Call BatchSelector.Rollback() to retry or skip the batch.");
    }

    /// <summary>The exception for <paramref name="bad"/> of <paramref name="n"/> non-finite per-sample losses, after the
    /// numerics check ran again.</summary>
    public static NonFiniteLossException NonFiniteSamples(int bad, long n, string what) =>
        new(double.NaN, 0, bad, string.Create(CultureInfo.InvariantCulture, $"{bad} of the {n} {what}"), NumericsCheck.Recheck());
}
