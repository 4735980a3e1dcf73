using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using SelectiveLoss.Normalization;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Models;

/// <summary>
/// Creates every norm layer of a network from the caller's <c>norm_layer</c> factory, checks at build time that
/// each one fits its channel count, and gives it PyTorch's initial values (weight 1, bias 0, running mean 0, running
/// variance 1), whatever the factory handed over. TorchSharp 0.107.0's <c>GroupNorm</c> leaves its affine
/// parameters uninitialised, so this step is what makes a GroupNorm network start from defined values.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2208:Instantiate argument exceptions correctly",
    Justification = "The exceptions name the public builders' norm_layer argument, which this class wraps.")]
internal sealed class NormLayerSource
{
    private readonly Func<long, Module<Tensor, Tensor>> factory;
    private readonly HashSet<Module> seen = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Wraps <paramref name="factory"/>; <see langword="null"/> means <see cref="HeldScalarBatchNorm2d"/>: TorchSharp's
    /// <c>BatchNorm2d</c> with its Scalars held, since TorchSharp's own can crash a long run (docs/scalar-race.md).
    /// </summary>
    public NormLayerSource(Func<long, Module<Tensor, Tensor>>? factory)
    {
        this.factory = factory ?? (channels => new HeldScalarBatchNorm2d(channels));
    }

    /// <summary>
    /// Creates, checks and initialises the norm layer for <paramref name="channels"/> channels, to be placed at
    /// <paramref name="where"/> (a state_dict prefix, used in messages).
    /// </summary>
    /// <exception cref="ArgumentException">The factory returned null, a module it returned before, or a module that does
    /// not fit <paramref name="channels"/> channels.</exception>
    public Module<Tensor, Tensor> Create(long channels, string where)
    {
        Module<Tensor, Tensor>? module;
        try
        {
            module = factory(channels);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ArgumentException(
                $"norm_layer({channels}) threw for '{where}': {e.Message}", "norm_layer", e);
        }

        if (module is null)
        {
            throw new ArgumentException(
                $"norm_layer({channels}) returned null for '{where}'; it must return a new norm module for that many channels.",
                "norm_layer");
        }

        if (!seen.Add(module))
        {
            throw new ArgumentException(
                $"norm_layer({channels}) returned, for '{where}', a module it had already returned; it must create a new " +
                "module on every call, or the network's norm layers would share their parameters.",
                "norm_layer");
        }

        CheckShapes(module, channels, where);
        Initialise(module);
        Probe(module, channels, where);
        return module;
    }

    private static void CheckShapes(Module module, long channels, string where)
    {
        var named = module.named_parameters().Select(p => (p.name, kind: "parameter", shape: p.parameter.shape))
            .Concat(module.named_buffers().Select(b => (b.name, kind: "buffer", shape: b.buffer.shape)));
        foreach (var (name, kind, shape) in named)
        {
            // Scalars (BatchNorm's num_batches_tracked) carry no channel dimension; everything else must be [channels].
            if (shape.Length == 0)
            {
                continue;
            }

            if (shape.Length != 1 || shape[0] != channels)
            {
                throw new ArgumentException(
                    $"norm_layer({channels}) returned, for '{where}', a {module.GetType().Name} whose {kind} '{name}' has " +
                    $"shape {Format(shape)}; a norm layer for {channels} channels needs shape [{channels}].",
                    "norm_layer");
            }
        }
    }

    // init.ones_ and zero_ take no LibTorch Scalar: fill_(1) would pass one that only its finalizer frees
    // (docs/scalar-race.md).
    private static void Initialise(Module module)
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            switch (Leaf(name))
            {
                case "weight":
                    init.ones_(parameter);
                    break;
                case "bias":
                    parameter.zero_();
                    break;
                default:
                    break;
            }
        }

        foreach (var (name, buffer) in module.named_buffers())
        {
            switch (Leaf(name))
            {
                case "running_mean":
                case "num_batches_tracked":
                    buffer.zero_();
                    break;
                case "running_var":
                    init.ones_(buffer);
                    break;
                default:
                    break;
            }
        }
    }

    // A forward pass on a tiny input, in eval mode so that no running statistics move: catches norm layers whose
    // parameters look right but that cannot normalise this many channels (a GroupNorm whose group count does not
    // divide them) or that change the shape, here rather than deep inside the first real forward pass.
    private static void Probe(Module<Tensor, Tensor> module, long channels, string where)
    {
        long[] input = { 2, channels, 2, 2 };
        long[] output;
        bool wasTraining = module.training;
        module.eval();
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var dtype = module.parameters().Select(p => (ScalarType?)p.dtype).FirstOrDefault() ?? torch.get_default_dtype();
            output = module.call(torch.zeros(input, dtype: dtype)).shape;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ArgumentException(
                $"norm_layer({channels}) returned, for '{where}', a {module.GetType().Name} that cannot normalise {channels} " +
                $"channels: {e.Message}",
                "norm_layer", e);
        }
        finally
        {
            module.train(wasTraining);
        }

        if (!output.SequenceEqual(input))
        {
            throw new ArgumentException(
                $"norm_layer({channels}) returned, for '{where}', a {module.GetType().Name} that turns a {Format(input)} " +
                $"input into {Format(output)}; a norm layer must keep the shape.",
                "norm_layer");
        }
    }

    private static string Leaf(string name) => name[(name.LastIndexOf('.') + 1)..];

    internal static string Format(long[] shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}
