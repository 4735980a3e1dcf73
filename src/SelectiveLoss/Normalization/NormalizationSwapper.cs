using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelectiveLoss.Normalization;

/// <summary>
/// Replaces every BatchNorm of a TorchSharp model with a GroupNorm, so that each sample's output and gradient depend
/// on that sample alone.
/// </summary>
/// <remarks>
/// <para>
/// <b>Why BatchNorm couples the samples of a batch.</b> In training mode a BatchNorm normalises every sample with the
/// mean and variance of the whole batch. Each output therefore depends on every other sample in the batch, and so does
/// each gradient: training on a selected part of a batch (the lowest-loss samples, say) is not the same as training on
/// those samples alone, dropped samples still receive gradient, and the selection changes the statistics it was
/// computed from. GroupNorm computes its statistics per sample (over groups of channels), so samples stay independent
/// in both modes.
/// </para>
/// <para>
/// <b>Why a registry-only replacement is a trap in TorchSharp.</b> In PyTorch, replacing a child is a
/// <c>setattr</c>. In TorchSharp, a module's <c>forward</c> reads its C# fields, while <c>named_children()</c>,
/// <c>parameters()</c>, <c>state_dict()</c>, <c>train()</c> and <c>.to()</c> read a separate registry filled once
/// by <c>RegisterComponents()</c>. Changing only the registry (<c>register_module</c>) leaves the old BatchNorm
/// running in forward while <c>parameters()</c> stops listing it, so the optimiser silently stops training a layer
/// that still runs; <c>Sequential</c> keeps private lists and ignores <c>register_module</c>. This class rewrites every
/// place that holds a BatchNorm: the registry entry (in place, so state_dict keys keep their order), every field of
/// the owning module that refers to it (<c>readonly</c> and private fields included), and the private lists of
/// <c>Sequential</c>, <c>ModuleList&lt;T&gt;</c> and <c>ModuleDict&lt;T&gt;</c>.
/// </para>
/// <para>
/// <b>Atomic.</b> The whole tree is validated first. A BatchNorm that cannot be replaced (held in a field declared as
/// <c>BatchNorm2d</c>, in a <c>ModuleList&lt;BatchNorm2d&gt;</c>, in a plain array TorchSharp never registered, or with
/// forward hooks) makes the call throw one <see cref="NormalizationSwapException"/> naming every such path, and the
/// model is left exactly as it was.
/// </para>
/// </remarks>
public static class NormalizationSwapper
{
    /// <summary>
    /// Replaces every <c>BatchNorm1d</c>, <c>BatchNorm2d</c>, <c>BatchNorm3d</c> and <see cref="HeldScalarBatchNorm2d"/>
    /// reachable from <paramref name="root"/> (fields of custom modules, <c>Sequential</c>, <c>ModuleList</c>,
    /// <c>ModuleDict</c> and the root itself) with a GroupNorm: TorchSharp's own <see cref="GroupNorm"/> for
    /// <c>BatchNorm2d</c>, <see cref="HeldScalarBatchNorm2d"/> and <c>BatchNorm3d</c>, whose input always has spatial
    /// dimensions, and a <see cref="ChannelGroupNorm"/> for
    /// <c>BatchNorm1d</c>, which may see <c>[N, C]</c> input that TorchSharp's GroupNorm refuses.
    /// </summary>
    /// <remarks>
    /// Each replacement keeps the BatchNorm's eps, affine flag, device, dtype, the parameters' <c>requires_grad</c> and
    /// training mode, and by default its learned weight and bias (see <see cref="GroupNormOptions.CopyAffine"/>;
    /// otherwise weight 1 and bias 0, which TorchSharp 0.107.0's GroupNorm constructor does not set by itself).
    /// Running statistics are dropped (listed in <see cref="NormalizationSwapReport.DroppedStateKeys"/>); every other
    /// state_dict key keeps its name and order. Group counts follow <see cref="ChannelGroupNorm.DefaultGroupCount"/>
    /// (at most 32 groups; at least 2 channels per group for the 2-D and 3-D BatchNorms, at least
    /// <see cref="ChannelGroupNorm.MinFeaturesPerGroup"/> for <c>BatchNorm1d</c>, else one group) unless
    /// <see cref="GroupNormOptions.Groups"/> is set. The replaced BatchNorm modules are not disposed.
    /// Build the optimiser after the swap: parameters of the old layers are no longer part of the model.
    /// A second call finds nothing to replace.
    /// <para>
    /// By default (<see cref="GroupNormOptions.StandardizeConvWeights"/>) every <c>Conv2d</c> is also replaced with a
    /// <see cref="WeightStandardizedConv2d"/> with the same weight, bias and state_dict keys, because GroupNorm alone
    /// learns more slowly than BatchNorm when training from scratch. To fine-tune weights trained with plain convolutions,
    /// set it to <see langword="false"/>: standardisation changes what those filters compute.
    /// </para>
    /// </remarks>
    /// <param name="root">The model. Modified in place, unless the root itself is a BatchNorm (then use
    /// <see cref="NormalizationSwapReport.Root"/>).</param>
    /// <param name="options">How to build the replacements; <see langword="null"/> for the defaults.</param>
    /// <returns>What was replaced, the (possibly new) root, and the state_dict keys that disappeared.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="root"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="GroupNormOptions.Groups"/> or
    /// <see cref="GroupNormOptions.MaxGroups"/> is below 1.</exception>
    /// <exception cref="ArgumentException"><see cref="GroupNormOptions.Groups"/> does not divide the channel count of
    /// some BatchNorm, or leaves one channel per group in a <c>BatchNorm1d</c>; the message names every such layer and
    /// nothing is changed.</exception>
    /// <exception cref="NormalizationSwapException">Some BatchNorm (or, under
    /// <see cref="GroupNormOptions.StandardizeConvWeights"/>, some <c>Conv2d</c>) cannot be replaced; the exception lists
    /// every one with the reason, and nothing is changed.</exception>
    /// <example>
    /// <code language="csharp">
    /// var model = nn.Sequential(
    ///     ("conv", nn.Conv2d(3, 64, 3)), ("norm", nn.BatchNorm2d(64)), ("relu", nn.ReLU()));
    /// NormalizationSwapReport report = model.ReplaceBatchNorm();
    /// // report.Replaced[0]: Path "norm", BatchNorm2d(64) -> 32 groups, weight and bias copied.
    /// var optimizer = optim.SGD(report.Root.parameters(), 0.1); // build the optimiser after the swap
    /// </code>
    /// </example>
    public static NormalizationSwapReport ReplaceBatchNorm(this nn.Module root, GroupNormOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        options ??= new GroupNormOptions();
        ValidateOptions(options);

        ModuleScan<BatchNorm> scan = ModuleScan<BatchNorm>.Run(root, ReplacementType);
        ModuleScan<Conv2d>? convScan = ScanConvolutions(root, options);
        List<SwapRefusal> refusals = Refusals(scan, convScan);
        if (refusals.Count > 0)
        {
            throw new NormalizationSwapException(refusals);
        }

        var plans = scan.Targets.Select(t => (Target: t, Groups: GroupsFor(t, options))).ToList();
        var badGroups = plans.Where(p => p.Groups is null).Select(p => p.Target).ToList();
        if (badGroups.Count > 0)
        {
            throw new ArgumentException(
                $"GroupNormOptions.Groups = {options.Groups} cannot be used for {badGroups.Count} layer(s), so nothing was changed: " +
                string.Join("; ", badGroups.Select(t => $"{Display(t.Paths[0])} ({t.Norm.GetType().Name}, {t.Norm.num_features} channels)")) +
                ". A group count must divide the channel count and, for BatchNorm1d (which may see [N, C] input), leave at " +
                "least two channels per group. Leave Groups null to use ChannelGroupNorm.DefaultGroupCount per layer.",
                nameof(options));
        }

        // Build every replacement before touching the model, so a failure here changes nothing.
        var built = new List<(ModuleTarget<BatchNorm> Target, nn.Module<Tensor, Tensor> Replacement, long Groups)>();
        var convs = new List<(ModuleTarget<Conv2d> Target, WeightStandardizedConv2d Replacement)>();
        try
        {
            foreach (var (target, groups) in plans)
            {
                built.Add((target, Build(target.Norm, groups!.Value, options.CopyAffine), groups.Value));
            }

            foreach (ModuleTarget<Conv2d> target in convScan?.Targets ?? Array.Empty<ModuleTarget<Conv2d>>())
            {
                convs.Add((target, WeightStandardizedConv2d.From(target.Norm)));
            }
        }
        catch
        {
            foreach (nn.Module replacement in built.Select(b => (nn.Module)b.Replacement).Concat(convs.Select(c => c.Replacement)))
            {
                replacement.Dispose();
            }

            throw;
        }

        nn.Module newRoot = root;
        var applied = new List<(ModuleSlot Slot, nn.Module Original)>();
        try
        {
            var placed = new List<(IReadOnlyList<string> Paths, nn.Module Replacement)>();
            foreach (var (target, replacement, _) in built)
            {
                Place(target, replacement, applied, ref newRoot);
                placed.Add((target.Paths, replacement));
            }

            foreach (var (target, replacement) in convs)
            {
                Place(target, replacement, applied, ref newRoot);
                placed.Add((target.Paths, replacement));
            }

            Verify(newRoot, placed);
        }
        catch (Exception e)
        {
            for (int i = applied.Count - 1; i >= 0; i--)
            {
                applied[i].Slot.Set(applied[i].Original);
            }

            foreach (nn.Module replacement in built.Select(b => (nn.Module)b.Replacement).Concat(convs.Select(c => c.Replacement)))
            {
                replacement.Dispose();
            }

            throw new NormalizationSwapException(
                "Replacing the BatchNorm layers failed half-way and was rolled back; the model is as it was. " + e.Message, e);
        }

        var swapped = built
            .SelectMany(b => b.Target.Paths.Select(path => new SwappedNorm
            {
                Path = path,
                OriginalType = b.Target.Norm.GetType(),
                Channels = b.Target.Norm.num_features,
                Groups = b.Groups,
                Eps = b.Target.Norm.eps,
                Affine = b.Target.Norm.affine,
                AffineCopied = b.Target.Norm.affine && options.CopyAffine,
                RunningStatisticsDropped = b.Target.Norm.track_running_stats,
                Replacement = b.Replacement,
            }))
            .ToList();
        var order = scan.Walked.Select((w, i) => (w.Path, i)).GroupBy(w => w.Path).ToDictionary(g => g.Key, g => g.First().i);
        swapped.Sort((a, b) => order[a.Path].CompareTo(order[b.Path]));
        var standardized = convs.SelectMany(c => c.Target.Paths).OrderBy(p => order.TryGetValue(p, out int i) ? i : int.MaxValue).ToList();
        return new NormalizationSwapReport(newRoot, swapped, standardized);
    }

    /// <summary>
    /// Dry run of <see cref="ReplaceBatchNorm"/>: the paths of the BatchNorm layers it would replace, in
    /// <c>named_modules()</c> order (the empty string for a BatchNorm root). Changes nothing.
    /// </summary>
    /// <param name="root">The model.</param>
    /// <returns>The registered BatchNorm paths; a shared BatchNorm appears once per path. Use <see cref="Validate"/> to
    /// learn whether the swap would be refused.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="root"/> is <see langword="null"/>.</exception>
    public static IReadOnlyList<string> FindBatchNorm(this nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return ModuleScan<BatchNorm>.Run(root, ReplacementType).Walked.Where(w => w.Module is BatchNorm).Select(w => w.Path).ToList();
    }

    /// <summary>
    /// Lists every BatchNorm (and, under <see cref="GroupNormOptions.StandardizeConvWeights"/>, every <c>Conv2d</c>) that
    /// <see cref="ReplaceBatchNorm"/> with the same <paramref name="options"/> would refuse to replace, and why, without
    /// changing anything. An empty list means the swap's structure checks pass (an explicit group count is checked by the
    /// swap).
    /// </summary>
    /// <param name="root">The model.</param>
    /// <param name="options">The options the swap will use; <see langword="null"/> for the defaults, which also replace
    /// every convolution.</param>
    /// <returns>The refusals; empty when every BatchNorm (and convolution) can be replaced.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="root"/> is <see langword="null"/>.</exception>
    public static IReadOnlyList<SwapRefusal> Validate(nn.Module root, GroupNormOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        options ??= new GroupNormOptions();
        return Refusals(ModuleScan<BatchNorm>.Run(root, ReplacementType), ScanConvolutions(root, options));
    }

    private static ModuleScan<Conv2d>? ScanConvolutions(nn.Module root, GroupNormOptions options) =>
        options.StandardizeConvWeights ? ModuleScan<Conv2d>.Run(root, _ => typeof(WeightStandardizedConv2d)) : null;

    // A problem both scans find (a TorchSharp internal that is missing, say) is reported once. A convolution refused
    // only because of weight standardisation has a second fix: leave the convolutions alone.
    private static List<SwapRefusal> Refusals(ModuleScan<BatchNorm> scan, ModuleScan<Conv2d>? convScan) =>
        scan.Refusals.Concat((convScan?.Refusals ?? Array.Empty<SwapRefusal>()).Except(scan.Refusals).Select(r => r with
        {
            Reason = r.Reason + " Or set GroupNormOptions.StandardizeConvWeights = false to swap the norms only and keep the convolutions.",
        })).ToList();

    private static void ValidateOptions(GroupNormOptions options)
    {
        if (options.Groups is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Groups,
                "GroupNormOptions.Groups must be at least 1, or null for the default rule.");
        }

        if (options.MaxGroups < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxGroups,
                "GroupNormOptions.MaxGroups must be at least 1 (32 by default).");
        }
    }

    private static long? GroupsFor(ModuleTarget<BatchNorm> target, GroupNormOptions options)
    {
        long channels = target.Norm.num_features;
        bool spatial = target.Norm is BatchNorm2d or BatchNorm3d or HeldScalarBatchNorm2d;
        if (options.Groups is not { } groups)
        {
            return ChannelGroupNorm.DefaultGroupCount(channels, options.MaxGroups, spatial ? 2 : ChannelGroupNorm.MinFeaturesPerGroup);
        }

        bool fits = channels % groups == 0 && (spatial || channels / groups >= 2);
        return fits ? groups : null;
    }

    /// <summary>The type of module that replaces <paramref name="norm"/>.</summary>
    internal static Type ReplacementType(BatchNorm norm) => norm is BatchNorm1d ? typeof(ChannelGroupNorm) : typeof(GroupNorm);

    private static nn.Module<Tensor, Tensor> Build(BatchNorm norm, long groups, bool copyAffine)
    {
        Tensor? reference = norm.affine ? norm.weight : norm.running_mean;
        nn.Module<Tensor, Tensor> replacement;
        Parameter? weight, bias;
        if (ReplacementType(norm) == typeof(ChannelGroupNorm))
        {
            var channelNorm = new ChannelGroupNorm(groups, norm.num_features, norm.eps, norm.affine, reference?.device, reference?.dtype);
            (replacement, weight, bias) = (channelNorm, channelNorm.weight, channelNorm.bias);
        }
        else
        {
            GroupNorm groupNorm = nn.GroupNorm(groups, norm.num_features, norm.eps, norm.affine, reference?.device, reference?.dtype);
            (replacement, weight, bias) = (groupNorm, norm.affine ? groupNorm.weight : null, norm.affine ? groupNorm.bias : null);
        }

        try
        {
            if (weight is not null && bias is not null)
            {
                using (torch.no_grad())
                {
                    if (copyAffine)
                    {
                        weight.copy_(norm.weight);
                        bias.copy_(norm.bias!);
                    }
                    else
                    {
                        // TorchSharp 0.107.0's GroupNorm leaves its affine parameters uninitialised. (init.ones_ takes no
                        // LibTorch Scalar; fill_(1) would pass one that only its finalizer frees.)
                        nn.init.ones_(weight);
                        bias.zero_();
                    }

                    weight.requires_grad_(norm.weight.requires_grad);
                    bias.requires_grad_(norm.bias!.requires_grad);
                }
            }

            replacement.train(norm.training);
            return replacement;
        }
        catch
        {
            replacement.Dispose();
            throw;
        }
    }

    // Proves, per replacement, that the views TorchSharp's own walks use all see it: named_children() (train(), eval(),
    // .to()), named_modules(), and parameters() (the optimiser). Forward is covered by rewriting every field and list.
    private static void Place<TTarget>(ModuleTarget<TTarget> target, nn.Module replacement, List<(ModuleSlot Slot, nn.Module Original)> applied, ref nn.Module root)
        where TTarget : nn.Module
    {
        foreach (ModuleSlot slot in target.Slots)
        {
            slot.Set(replacement);
            applied.Add((slot, target.Norm));
        }

        if (target.IsRoot)
        {
            root = replacement;
        }
    }

    private static void Verify(nn.Module root, List<(IReadOnlyList<string> Paths, nn.Module Replacement)> placed)
    {
        var byPath = root.named_modules().GroupBy(m => m.name).ToDictionary(g => g.Key, g => g.First().module);
        var parameters = new HashSet<IntPtr>(root.parameters().Select(p => p.Handle));
        foreach (var (paths, replacement) in placed)
        {
            foreach (string path in paths)
            {
                nn.Module? viaModules = path.Length == 0 ? root : byPath.GetValueOrDefault(path);
                nn.Module? viaChildren = path.Length == 0 ? root : ChildAt(root, path);
                if (!ReferenceEquals(viaModules, replacement) || !ReferenceEquals(viaChildren, replacement))
                {
                    throw new InvalidOperationException(
                        $"after replacing '{path}', {(ReferenceEquals(viaModules, replacement) ? "named_children()" : "named_modules()")} " +
                        "still shows another module (does a module override named_children()?).");
                }
            }

            if (replacement.parameters().FirstOrDefault() is { } w && !parameters.Contains(w.Handle))
            {
                throw new InvalidOperationException($"after replacing '{paths[0]}', parameters() does not list its weight.");
            }
        }
    }

    private static nn.Module? ChildAt(nn.Module root, string path)
    {
        nn.Module? current = root;
        foreach (string name in path.Split('.'))
        {
            current = current?.named_children().FirstOrDefault(c => c.name == name).module;
        }

        return current;
    }

    private static string Display(string path) => path.Length == 0 ? "(root)" : path;
}
