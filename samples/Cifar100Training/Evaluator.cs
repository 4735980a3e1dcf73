using System;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cifar100Training;

/// <summary>Test accuracy on the clean test set, in eval mode and without gradients.</summary>
internal sealed class Evaluator(CifarData test, BatchBuilder batches, int batchSize, ulong seed, Device device)
{
    public double Accuracy(Module<Tensor, Tensor> model)
    {
        model.eval();
        long correct = 0;
        int[] all = Enumerable.Range(0, test.Count).ToArray();
        int batch = Math.Max(batchSize, 256);
        using (no_grad())
        {
            for (int from = 0; from < test.Count; from += batch)
            {
                using var scope = NewDisposeScope();
                var (x, y) = batches.Build(test, all.AsSpan(from, Math.Min(batch, test.Count - from)), Augmentation.None, seed, 0, device);
                correct += model.forward(x).argmax(1).eq(y).sum().ToInt64();
            }
        }

        model.train();
        return (double)correct / test.Count;
    }
}
