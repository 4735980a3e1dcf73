using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;

namespace SelectiveLoss.Training;

/// <summary>Temporary stand-in for BatchCoupling.Find until the normalization module lands.</summary>
internal static class BatchCouplingCheck
{
    public static IReadOnlyList<string> Find(torch.nn.Module model) =>
        model.named_modules()
            .Where(m => m.module.training && m.module is BatchNorm1d or BatchNorm2d or BatchNorm3d)
            .Select(m => m.name)
            .ToList();
}
