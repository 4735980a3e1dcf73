using System.Collections.Generic;
using System.Linq;
using System.Threading;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Models;

/// <summary>
/// torchvision's <c>memory_efficient</c> idea on TorchSharp's custom autograd functions (TorchSharp 0.107.0 has no
/// <c>torch.utils.checkpoint</c>): the forward pass computes a dense layer's concatenation, norm1, ReLU and conv1
/// without recording a graph, so the concatenated input and norm1's output are freed at once; the backward pass
/// recomputes them with a graph, differentiates, and hands the gradients of the block's features and of norm1's and
/// conv1's parameters to the autograd engine.
/// </summary>
internal sealed class CheckpointedBottleneck : torch.autograd.SingleTensorFunction<CheckpointedBottleneck>
{
    private const string LayerKey = "layer";
    private const string CountKey = "count";

    private static long backwardCalls;

    /// <summary>How many times a checkpointed bottleneck has been recomputed in a backward pass (for tests).</summary>
    internal static long BackwardCalls => Interlocked.Read(ref backwardCalls);

    /// <inheritdoc/>
    public override string Name => nameof(CheckpointedBottleneck);

    /// <summary>Runs <see cref="DenseLayer.Bottleneck"/> of <paramref name="layer"/> as a checkpointed function.</summary>
    public static Tensor Apply(DenseLayer layer, IReadOnlyList<Tensor> features)
    {
        var args = new List<object> { layer, features.Count };
        args.AddRange(features);
        args.AddRange(layer.BottleneckParameters());
        return apply(args.ToArray());
    }

    /// <inheritdoc/>
    public override Tensor forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var layer = (DenseLayer)vars[0];
        int count = (int)vars[1];
        var features = vars.Skip(2).Take(count).Cast<Tensor>().ToList();
        ctx.save_data(LayerKey, layer);
        ctx.save_data(CountKey, count);
        ctx.save_for_backward(features);

        // An unused output gets no gradient: say so with an undefined tensor rather than have TorchSharp make zeros
        // from its cached empty copy of the output (which lives in the caller's dispose scope, so it is already gone).
        ctx.set_materialize_grads(false);

        // TorchSharp runs this with gradients off: the result carries no graph and nothing in between is kept.
        return layer.Bottleneck(features);
    }

    /// <inheritdoc/>
    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, Tensor grad_output)
    {
        Interlocked.Increment(ref backwardCalls);
        var layer = (DenseLayer)ctx.get_data(LayerKey);
        int count = (int)ctx.get_data(CountKey);

        // No grads for the two non-tensor arguments (the layer and the feature count).
        var gradients = new List<Tensor> { null!, null! };
        if (grad_output is null || grad_output.IsInvalid)
        {
            gradients.AddRange(Enumerable.Repeat<Tensor>(null!, count + layer.BottleneckParameters().Count()));
            return gradients;
        }

        using (var scope = torch.NewDisposeScope())
        {
            using var enableGrad = torch.enable_grad();
            var saved = ctx.get_saved_variables();
            var features = saved.Take(count).Select(f => f.detach().requires_grad_(f.requires_grad)).ToList();
            var parameters = layer.BottleneckParameters().Cast<Tensor>().ToList();
            var snapshot = layer.SnapshotNorm1Buffers();
            var output = layer.Bottleneck(features);
            var wanted = features.Concat(parameters).Where(t => t.requires_grad).ToList();
            var grads = torch.autograd.grad(new[] { output }, wanted, new[] { grad_output });
            DenseLayer.RestoreBuffers(snapshot);

            int next = 0;
            foreach (var t in features.Concat(parameters))
            {
                gradients.Add(t.requires_grad ? scope.MoveToOuter(grads[next++]) : null!);
            }
        }

        return gradients;
    }
}
