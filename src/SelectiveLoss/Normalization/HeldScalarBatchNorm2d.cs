using System;
using System.Diagnostics.CodeAnalysis;
using SelectiveLoss.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelectiveLoss.Normalization;

/// <summary>
/// TorchSharp's <c>BatchNorm2d</c>, with one difference: every LibTorch <see cref="Scalar"/> its forward pass passes to
/// native code is created explicitly and disposed after the call. The DenseNet builders use it when no
/// <c>norm_layer</c> is given. Same parameters, buffers, state_dict keys, dtypes and numbers as <c>nn.BatchNorm2d</c>.
/// </summary>
/// <remarks>
/// <para>
/// <b>Why.</b> TorchSharp 0.107.0's <c>BatchNorm.forward</c> counts batches with <c>num_batches_tracked.add_(1)</c>:
/// the <c>1</c> and the default <c>alpha</c> become implicit Scalars that only their finalizer frees. They are
/// unreachable as soon as TorchSharp has read their handles, so a garbage collection during the native call can let the
/// finalizer thread free them while LibTorch still reads them. Long training runs then die at random with
/// <c>ExternalException</c> "Expected false to be true ... toLong at c10/core/Scalar.h" (with momentum <see langword="null"/>
/// the conversion of the count to a double has the same race). This forward is TorchSharp's, line by line, with each
/// Scalar held by <c>using</c> until the native call has returned. docs/scalar-race.md has the measurements.
/// </para>
/// <para>
/// It derives from TorchSharp's <see cref="BatchNorm"/>, so <c>modules().OfType&lt;BatchNorm&gt;()</c>,
/// <see cref="BatchCoupling"/> and <see cref="NormalizationSwapper"/> treat it as the BatchNorm it is, and it reads
/// <see cref="NormBase.momentum"/> on every forward (setting it to 0 holds the running statistics, as for TorchSharp's).
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var model = DenseNets.densenet121(num_classes: 100, stem: DenseNetStem.Cifar);   // its norms are HeldScalarBatchNorm2d
/// var norm = new HeldScalarBatchNorm2d(64);                                        // in place of nn.BatchNorm2d(64)
/// </code>
/// </example>
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores",
    Justification = "Parameter names are nn.BatchNorm2d's (num_features, track_running_stats).")]
public sealed class HeldScalarBatchNorm2d : BatchNorm
{
    /// <summary>
    /// Creates the module as <c>nn.BatchNorm2d</c> does: weight 1, bias 0, running mean 0, running variance 1,
    /// <c>num_batches_tracked</c> 0 (an Int64 scalar tensor), in training mode.
    /// </summary>
    /// <param name="num_features">Channels <c>C</c> of the input <c>[N, C, H, W]</c>; at least 1.</param>
    /// <param name="eps">Added to the variance for numerical stability; positive.</param>
    /// <param name="momentum">Weight of the current batch in the running statistics' exponential average, in [0, 1];
    /// <see langword="null"/> for the cumulative average (each batch weighted 1 / <c>num_batches_tracked</c>).</param>
    /// <param name="affine">Whether the module has a learnable per-channel <c>weight</c> and <c>bias</c>.</param>
    /// <param name="track_running_stats">Whether the module keeps <c>running_mean</c>, <c>running_var</c> and
    /// <c>num_batches_tracked</c>; without them it normalises with batch statistics in evaluation mode too.</param>
    /// <param name="device">Device of the parameters and buffers; <see langword="null"/> for TorchSharp's default device.</param>
    /// <param name="dtype">Dtype of the parameters and running statistics; <see langword="null"/> for TorchSharp's default.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="num_features"/> is below 1, <paramref name="eps"/> is not
    /// positive and finite, or <paramref name="momentum"/> is outside [0, 1].</exception>
    /// <exception cref="TorchSharpLoadException">TorchSharp's native library cannot be loaded.</exception>
    public HeldScalarBatchNorm2d(long num_features, double eps = 1e-5, double? momentum = 0.1, bool affine = true,
        bool track_running_stats = true, Device? device = null, ScalarType? dtype = null)
        : base(CheckFeatures(num_features), CheckEps(eps), CheckMomentum(momentum), affine, track_running_stats, device, dtype,
            TorchRuntime.EnsureLoaded(nameof(HeldScalarBatchNorm2d)))
    {
        this.momentum = momentum;
    }

    /// <summary>
    /// Normalises each channel with the batch's statistics (training mode, or no running statistics) or the running ones,
    /// as TorchSharp's <c>BatchNorm2d</c> does; in training mode it first adds 1 to <c>num_batches_tracked</c> and moves
    /// the running statistics by <see cref="NormBase.momentum"/> (1 / <c>num_batches_tracked</c> when it is null).
    /// </summary>
    /// <param name="input">A tensor <c>[N, C, H, W]</c>.</param>
    /// <returns>The normalised tensor, of the input's shape.</returns>
    /// <exception cref="ArgumentException"><paramref name="input"/> does not have four dimensions.</exception>
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        double exponentialAverageFactor = momentum ?? 0.0;
        if (training && track_running_stats && num_batches_tracked is { } tracked)
        {
            // TorchSharp: num_batches_tracked.add_(1), whose 1 and default alpha are implicit Scalars.
            using (Scalar one = 1L.ToScalar())
            {
                tracked.add_(one, one);
            }

            if (momentum is { } m)
            {
                exponentialAverageFactor = m;
            }
            else
            {
                // TorchSharp: 1.0 / (double)num_batches_tracked, which reads the count through an implicit Scalar too.
                using Scalar count = tracked.ToScalar();
                exponentialAverageFactor = 1.0 / count.ToDouble();
            }
        }

        bool batchStatistics = training || (running_mean is null && running_var is null);
        bool useRunning = !training || track_running_stats;
        return nn.functional.batch_norm(input, useRunning ? running_mean : null, useRunning ? running_var : null,
            weight, bias, batchStatistics, exponentialAverageFactor, eps);
    }

    /// <inheritdoc/>
    protected override void ValidateInputDimensions(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.ndim != 4)
        {
            throw new ArgumentException($"expected 4D input, but got {input.ndim}D input.", nameof(input));
        }
    }

    private static long CheckFeatures(long num_features) => num_features >= 1
        ? num_features
        : throw new ArgumentOutOfRangeException(nameof(num_features), num_features, "The channel count must be at least 1.");

    private static double CheckEps(double eps) => eps > 0 && !double.IsInfinity(eps)
        ? eps
        : throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be a positive finite number, for example 1e-5.");

    private static double CheckMomentum(double? momentum) => momentum is null || (momentum >= 0 && momentum <= 1)
        ? momentum ?? 0.1
        : throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must be in [0, 1], or null for the cumulative average.");
}
