using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelectiveLoss.Normalization;

/// <summary>
/// Tells whether a model mixes the samples of a batch, so that one sample's output (and gradient) depends on the
/// others: statically, from the module types and the current mode, and empirically, by perturbing one sample.
/// </summary>
/// <remarks>
/// <para>
/// <b>Why it matters.</b> A BatchNorm in training mode normalises each sample with the mean and variance of the whole
/// batch, so every output depends on every sample in the batch. Selective training (backpropagating only the
/// samples with the lowest or highest loss) then does not do what it says: the kept samples' gradients depend on the
/// dropped ones, dropped samples still receive gradient, and scoring a batch in training mode also moves the running
/// statistics. In evaluation mode a BatchNorm with running statistics uses those fixed statistics and is per-sample;
/// one built with <c>track_running_stats: false</c> has none and uses batch statistics in both modes.
/// </para>
/// <para>
/// <see cref="Find"/> covers TorchSharp's BatchNorm family (<c>BatchNorm1d</c>, <c>BatchNorm2d</c>,
/// <c>BatchNorm3d</c> and any subclass of TorchSharp's <c>BatchNorm</c>), registered or hidden in fields. It cannot see
/// custom modules whose forward computes statistics across the batch dimension: run <see cref="Probe"/> on your model
/// to measure instead. GroupNorm, LayerNorm, InstanceNorm, dropout, convolutions and linear layers do not couple samples.
/// </para>
/// </remarks>
public static class BatchCoupling
{
    /// <summary>
    /// Lists the modules that couple the samples of a batch in the model's current mode: every BatchNorm in training
    /// mode, and every BatchNorm without running statistics in either mode.
    /// </summary>
    /// <param name="model">The model, in the mode (<c>train()</c> or <c>eval()</c>) you want to check.</param>
    /// <returns>The paths of the coupling modules in <c>named_modules()</c> order (the empty string for the root), then
    /// those held in fields that TorchSharp never registered (a field path such as <c>block.norms[0]</c>); empty when
    /// none is found.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is <see langword="null"/>.</exception>
    /// <example>
    /// <code language="csharp">
    /// model.train();
    /// IReadOnlyList&lt;string&gt; coupling = BatchCoupling.Find(model); // e.g. ["features.norm0", ...]
    /// if (coupling.Count &gt; 0) model.ReplaceBatchNorm();
    /// </code>
    /// </example>
    public static IReadOnlyList<string> Find(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        ModuleScan<BatchNorm> scan = ModuleScan<BatchNorm>.Run(model, NormalizationSwapper.ReplacementType);
        return scan.Walked.Select(w => (w.Path, Norm: w.Module as BatchNorm))
            .Concat(scan.Hidden.Select(h => (h.Path, Norm: (BatchNorm?)h.Norm)))
            .Where(e => e.Norm is not null && Couples(e.Norm))
            .Select(e => e.Path)
            .ToList();
    }

    /// <summary>
    /// Measures coupling on a real batch: adds seeded Gaussian noise to one sample, runs the model on the batch before
    /// and after (in its current mode, under <c>no_grad</c>), and reports how much the other samples' outputs moved;
    /// optionally also the input gradient the other samples receive from the perturbed sample's output.
    /// </summary>
    /// <remarks>
    /// The model is left as it was: its buffers (BatchNorm running statistics, which a training-mode forward updates)
    /// are restored after every pass, no parameter gradient is accumulated (input gradients are computed with
    /// <c>torch.autograd.grad</c>), and the CPU random generator is reset before each pass and restored at the end, so
    /// dropout draws the same masks in both passes and your random stream is untouched. Dropout on a CUDA device draws
    /// from the CUDA generator, which the probe does not control: probe in <c>eval()</c> mode or on the CPU there.
    /// </remarks>
    /// <param name="model">The model; its output's dimension 0 must be the batch.</param>
    /// <param name="input">A floating-point batch <c>[N, ...]</c> with N of at least 2, on the model's device. Not modified.</param>
    /// <param name="options">Which sample, how much noise, the tolerance; <see langword="null"/> for the defaults.</param>
    /// <returns>The measured changes and the verdict (<see cref="BatchCouplingReport.IsCoupled"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> or <paramref name="input"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="input"/> has fewer than 2 samples or is not floating-point,
    /// or the model's output does not keep the batch in dimension 0.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the message says which).</exception>
    /// <exception cref="Numerics.NumericsFaultException">LibTorch's convolutions give wrong results on this CPU and no
    /// mitigation made them right (<see cref="Numerics.NumericsCheck"/>, run once per process before the first probe).</exception>
    /// <example>
    /// <code language="csharp">
    /// model.train();
    /// BatchCouplingReport report = BatchCoupling.Probe(model, torch.randn(8, 3, 32, 32));
    /// Console.WriteLine(report.IsCoupled ? $"samples {string.Join(", ", report.ChangedSamples)} changed" : "independent");
    /// </code>
    /// </example>
    public static BatchCouplingReport Probe(nn.Module<Tensor, Tensor> model, Tensor input, BatchCouplingProbeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        options ??= new BatchCouplingProbeOptions();
        if (input.Dimensions < 1 || input.shape[0] < 2)
        {
            throw new ArgumentException(
                $"The probe needs a batch of at least 2 samples in dimension 0; got shape [{string.Join(", ", input.shape)}].", nameof(input));
        }

        if (!input.is_floating_point())
        {
            throw new ArgumentException($"The probe perturbs the input with noise, so it must be floating-point, not {input.dtype}.", nameof(input));
        }

        long n = input.shape[0];
        if (options.PerturbedSample < 0 || options.PerturbedSample >= n)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.PerturbedSample,
                $"BatchCouplingProbeOptions.PerturbedSample must be in [0, {n - 1}] for this batch of {n}.");
        }

        if (!(options.Scale > 0) || double.IsInfinity(options.Scale))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Scale, "BatchCouplingProbeOptions.Scale must be positive and finite (1 by default).");
        }

        if (!(options.Tolerance >= 0) || double.IsInfinity(options.Tolerance))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Tolerance, "BatchCouplingProbeOptions.Tolerance must be non-negative and finite (1e-6 by default).");
        }

        Numerics.NumericsCheck.EnsureChecked();
        int k = options.PerturbedSample;
        using var scope = torch.NewDisposeScope();
        var buffers = model.buffers().ToList();
        var savedBuffers = buffers.Select(b => b.detach().clone()).ToList();
        Tensor rngState = torch.get_rng_state();
        try
        {
            Tensor clean = input.detach().clone();
            Tensor perturbed = clean.clone();
            using (torch.no_grad())
            {
                Tensor sample = clean[k];
                double spread = sample.numel() > 1 ? sample.to_type(ScalarType.Float64).std().item<double>() : 0;
                double size = options.Scale * (spread > 0 && double.IsFinite(spread) ? spread : 1);
                using var generator = new torch.Generator((ulong)options.Seed);
                Tensor noise = torch.randn(sample.shape, ScalarType.Float64, torch.CPU, generator: generator).mul_(size);
                perturbed[k].add_(noise.to(sample.dtype, sample.device));
            }

            Tensor before, after;
            using (torch.no_grad())
            {
                before = Run(model, clean, rngState, buffers, savedBuffers);
                after = Run(model, perturbed, rngState, buffers, savedBuffers);
            }

            if (before.Dimensions < 1 || before.shape[0] != n || !before.shape.SequenceEqual(after.shape))
            {
                throw new ArgumentException(
                    $"The model's output has shape [{string.Join(", ", before.shape)}]; the probe needs the batch of {n} in dimension 0.",
                    nameof(model));
            }

            Tensor change = (after.to_type(ScalarType.Float64) - before.to_type(ScalarType.Float64)).abs().reshape(n, -1);
            double[] perSample = change.numel() == 0 ? new double[n] : change.amax(new long[] { 1 }).cpu().data<double>().ToArray();
            double scale = before.numel() == 0 ? 0 : before.abs().max().to_type(ScalarType.Float64).item<double>();
            double threshold = options.Tolerance * Math.Max(1, double.IsFinite(scale) ? scale : 1);
            var changed = Enumerable.Range(0, (int)n).Where(j => j != k && !(perSample[j] <= threshold)).ToList();
            double maxOther = Enumerable.Range(0, (int)n).Where(j => j != k).Max(j => perSample[j]);

            double? gradient = options.IncludeInputGradients ? OtherSampleGradient(model, clean, k, rngState, buffers, savedBuffers) : null;
            return new BatchCouplingReport
            {
                Training = model.training,
                PerturbedSample = k,
                PerturbedSampleChange = perSample[k],
                MaxOtherSampleChange = maxOther,
                ChangedSamples = changed,
                MaxOtherSampleInputGradient = gradient,
                Threshold = threshold,
            };
        }
        finally
        {
            torch.set_rng_state(rngState);
        }
    }

    private static bool Couples(BatchNorm norm) => norm.training || norm.running_mean is null || norm.running_var is null;

    private static Tensor Run(nn.Module<Tensor, Tensor> model, Tensor x, Tensor rngState, List<Tensor> buffers, List<Tensor> saved)
    {
        torch.set_rng_state(rngState);
        try
        {
            return model.call(x);
        }
        finally
        {
            Restore(buffers, saved);
        }
    }

    private static double OtherSampleGradient(nn.Module<Tensor, Tensor> model, Tensor clean, int k, Tensor rngState, List<Tensor> buffers, List<Tensor> saved)
    {
        using var enabled = torch.enable_grad();
        Tensor x = clean.detach().clone().requires_grad_(true);
        torch.set_rng_state(rngState);
        try
        {
            Tensor y = model.call(x);
            Tensor target = y[k].sum();
            if (!target.requires_grad)
            {
                return 0;
            }

            Tensor? g = torch.autograd.grad(new[] { target }, new[] { x }, allow_unused: true)[0];
            if (g is null || g.Handle == IntPtr.Zero)
            {
                return 0;
            }

            using (torch.no_grad())
            {
                Tensor others = torch.cat(new[] { g[..k], g[(k + 1)..] }, 0);
                return others.numel() == 0 ? 0 : others.abs().max().to_type(ScalarType.Float64).item<double>();
            }
        }
        finally
        {
            Restore(buffers, saved);
        }
    }

    private static void Restore(List<Tensor> buffers, List<Tensor> saved)
    {
        using (torch.no_grad())
        {
            for (int i = 0; i < buffers.Count; i++)
            {
                buffers[i].copy_(saved[i]);
            }
        }
    }
}
