using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using FluentAssertions;
using SelectiveLoss.Normalization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Normalization;

[Collection(TorchCollection.Name)]
public sealed class NormalizationSwapperTests
{
    private static readonly string[] RunningStats = { "running_mean", "running_var", "num_batches_tracked" };

    [Fact]
    public void ReplaceBatchNorm_EveryPlacement_LeavesNoBatchNorm()
    {
        using var scope = torch.NewDisposeScope();
        var model = new EveryPlacementModel();
        model.FindBatchNorm().Should().BeEquivalentTo(EveryPlacementModel.BatchNormPaths);
        IReadOnlyList<string> dryRun = model.FindBatchNorm();

        NormalizationSwapReport report = model.ReplaceBatchNorm();

        report.Root.Should().BeSameAs(model);
        report.Replaced.Select(r => r.Path).Should().Equal(dryRun, "the report follows named_modules() order, as the dry run does");
        model.FindBatchNorm().Should().BeEmpty();
        model.named_modules().Select(m => m.module).OfType<BatchNorm>().Should().BeEmpty();
        foreach (SwappedNorm swapped in report.Replaced)
        {
            model.named_modules().Single(m => m.name == swapped.Path).module.Should().BeSameAs(swapped.Replacement);
        }

        report.Replaced.Single(r => r.Path == "norm3d").OriginalType.Should().Be<BatchNorm3d>();
        report.Replaced.Single(r => r.Path == "norm1d").OriginalType.Should().Be<BatchNorm1d>();
        report.Replaced.Single(r => r.Path == "norm1d").Groups.Should().Be(1, "a BatchNorm1d needs 16 features per group; 6 features make one group");
        report.Replaced.Single(r => r.Path == "norm").Groups.Should().Be(4);
        model.Norm.Should().BeOfType<GroupNorm>("forward reads the field, so the field must hold the replacement");
    }

    [Fact]
    public void ReplaceBatchNorm_TrainingMode_PerturbingSample0LeavesSample1Unchanged()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        var model = new EveryPlacementModel();
        model.train();
        Tensor x = torch.randn(4, 3, 4, 4);
        Tensor perturbed = x.clone();
        perturbed[0].add_(torch.randn(3, 4, 4));

        using (torch.no_grad())
        {
            MaxChange(model, x, perturbed, sample: 1).Should().BeGreaterThan(1e-3, "BatchNorm in training mode couples the samples");
            model.ReplaceBatchNorm();
            MaxChange(model, x, perturbed, sample: 1).Should().Be(0, "after the swap forward runs GroupNorm everywhere");
            MaxChange(model, x, perturbed, sample: 0).Should().BeGreaterThan(1e-3);
        }
    }

    [Fact]
    public void ReplaceBatchNorm_Backward_EveryGroupNormReceivesGradient()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(2);
        var model = new EveryPlacementModel();
        NormalizationSwapReport report = model.ReplaceBatchNorm();

        Tensor loss = model.call(torch.randn(4, 3, 4, 4)).pow(3).sum();
        loss.backward();

        report.Replaced.Should().HaveCount(7);
        foreach (SwappedNorm swapped in report.Replaced)
        {
            swapped.Replacement.get_parameter("weight")!.grad.Should().NotBeNull(swapped.Path);
            swapped.Replacement.get_parameter("weight")!.grad!.abs().sum().item<float>().Should().BeGreaterThan(0, swapped.Path);
            swapped.Replacement.get_parameter("bias")!.grad!.abs().sum().item<float>().Should().BeGreaterThan(0, swapped.Path);
        }
    }

    [Fact]
    public void ReplaceBatchNorm_OptimizerBuiltAfterSwap_UpdatesGroupNorms()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var model = new EveryPlacementModel();
        int before = model.parameters().Count();
        NormalizationSwapReport report = model.ReplaceBatchNorm();
        var parameters = model.parameters().ToList();
        parameters.Should().HaveCount(before, "each BatchNorm's weight and bias became the GroupNorm's");
        foreach (SwappedNorm swapped in report.Replaced)
        {
            parameters.Should().Contain(p => p.Handle == swapped.Replacement.get_parameter("weight")!.Handle, swapped.Path);
        }

        var initial = report.Replaced.Select(r => r.Replacement.get_parameter("weight")!.detach().clone()).ToList();
        var optimizer = torch.optim.SGD(parameters, 0.1);
        optimizer.zero_grad();
        model.call(torch.randn(4, 3, 4, 4)).pow(3).sum().backward();
        optimizer.step();

        for (int i = 0; i < initial.Count; i++)
        {
            report.Replaced[i].Replacement.get_parameter("weight")!.allclose(initial[i]).Should().BeFalse(report.Replaced[i].Path);
        }
    }

    [Fact]
    public void ReplaceBatchNorm_StateDict_KeepsKeysAndOrderMinusRunningStats()
    {
        using var scope = torch.NewDisposeScope();
        var model = new EveryPlacementModel();
        var before = model.state_dict().Keys.ToList();

        NormalizationSwapReport report = model.ReplaceBatchNorm();

        var after = model.state_dict().Keys.ToList();
        var dropped = before.Where(k => RunningStats.Any(s => k.EndsWith("." + s, StringComparison.Ordinal))).ToList();
        dropped.Should().HaveCount(21);
        after.Should().Equal(before.Except(dropped));
        after.Should().Contain(new[] { "norm.weight", "norm.bias", "norm1d.weight", "unnamed.1.weight", "named.block.norm.bias", "list.0.weight", "dict.n.bias" });
        report.DroppedStateKeys.Should().BeEquivalentTo(dropped);
        report.Replaced.Should().OnlyContain(r => r.RunningStatisticsDropped);
    }

    [Fact]
    public void ReplaceBatchNorm_TrainEval_ReachReplacements()
    {
        using var scope = torch.NewDisposeScope();
        var model = new EveryPlacementModel();
        model.eval();
        NormalizationSwapReport report = model.ReplaceBatchNorm();
        report.Replaced.Should().OnlyContain(r => !r.Replacement.training, "the BatchNorms were in eval mode");

        model.train();
        report.Replaced.Should().OnlyContain(r => r.Replacement.training);
        model.eval();
        report.Replaced.Should().OnlyContain(r => !r.Replacement.training);
    }

    [Fact]
    public void ReplaceBatchNorm_ToDtypeAndDevice_ReachReplacements()
    {
        using var scope = torch.NewDisposeScope();
        var model = nn.Sequential(
            ("conv", nn.Conv2d(3, 8, 1)),
            ("norm", nn.BatchNorm2d(8)),
            ("inner", new SingleFieldModel(nn.BatchNorm2d(8))),
            ("list", new ListHolderModel<nn.Module>(nn.BatchNorm2d(8))));
        NormalizationSwapReport report = model.ReplaceBatchNorm();

        model.to(ScalarType.Float64);

        report.Replaced.Should().HaveCount(3).And.OnlyContain(r => r.Replacement.get_parameter("weight")!.dtype == ScalarType.Float64);
        model.state_dict()["inner.norm.weight"].dtype.Should().Be(ScalarType.Float64);
        model.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float64);
        model.call(torch.randn(new long[] { 2, 3, 4, 4 }, ScalarType.Float64)).dtype.Should().Be(ScalarType.Float64);
        model.to(torch.CPU);
        report.Replaced.Should().OnlyContain(r => r.Replacement.get_parameter("weight")!.device_type == DeviceType.CPU);
    }

    // Pins an upstream bug met while testing .to(): TorchSharp 0.107.0's Module.to(dtype) throws on a ModuleDict
    // (its two indexers are both named "Item"), swapped or not. When this fails, TorchSharp fixed it: extend
    // ReplaceBatchNorm_ToDtypeAndDevice_ReachReplacements to a model with a ModuleDict.
    [Fact]
    public void TorchSharp_ModuleDictToDtype_Throws()
    {
        using var scope = torch.NewDisposeScope();
        var dict = nn.ModuleDict<nn.Module>(("n", nn.BatchNorm2d(2)));

        Action act = () => dict.to(ScalarType.Float64);

        act.Should().Throw<ArgumentException>().WithMessage("*Item*");
    }

    [Fact]
    public void ReplaceBatchNorm_Float64FrozenModel_CarriesDtypeRequiresGradEpsAndValues()
    {
        using var scope = torch.NewDisposeScope();
        var bn = nn.BatchNorm1d(8, eps: 1e-3, dtype: ScalarType.Float64);
        using (torch.no_grad())
        {
            bn.weight.copy_(torch.arange(8, ScalarType.Float64));
            bn.bias!.copy_(torch.arange(8, ScalarType.Float64).neg());
        }

        bn.weight.requires_grad_(false);
        var model = new SingleFieldModel(bn);

        SwappedNorm swapped = model.ReplaceBatchNorm().Replaced.Single();

        ChannelGroupNorm gn = swapped.Replacement.Should().BeOfType<ChannelGroupNorm>().Subject;
        swapped.Eps.Should().Be(1e-3);
        gn.Eps.Should().Be(1e-3);
        gn.weight!.dtype.Should().Be(ScalarType.Float64);
        gn.weight!.requires_grad.Should().BeFalse();
        gn.bias!.requires_grad.Should().BeTrue();
        gn.weight!.data<double>().ToArray().Should().Equal(0, 1, 2, 3, 4, 5, 6, 7);
        gn.bias!.data<double>().ToArray().Should().Equal(0, -1, -2, -3, -4, -5, -6, -7);
        swapped.AffineCopied.Should().BeTrue();
    }

    [Fact]
    public void ReplaceBatchNorm_CopyAffineFalse_StartsAtOneAndZero()
    {
        using var scope = torch.NewDisposeScope();
        var bn = nn.BatchNorm2d(4);
        using (torch.no_grad())
        {
            bn.weight.fill_(5);
            bn.bias!.fill_(7);
        }

        var model = new SingleFieldModel(bn);
        SwappedNorm swapped = model.ReplaceBatchNorm(new GroupNormOptions { CopyAffine = false }).Replaced.Single();

        swapped.AffineCopied.Should().BeFalse();
        swapped.Replacement.get_parameter("weight")!.data<float>().ToArray().Should().OnlyContain(v => v == 1f);
        swapped.Replacement.get_parameter("bias")!.data<float>().ToArray().Should().OnlyContain(v => v == 0f);
    }

    [Fact]
    public void ReplaceBatchNorm_NonAffineWithoutRunningStats_NoParametersNothingDropped()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SingleFieldModel(nn.BatchNorm2d(4, affine: false, track_running_stats: false));

        NormalizationSwapReport report = model.ReplaceBatchNorm();

        report.Replaced.Single().Affine.Should().BeFalse();
        report.Replaced.Single().Replacement.get_parameter("weight").Should().BeNull();
        report.DroppedStateKeys.Should().BeEmpty();
        model.parameters().Should().BeEmpty();
        model.call(torch.randn(2, 4, 3, 3)).shape.Should().Equal(2, 4, 3, 3);
    }

    [Fact]
    public void ReplaceBatchNorm_ExplicitGroups_Honoured()
    {
        using var scope = torch.NewDisposeScope();
        var model = new EveryPlacementModel();

        NormalizationSwapReport report = model.ReplaceBatchNorm(new GroupNormOptions { Groups = 2 });

        report.Replaced.Should().OnlyContain(r => r.Groups == 2 && GroupCount(r.Replacement) == 2);
    }

    [Fact]
    public void ReplaceBatchNorm_ExplicitGroupsNotDividing_ThrowsNamingLayersAndChangesNothing()
    {
        using var scope = torch.NewDisposeScope();
        var model = new EveryPlacementModel();
        var modules = model.named_modules().ToList();

        Action act = () => model.ReplaceBatchNorm(new GroupNormOptions { Groups = 3 });

        act.Should().Throw<ArgumentException>()
            .Where(e => e.ParamName == "options")
            .Where(e => e.Message.Contains("norm3d (BatchNorm3d, 8 channels)", StringComparison.Ordinal))
            .Where(e => e.Message.Contains("list.0", StringComparison.Ordinal))
            .Where(e => !e.Message.Contains("norm1d", StringComparison.Ordinal), "3 divides 6 and leaves 2 channels per group");
        model.named_modules().Should().Equal(modules);
    }

    [Fact]
    public void ReplaceBatchNorm_ExplicitGroupsOneChannelPerGroupOnBatchNorm1d_Refused()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SingleFieldModel(nn.BatchNorm1d(4));

        Action act = () => model.ReplaceBatchNorm(new GroupNormOptions { Groups = 4 });

        act.Should().Throw<ArgumentException>().WithMessage("*norm (BatchNorm1d, 4 channels)*two channels per group*");
        model.Norm.Should().BeOfType<BatchNorm1d>();

        // On BatchNorm2d one channel per group still normalises over H x W, so it is honoured.
        var conv = new SingleFieldModel(nn.BatchNorm2d(4));
        conv.ReplaceBatchNorm(new GroupNormOptions { Groups = 4 }).Replaced.Single().Groups.Should().Be(4);
    }

    [Theory]
    [InlineData(0, 32)]
    [InlineData(2, 0)]
    public void ReplaceBatchNorm_OptionsOutOfRange_Throws(int groups, int maxGroups)
    {
        using var scope = torch.NewDisposeScope();
        var model = new SingleFieldModel(nn.BatchNorm2d(4));

        Action act = () => model.ReplaceBatchNorm(new GroupNormOptions { Groups = groups, MaxGroups = maxGroups });

        act.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "options");
        model.Norm.Should().BeOfType<BatchNorm2d>();
    }

    [Fact]
    public void ReplaceBatchNorm_MaxGroups_CapsDefaultRule()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SingleFieldModel(nn.BatchNorm2d(64));

        model.ReplaceBatchNorm(new GroupNormOptions { MaxGroups = 8 }).Replaced.Single().Groups.Should().Be(8);
    }

    [Fact]
    public void ReplaceBatchNorm_TypedField_ThrowsNamingPathAndLeavesEveryModuleUntouched()
    {
        using var scope = torch.NewDisposeScope();
        var model = new TypedFieldModel();
        var modules = model.named_modules().ToList();
        var keys = model.state_dict().Keys.ToList();
        nn.Module swappable = model.Swappable;
        nn.Module tailNorm = (nn.Module)model.Tail[0];

        Action act = () => model.ReplaceBatchNorm();

        var thrown = act.Should().Throw<NormalizationSwapException>().Which;
        thrown.Refusals.Should().ContainSingle().Which.Path.Should().Be("typed");
        thrown.Message.Should().Contain("typed").And.Contain("BatchNorm2d").And.Contain("Module<Tensor, Tensor>").And.Contain("nothing was changed");
        model.named_modules().Should().Equal(modules);
        model.state_dict().Keys.Should().Equal(keys);
        model.Swappable.Should().BeSameAs(swappable, "a swappable field must not be touched when another layer is refused");
        model.Tail[0].Should().BeSameAs(tailNorm);
        model.FindBatchNorm().Should().Equal("swappable", "typed", "tail.0");
        NormalizationSwapper.Validate(model).Should().ContainSingle().Which.Path.Should().Be("typed");
    }

    [Fact]
    public void ReplaceBatchNorm_BatchNormInPlainArray_ThrowsNamingFieldAndChangesNothing()
    {
        using var scope = torch.NewDisposeScope();
        var model = new HiddenArrayModel();
        nn.Module registered = model.Registered;

        Action act = () => model.ReplaceBatchNorm();

        act.Should().Throw<NormalizationSwapException>()
            .Which.Refusals.Should().ContainSingle().Which.Path.Should().Be("norms[0]");
        model.Registered.Should().BeSameAs(registered);
        BatchCoupling.Find(model).Should().Contain("norms[0]", "a hidden BatchNorm still runs in forward");
    }

    [Fact]
    public void ReplaceBatchNorm_ModuleListOfBatchNorm2d_Refused()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ListHolderModel<BatchNorm2d>(nn.BatchNorm2d(4));

        Action act = () => model.ReplaceBatchNorm();

        act.Should().Throw<NormalizationSwapException>().WithMessage("*norms.0: *ModuleList<BatchNorm2d>*ModuleList<Module>*");
        model.Norms[0].Should().BeOfType<BatchNorm2d>();
    }

    [Fact]
    public void ReplaceBatchNorm_ModuleListItemAddedAfterRegistration_Refused()
    {
        using var scope = torch.NewDisposeScope();
        var model = new ListHolderModel<nn.Module>(nn.BatchNorm2d(4));
        model.Norms.Add(nn.BatchNorm2d(4));

        Action act = () => model.ReplaceBatchNorm();

        act.Should().Throw<NormalizationSwapException>().WithMessage("*never registered*")
            .Which.Refusals.Should().ContainSingle();
        model.Norms[0].Should().BeOfType<BatchNorm2d>();
    }

    [Fact]
    public void ReplaceBatchNorm_BatchNormWithForwardHook_RefusedBecauseHooksCannotMove()
    {
        using var scope = torch.NewDisposeScope();
        var bn = nn.BatchNorm2d(4);
        bn.register_forward_hook((module, input, output) => output);
        var model = nn.Sequential(("ok", nn.BatchNorm2d(4)), ("hooked", bn));

        Action act = () => model.ReplaceBatchNorm();

        act.Should().Throw<NormalizationSwapException>()
            .Which.Refusals.Should().ContainSingle().Which.Should().Be(new SwapRefusal("hooked",
                "it has forward hooks, which cannot be moved to the replacement. Remove the hooks, swap, then register them on the replacement."));
        model[0].Should().BeOfType<BatchNorm2d>();
    }

    [Fact]
    public void ReplaceBatchNorm_RegisteredButHeldInNoField_Refused()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SingleFieldModel(nn.Identity());
        model.register_module("extra", nn.BatchNorm1d(4));

        Action act = () => model.ReplaceBatchNorm();

        act.Should().Throw<NormalizationSwapException>().WithMessage("*extra: *holds it in no field*");
        model.named_children().Single(c => c.name == "extra").module.Should().BeOfType<BatchNorm1d>();
    }

    [Fact]
    public void ReplaceBatchNorm_ViewStillShowsOldModule_RolledBack()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SnapshotChildrenModel();
        nn.Module norm = model.Norm;
        var registry = model.named_modules().ToList();

        Action act = () => model.ReplaceBatchNorm();

        act.Should().Throw<NormalizationSwapException>().WithMessage("*rolled back*named_children()*");
        model.Norm.Should().BeSameAs(norm, "the field was set back");
        model.named_modules().Should().Equal(registry, "the registry entry was set back");
    }

    [Fact]
    public void Validate_SwappableModel_Empty()
    {
        using var scope = torch.NewDisposeScope();

        NormalizationSwapper.Validate(new EveryPlacementModel()).Should().BeEmpty();
    }

    [Fact]
    public void ReplaceBatchNorm_RootIsBatchNorm_ReportsReplacementAsRoot()
    {
        using var scope = torch.NewDisposeScope();
        var bn = nn.BatchNorm1d(4);

        NormalizationSwapReport report = bn.ReplaceBatchNorm();

        report.Root.Should().BeOfType<ChannelGroupNorm>();
        report.Replaced.Single().Path.Should().BeEmpty();
        report.Replaced.Single().Replacement.Should().BeSameAs(report.Root);
        report.DroppedStateKeys.Should().Equal("running_mean", "running_var", "num_batches_tracked");
        ((ChannelGroupNorm)report.Root).call(torch.randn(3, 4)).shape.Should().Equal(3, 4);
    }

    [Fact]
    public void ReplaceBatchNorm_SecondCall_ReplacesNothing()
    {
        using var scope = torch.NewDisposeScope();
        var model = new EveryPlacementModel();
        model.ReplaceBatchNorm();
        var modules = model.named_modules().ToList();

        NormalizationSwapReport second = NormalizationSwapper.ReplaceBatchNorm(model);

        second.Replaced.Should().BeEmpty();
        second.Root.Should().BeSameAs(model);
        second.ToString().Should().Contain("nothing replaced");
        model.named_modules().Should().Equal(modules);
    }

    [Fact]
    public void ReplaceBatchNorm_SharedInstance_OneReplacementAtBothPaths()
    {
        using var scope = torch.NewDisposeScope();
        var model = new SharedNormModel();

        NormalizationSwapReport report = model.ReplaceBatchNorm();

        report.Replaced.Select(r => r.Path).Should().Equal("first", "second");
        report.Replaced[0].Replacement.Should().BeSameAs(report.Replaced[1].Replacement);
        model.First.Should().BeSameAs(model.Second).And.BeOfType<ChannelGroupNorm>();
    }

    [Fact]
    public void ReplaceBatchNorm_NullRoot_Throws()
    {
        Action act = () => NormalizationSwapper.ReplaceBatchNorm(null!);

        act.Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "root");
    }

    // Pins the TorchSharp behaviour that makes the swapper necessary: register_module changes what parameters() sees,
    // but forward keeps calling the module in the C# field. If this starts failing, TorchSharp changed how modules
    // are held; re-check every slot kind the swapper rewrites.
    [Fact]
    public void TorchSharp_RegistryOnlyReplacement_LeavesForwardOnOldModuleAndSwapperRefuses()
    {
        using var scope = torch.NewDisposeScope();
        var bn = nn.BatchNorm2d(4);
        var model = new SingleFieldModel(bn);
        var gn = new ChannelGroupNorm(2, 4);
        model.register_module("norm", null!);
        model.register_module("norm", gn);

        model.train();
        model.call(torch.randn(2, 4, 3, 3));

        bn.num_batches_tracked!.item<long>().Should().Be(1, "forward still ran the BatchNorm in the field");
        model.parameters().Select(p => p.Handle).Should().NotContain(bn.weight.Handle, "parameters() no longer lists it");
        Action act = () => model.ReplaceBatchNorm();
        act.Should().Throw<NormalizationSwapException>().Which.Refusals.Should().ContainSingle()
            .Which.Reason.Should().Contain("registry-only replacement");
    }

    // Pins the container internals the swapper edits (Sequential._modules/_names, ModuleList._list, the registry's
    // in-place indexer); the message says what to re-check when a TorchSharp upgrade breaks it.
    [Fact]
    public void TorchSharp_ContainerInternals_AsSwapperExpects()
    {
        const BindingFlags Any = BindingFlags.Instance | BindingFlags.NonPublic;
        typeof(Sequential).GetField("_modules", Any)!.FieldType.Should().Be<List<nn.IModule<Tensor, Tensor>>>("Sequential's list changed: re-check ListSlot");
        typeof(Sequential).GetField("_names", Any)!.FieldType.Should().Be<List<string>>();
        typeof(ModuleList<nn.Module>).GetField("_list", Any)!.FieldType.Should().Be<List<nn.Module>>();
        typeof(ModuleDict<nn.Module>).GetField("_dict", Any)!.FieldType.Should().Be<Dictionary<string, nn.Module>>();
        typeof(ModuleDict<nn.Module>).GetProperty("Item", typeof(nn.Module), new[] { typeof(string) })!.CanWrite.Should().BeTrue();
        typeof(nn.Module).GetField("_internal_submodules", Any)!.FieldType.Should().Be<TorchSharp.Utils.OrderedDict<string, nn.Module>>();

        using var scope = torch.NewDisposeScope();
        var model = nn.Sequential(("a", nn.ReLU()), ("b", nn.BatchNorm1d(2)), ("c", nn.ReLU()));
        model.register_module("b", nn.Identity());
        model.named_children().Select(c => c.module).ElementAt(1).Should().BeOfType<BatchNorm1d>("register_module on a Sequential changes nothing");
    }

    [Fact]
    public void ReplaceBatchNorm_EveryPlacement_SpatialBecomeTorchSharpGroupNormAndBatchNorm1dChannelGroupNorm()
    {
        using var scope = torch.NewDisposeScope();
        var model = new EveryPlacementModel();

        NormalizationSwapReport report = model.ReplaceBatchNorm();

        foreach (SwappedNorm swapped in report.Replaced)
        {
            Type expected = swapped.OriginalType == typeof(BatchNorm1d) ? typeof(ChannelGroupNorm) : typeof(GroupNorm);
            swapped.Replacement.Should().BeOfType(expected, swapped.Path);
        }

        model.named_modules().Select(m => m.module).OfType<GroupNorm>().Should().HaveCount(6, "BatchNorm2d/3d become TorchSharp's own GroupNorm");
        model.Norm.Should().BeOfType<GroupNorm>().Which.num_groups.Should().Be(4, "8 channels, at least 2 per group");
    }

    [Fact]
    public void ReplaceBatchNorm_CopyAffineFalse_TorchSharpGroupNormStartsAtOneAndZeroDespiteItsConstructor()
    {
        using var scope = torch.NewDisposeScope();
        var model = nn.Sequential(("norm", nn.BatchNorm2d(64)), ("deep", nn.BatchNorm3d(32)));

        NormalizationSwapReport report = model.ReplaceBatchNorm(new GroupNormOptions { CopyAffine = false });

        foreach (SwappedNorm swapped in report.Replaced)
        {
            GroupNorm norm = swapped.Replacement.Should().BeOfType<GroupNorm>().Subject;
            norm.weight!.data<float>().ToArray().Should().OnlyContain(v => v == 1f, swapped.Path);
            norm.bias!.data<float>().ToArray().Should().OnlyContain(v => v == 0f, swapped.Path);
        }
    }

    [Fact]
    public void ReplaceBatchNorm_BatchNorm2dOutput_EqualsGroupNormOfTheSameInput()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        var bn = nn.BatchNorm2d(8, eps: 1e-3);
        using (torch.no_grad())
        {
            bn.weight.uniform_(0.5, 2);
            bn.bias!.uniform_(-1, 1);
        }

        var model = new SingleFieldModel(bn);
        Tensor x = torch.randn(3, 8, 5, 5);
        Tensor expected = nn.functional.group_norm(x, 4, bn.weight, bn.bias, 1e-3);

        model.ReplaceBatchNorm();

        model.call(x).allclose(expected, rtol: 0, atol: 1e-6).Should().BeTrue("weight, bias and eps are carried over");
    }

    [Fact]
    public void TorchInternals_EveryMemberTheLibraryReads_ExistsWithTheExpectedType()
    {
        // When TorchSharp is upgraded, this names every private member SelectiveLoss reads that moved or changed type.
        TorchInternals.All.Should().HaveCount(12);
        foreach (TorchInternals.InternalField member in TorchInternals.All)
        {
            member.Field.Should().NotBeNull($"SelectiveLoss reads TorchSharp's {member.Name} ({member.ExpectedType}); {member.Problem}");
        }

        TorchInternals.Missing.Should().BeEmpty();
    }

    [Fact]
    public void TorchInternals_UnknownField_ProblemNamesIt()
    {
        var member = new TorchInternals.InternalField(typeof(nn.Module), "_renamed_submodules", typeof(TorchSharp.Utils.OrderedDict<string, nn.Module>));

        member.Field.Should().BeNull();
        member.Problem.Should().Contain("Module._renamed_submodules").And.Contain("OrderedDict<String, Module>").And.Contain("[0.107.0, 0.108.0)");
    }

    [Theory]
    [InlineData("HookableModule.post_hooks")]
    [InlineData("HookableModule.module_pre_hooks")]
    public void Validate_HookFieldMissing_RefusesInsteadOfDroppingHooks(string hookField)
    {
        using var scope = torch.NewDisposeScope();
        var model = nn.Sequential(("conv", nn.Conv2d(3, 4, 1)), ("norm", nn.BatchNorm2d(4)));

        using (TorchInternals.SimulateMissing(hookField))
        {
            NormalizationSwapper.Validate(model).Should().ContainSingle().Which.Reason.Should().Contain(hookField);
            Action act = () => model.ReplaceBatchNorm();
            act.Should().Throw<NormalizationSwapException>().WithMessage($"*{hookField}*");
        }

        model[1].Should().BeOfType<BatchNorm2d>("a refused swap changes nothing");
        NormalizationSwapper.Validate(model).Should().BeEmpty();
    }

    [Theory]
    [InlineData("Module._internal_submodules")]
    [InlineData("Sequential._modules")]
    [InlineData("ModuleList._list")]
    [InlineData("ModuleDict._dict")]
    public void ReplaceBatchNorm_ContainerInternalMissing_RefusesNamingItAndChangesNothing(string member)
    {
        using var scope = torch.NewDisposeScope();
        var model = new EveryPlacementModel();

        using (TorchInternals.SimulateMissing(member))
        {
            Action act = () => model.ReplaceBatchNorm();
            act.Should().Throw<NormalizationSwapException>().WithMessage($"*{member}*");
        }

        model.FindBatchNorm().Should().BeEquivalentTo(EveryPlacementModel.BatchNormPaths);
        model.Norm.Should().BeOfType<BatchNorm2d>();
    }

    [Fact]
    public void ListItems_ModuleListInternalMissing_ReturnsNullSoTheScanRefuses()
    {
        using var scope = torch.NewDisposeScope();
        var list = nn.ModuleList<nn.Module>(nn.ReLU());

        TorchInternals.ListItems(list).Should().NotBeNull();
        using (TorchInternals.SimulateMissing("ModuleList._list"))
        {
            TorchInternals.ListItems(list).Should().BeNull();
        }
    }

    private static long GroupCount(nn.Module replacement) => replacement switch
    {
        GroupNorm g => g.num_groups,
        ChannelGroupNorm c => c.Groups,
        _ => throw new ArgumentException($"not a GroupNorm: {replacement.GetType().Name}", nameof(replacement)),
    };

    private static double MaxChange(nn.Module<Tensor, Tensor> model, Tensor a, Tensor b, int sample) =>
        (model.call(a)[sample] - model.call(b)[sample]).abs().max().item<float>();
}
