using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Normalization;

/// <summary>
/// BatchNorm in every place TorchSharp lets it live: a private readonly field, an internal mutable field, a public
/// field, an unnamed Sequential, a nested named Sequential, a ModuleList, a ModuleDict; 1-d, 2-d and 3-d, and a
/// BatchNorm1d on [N, C] features after a Linear layer. Input [N, 3, 4, 4], output [N, 6].
/// </summary>
[SuppressMessage("Design", "CA1051", Justification = "Fields of every accessibility are what the swapper must handle.")]
internal sealed class EveryPlacementModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> conv = nn.Conv2d(3, 8, 3, padding: 1);
    private readonly nn.Module<Tensor, Tensor> norm = nn.BatchNorm2d(8);
    private readonly Sequential unnamed = nn.Sequential(nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8), nn.ReLU());
    private readonly Sequential named = nn.Sequential(
        ("block", nn.Sequential(("conv", nn.Conv2d(8, 8, 1)), ("norm", nn.BatchNorm2d(8)))),
        ("act", nn.ReLU()));
    private readonly ModuleList<nn.Module> list = nn.ModuleList<nn.Module>(nn.BatchNorm2d(8));
    private readonly ModuleDict<nn.Module> dict = nn.ModuleDict<nn.Module>(("n", nn.BatchNorm2d(8)));
    internal nn.Module<Tensor, Tensor> norm3d = nn.BatchNorm3d(8);
    private readonly nn.Module<Tensor, Tensor> fc = nn.Linear(8 * 16, 6);
    public nn.Module<Tensor, Tensor> norm1d = nn.BatchNorm1d(6);

    public EveryPlacementModel()
        : base(nameof(EveryPlacementModel))
    {
        RegisterComponents();
    }

    public static string[] BatchNormPaths { get; } =
        { "norm", "norm3d", "norm1d", "unnamed.1", "named.block.norm", "list.0", "dict.n" };

    public nn.Module<Tensor, Tensor> Norm => norm;

    public override Tensor forward(Tensor input)
    {
        Tensor x = norm.call(conv.call(input)).relu();
        x = named.call(unnamed.call(x));
        foreach (nn.Module m in list)
        {
            x = ((nn.Module<Tensor, Tensor>)m).call(x);
        }

        x = ((nn.Module<Tensor, Tensor>)dict["n"]).call(x);
        x = norm3d.call(x.unsqueeze(2)).squeeze(2);
        return norm1d.call(fc.call(x.flatten(1)));
    }
}

/// <summary>A swappable field next to a field declared as BatchNorm2d, which cannot hold a GroupNorm.</summary>
internal sealed class TypedFieldModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> swappable = nn.BatchNorm2d(4);
    private readonly BatchNorm2d typed = nn.BatchNorm2d(4);
    private readonly Sequential tail = nn.Sequential(nn.BatchNorm2d(4));

    public TypedFieldModel()
        : base(nameof(TypedFieldModel))
    {
        RegisterComponents();
    }

    public nn.Module<Tensor, Tensor> Swappable => swappable;

    public BatchNorm2d Typed => typed;

    public Sequential Tail => tail;

    public override Tensor forward(Tensor input) => tail.call(typed.call(swappable.call(input)));
}

/// <summary>A registered BatchNorm plus one in a plain array, which TorchSharp never registers.</summary>
internal sealed class HiddenArrayModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> registered = nn.BatchNorm2d(4);
    private readonly nn.Module<Tensor, Tensor>[] norms = { nn.BatchNorm2d(4) };

    public HiddenArrayModel()
        : base(nameof(HiddenArrayModel))
    {
        RegisterComponents();
    }

    public nn.Module<Tensor, Tensor> Registered => registered;

    public override Tensor forward(Tensor input) => norms[0].call(registered.call(input));
}

/// <summary>One field-held child, for pinning how TorchSharp's registry and fields relate.</summary>
internal sealed class SingleFieldModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> norm;

    public SingleFieldModel(nn.Module<Tensor, Tensor> norm)
        : base(nameof(SingleFieldModel))
    {
        this.norm = norm;
        RegisterComponents();
    }

    public nn.Module<Tensor, Tensor> Norm => norm;

    public override Tensor forward(Tensor input) => norm.call(input);
}

/// <summary>The same BatchNorm instance held twice (a shared layer).</summary>
internal sealed class SharedNormModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> first;
    private readonly nn.Module<Tensor, Tensor> second;

    public SharedNormModel()
        : base(nameof(SharedNormModel))
    {
        first = nn.BatchNorm1d(4);
        second = first;
        RegisterComponents();
    }

    public nn.Module<Tensor, Tensor> First => first;

    public nn.Module<Tensor, Tensor> Second => second;

    public override Tensor forward(Tensor input) => second.call(first.call(input));
}

/// <summary>A ModuleList of a chosen element type, registered through a field.</summary>
internal sealed class ListHolderModel<T> : nn.Module<Tensor, Tensor>
    where T : nn.Module
{
    private readonly ModuleList<T> norms;

    public ListHolderModel(params T[] items)
        : base(nameof(ListHolderModel<T>))
    {
        norms = nn.ModuleList(items);
        RegisterComponents();
    }

    public ModuleList<T> Norms => norms;

    public override Tensor forward(Tensor input)
    {
        Tensor x = input;
        foreach (T m in norms)
        {
            x = ((nn.Module<Tensor, Tensor>)(nn.Module)m).call(x);
        }

        return x;
    }
}

/// <summary>Overrides named_children() with a snapshot taken at construction, so no swap can show through it.</summary>
internal sealed class SnapshotChildrenModel : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> norm = nn.BatchNorm1d(4);
    private readonly List<(string Name, nn.Module Module)> snapshot;

    public SnapshotChildrenModel()
        : base(nameof(SnapshotChildrenModel))
    {
        RegisterComponents();
        snapshot = base.named_children().ToList();
    }

    public nn.Module<Tensor, Tensor> Norm => norm;

    public override IEnumerable<(string name, nn.Module module)> named_children() => snapshot;

    public override Tensor forward(Tensor input) => norm.call(input);
}
