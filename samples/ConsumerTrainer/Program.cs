// A minimal trainer consuming SelectiveLoss from its NuGet package: a small GroupNorm DenseNet trained with the
// rebatched selective step on generated CIFAR-shaped data. Exits non-zero if anything is off.
using System;
using System.Linq;
using SelectiveLoss.Models;
using SelectiveLoss.Normalization;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using TorchSharp;
using static TorchSharp.torch;

torch.manual_seed(0);
var model = new DenseNet(growth_rate: 12, block_config: new[] { 2, 2, 2 }, num_init_features: 24, num_classes: 10,
    stem: DenseNetStem.Cifar, norm_layer: c => new ChannelGroupNorm(ChannelGroupNorm.DefaultGroupCount(c), c));
using var optimizer = optim.SGD(model.parameters(), learningRate: 0.05, momentum: 0.9);
using var step = new SelectiveStep(model, optimizer, new SelectiveLossReducer(keepRatio: 0.6));

if (BatchCoupling.Find(model).Count != 0)
{
    Console.Error.WriteLine("a GroupNorm DenseNet should not couple samples");
    return 1;
}

using var x = randn(32, 3, 32, 32);
using var y = randint(0, 10, new long[] { 32 });
var losses = Enumerable.Range(0, 8).Select(_ => step.Step(x, y)).ToList();
Console.WriteLine($"consumer trainer: {losses.Count} rebatched steps, kept {losses[0].KeptCount} of 32 each, " +
    $"loss {losses[0].Loss:0.000} -> {losses[^1].Loss:0.000}, exact: {losses.All(r => r.IsExact)}");
return losses[^1].Loss < losses[0].Loss && losses.All(r => r.IsExact && r.KeptCount == 19) ? 0 : 1;
