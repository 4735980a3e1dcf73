using System;
using SelectiveLoss.Selection;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>The per-sample loss (checked: one loss per sample) and the one reduction of the kept samples' weighted losses.</summary>
internal sealed class LossFunction(Func<Tensor, Tensor, Tensor>? perSample, LossReduction reduction)
{
    private readonly Func<Tensor, Tensor, Tensor> function = perSample ?? CrossEntropy;

    public LossReduction Reduction { get; } = reduction;

    /// <exception cref="InvalidOperationException">The function did not return one loss per sample.</exception>
    public Tensor PerSample(Tensor output, Tensor target, long n) => Checked(function(output, target), n, "The per-sample loss function returned");

    /// <summary>Checks losses a caller computed for <paramref name="n"/> kept samples.</summary>
    /// <exception cref="ArgumentException">Not one floating-point loss per kept sample.</exception>
    public static Tensor CheckKept(Tensor perSampleLoss, long n)
    {
        ArgumentNullException.ThrowIfNull(perSampleLoss);
        if (perSampleLoss.dim() != 1 || perSampleLoss.shape[0] != n || !perSampleLoss.is_floating_point())
        {
            throw new ArgumentException(
                $"perSampleLoss must be 1-D floating point with one loss per kept sample ([{n}]), in the order of the selected batch, " +
                $"but has shape [{string.Join(", ", perSampleLoss.shape)}] of {perSampleLoss.dtype}. Compute it on SelectedBatch.Input and " +
                "SelectedBatch.Target with reduction: Reduction.None.", nameof(perSampleLoss));
        }

        return perSampleLoss;
    }

    /// <summary><c>sum(w * loss)</c>, divided by the number of samples for <see cref="LossReduction.Mean"/>; weights in
    /// any dtype, converted to the losses' (the rules make them in float64, so a float64 model gets them exact).</summary>
    public Tensor Reduce(Tensor losses, Tensor? weights)
    {
        if (weights is null)
        {
            return Reduction == LossReduction.Mean ? losses.mean() : losses.sum();
        }

        Tensor weighted = (losses * weights.to(losses.dtype, losses.device)).sum();
        if (Reduction != LossReduction.Mean)
        {
            return weighted;
        }

        using Scalar count = losses.shape[0].ToScalar(); // held, not implicit: see HeldScalars
        return weighted / count;
    }

    private static Tensor Checked(Tensor loss, long n, string what)
    {
        if (loss is null || loss.dim() != 1 || loss.shape[0] != n || !loss.is_floating_point())
        {
            string got = loss is null ? "null" : $"shape [{string.Join(", ", loss.shape)}] of {loss.dtype}";
            throw new InvalidOperationException(
                $"{what} {got}, but a 1-D floating-point tensor with one loss per sample " +
                $"([{n}]) is needed. Use reduction: Reduction.None and average any other dimensions per sample. " +
                "No parameter was changed.");
        }

        return loss;
    }

    private static Tensor CrossEntropy(Tensor output, Tensor target) =>
        nn.functional.cross_entropy(output, target, reduction: nn.Reduction.None);
}
