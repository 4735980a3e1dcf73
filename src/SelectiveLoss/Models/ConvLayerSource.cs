using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Models;

/// <summary>
/// Passes every convolution of a network, built and initialised as torchvision does, through the caller's
/// <c>conv_layer</c> factory (for example <c>WeightStandardizedConv2d.From</c>), and checks at build time that what
/// comes back keeps the convolution's parameters and output shape, so state_dict keys and shapes stay torchvision's.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2208:Instantiate argument exceptions correctly",
    Justification = "The exceptions name the public builders' conv_layer argument, which this class wraps.")]
internal sealed class ConvLayerSource
{
    private readonly Func<Conv2d, Module<Tensor, Tensor>>? factory;
    private readonly HashSet<Module> seen = new(ReferenceEqualityComparer.Instance);

    /// <summary>Wraps <paramref name="factory"/>; <see langword="null"/> keeps each <c>Conv2d</c> as it is.</summary>
    public ConvLayerSource(Func<Conv2d, Module<Tensor, Tensor>>? factory)
    {
        this.factory = factory;
    }

    /// <summary>The module to use in place of <paramref name="conv"/>, at <paramref name="where"/> (a state_dict prefix).</summary>
    /// <exception cref="ArgumentException">The factory threw, returned null, a module it returned before, or a module
    /// whose parameters or output shape differ from the convolution's.</exception>
    public Module<Tensor, Tensor> Create(Conv2d conv, string where)
    {
        if (factory is null)
        {
            return conv;
        }

        Module<Tensor, Tensor>? module;
        try
        {
            module = factory(conv);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ArgumentException($"conv_layer threw for '{where}': {e.Message}", "conv_layer", e);
        }

        if (module is null || !seen.Add(module))
        {
            throw new ArgumentException(
                $"conv_layer returned {(module is null ? "null" : "a module it had already returned")} for '{where}'; it must " +
                "return a new module for every convolution.", "conv_layer");
        }

        var expected = conv.named_parameters().Select(p => (p.name, shape: NormLayerSource.Format(p.parameter.shape))).ToList();
        var actual = module.named_parameters().Select(p => (p.name, shape: NormLayerSource.Format(p.parameter.shape))).ToList();
        if (!expected.SequenceEqual(actual))
        {
            throw new ArgumentException(
                $"conv_layer returned, for '{where}', a {module.GetType().Name} with parameters " +
                $"{string.Join(", ", actual.Select(p => $"{p.name} {p.shape}"))}, but the convolution has " +
                $"{string.Join(", ", expected.Select(p => $"{p.name} {p.shape}"))}; the keys and shapes must stay the same.",
                "conv_layer");
        }

        long[] input = { 1, conv.in_channels, 5, 5 };
        using (var scope = torch.NewDisposeScope())
        using (torch.no_grad())
        {
            ScalarType dtype = conv.weight.dtype;
            long[] want = conv.call(torch.zeros(input, dtype: dtype)).shape;
            long[] got;
            try
            {
                got = module.call(torch.zeros(input, dtype: dtype)).shape;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ArgumentException($"conv_layer returned, for '{where}', a {module.GetType().Name} that fails on a {NormLayerSource.Format(input)} input: {e.Message}", "conv_layer", e);
            }

            if (!want.SequenceEqual(got))
            {
                throw new ArgumentException(
                    $"conv_layer returned, for '{where}', a {module.GetType().Name} that turns a {NormLayerSource.Format(input)} input " +
                    $"into {NormLayerSource.Format(got)} where the convolution gives {NormLayerSource.Format(want)}.", "conv_layer");
            }
        }

        return module;
    }
}
