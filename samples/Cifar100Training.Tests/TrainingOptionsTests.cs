using System;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Training;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>The command line through Spectre.Console.Cli: defaults, messages that name the option, exit codes.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class TrainingOptionsTests
{
    [Fact]
    public void Parse_NoArguments_ComparesBatchNormBaselineRampedLowestAndRandomAtKeep06WithTwentyPercentNoise()
    {
        TrainingOptions o = TrainingOptions.Parse(Array.Empty<string>());

        o.Runs.Select(r => r.Name).Should().Equal("full:batch", "lowest", "random");
        o.Runs[0].Should().Be(new RunSpec("full:batch", RunRule.Full, NormKind.Batch, null, StepExecution.Rebatched), "the user's own baseline comes first");
        o.Runs.Skip(1).Should().OnlyContain(r => r.Norm == NormKind.GroupWs, "GroupNorm with weight-standardised convolutions is the library's default");
        o.Runs[1].Should().Be(new RunSpec("lowest", RunRule.Lowest, NormKind.GroupWs, null, StepExecution.Rebatched));
        o.RampEpochs.Should().Be(4, "the keep ratio ramps from 1 to 0.6 over half the 8 epochs, as in docs/cifar10.md's noisy-label table");
        o.Seeds.Should().Equal(1UL);
        o.EvalEvery.Should().Be(1);
        o.Keep.Should().Be(0.6);
        o.LabelNoise.Should().Be(0.2);
        o.DataDirectory.Should().BeNull();
        o.BatchSize.Should().Be(64);
        o.Norm.Should().Be(NormKind.GroupWs);
    }

    [Fact]
    public void Parse_EveryValueGiven_ResolvesEachOption()
    {
        TrainingOptions o = TrainingOptions.Parse(new[]
        {
            "--compare", "full,random", "--keep", "0.5", "--epochs", "3", "--batch-size", "16", "--lr", "0.05", "--seed", "7",
            "--model", "tiny", "--norm", "batch", "--label-noise", "0.4", "--train-size", "100", "--test-size", "50",
            "--threads", "1", "--output", "out", "--resume",
        });

        o.Runs.Select(r => (r.Name, r.Norm)).Should().Equal(("full", NormKind.Batch), ("random", NormKind.Batch));
        (o.Keep, o.Epochs, o.BatchSize, o.LearningRate, o.Seed).Should().Be((0.5, 3, 16, 0.05, 7UL));
        (o.Model, o.Norm, o.LabelNoise, o.TrainSize, o.TestSize, o.Threads).Should().Be(("tiny", NormKind.Batch, 0.4, 100, 50, 1));
        (o.Output, o.Resume).Should().Be(("out", true));
    }

    [Fact]
    public void Parse_NoRecipeOptions_OneWarmupEpochAndAugmentationDecidedByTheData()
    {
        TrainingOptions o = TrainingOptions.Parse(Array.Empty<string>());

        o.WarmupEpochs.Should().Be(1);
        o.Augment.Should().BeNull();
        o.ResolveFor(DataFormat.Synthetic).Augment.Should().Be(Augmentation.CropFlip);
        o.ResolveFor(DataFormat.Cifar100).Augment.Should().Be(Augmentation.CropFlip);
        o.ResolveFor(DataFormat.Cifar10).Augment.Should().Be(Augmentation.CropFlip);
        o.ResolveFor(DataFormat.Idx).Augment.Should().Be(Augmentation.Crop, "a flipped digit is another symbol");
    }

    [Fact]
    public void Parse_AugmentGiven_KeptWhateverTheData()
    {
        TrainingOptions o = TrainingOptions.Parse(new[] { "--augment", "crop-flip", "--warmup-epochs", "0" });

        o.ResolveFor(DataFormat.Idx).Augment.Should().Be(Augmentation.CropFlip);
        o.WarmupEpochs.Should().Be(0);
    }

    [Fact]
    public void Fingerprint_EveryRecipeAndNoiseOption_ChangesIt()
    {
        string Print(params string[] args) => TrainingOptions.Parse(args).ResolveFor(DataFormat.Idx).Fingerprint;
        string baseline = Print();

        new[]
        {
            Print("--warmup-epochs", "2"), Print("--augment", "none"), Print("--noise-type", "pair"), Print("--label-noise", "0.3"),
            Print("--train-size", "10"), Print("--test-size", "10"), Print("--batch-size", "32"), Print("--data", "d"),
        }.Should().NotContain(baseline).And.OnlyHaveUniqueItems();
    }

    [Fact]
    public void Parse_DataWithSizes_CapsTheRealDataAndLeavesTheRestWhole()
    {
        TrainingOptions o = TrainingOptions.Parse(new[] { "--data", "some/dir", "--train-size", "1000" });

        o.TrainSize.Should().Be(1000);
        o.TestSize.Should().BeNull("real test data is used whole unless --test-size caps it");
        o.Fingerprint.Should().Contain("train=1000;test=all");
    }

    [Theory]
    [InlineData(new[] { "--bogus" }, "Unknown option 'bogus'")]
    [InlineData(new[] { "--keep", "1.5" }, "--keep: '1.5' must be a number in (0, 1]")]
    [InlineData(new[] { "--strategy", "topk" }, "--strategy: 'topk' in 'topk' is not a rule. Use one of full, lowest, highest, random, sb, infobatch")]
    [InlineData(new[] { "--compare", "full,topk:group" }, "--compare: 'topk' in 'topk:group' is not a rule")]
    [InlineData(new[] { "--compare", "full,lowest:layer" }, "--compare: 'lowest:layer' has the part 'layer'. Use norms batch, group, group-ws, score sources fresh, cached, last-loss, executions rebatched, masked or an epoch count such as 20ep")]
    [InlineData(new[] { "--compare", "full,infobatch:0ep" }, "--compare: 'infobatch:0ep' asks for 0 epochs; give 1 to 10000")]
    [InlineData(new[] { "--compare", "full,random:20ep:30ep" }, "--compare: 'random:20ep:30ep' names an epoch count twice")]
    [InlineData(new[] { "--compare", "full,random:1ep", "--warmup-epochs", "2" }, "--warmup-epochs: 2 is more than the 1 epochs of a run in --compare")]
    [InlineData(new[] { "--compare", "full:batch,full:" }, "--compare: 'full:' has the part ''")]
    [InlineData(new[] { "--compare", "full,rebatched" }, "--compare: 'rebatched' in 'rebatched' is now lowest (rebatched is the default execution)")]
    [InlineData(new[] { "--compare", "full,cached" }, "--compare: 'cached' in 'cached' is now lowest:cached")]
    [InlineData(new[] { "--compare", "full,masked:batch" }, "--compare: 'masked' in 'masked:batch' is now lowest:masked")]
    [InlineData(new[] { "--compare", "full:masked" }, "--compare: 'full:masked' names a score source or execution, but full trains every sample with a plain step")]
    [InlineData(new[] { "--compare", "infobatch:cached" }, "--compare: 'infobatch:cached' names a score source or execution, but infobatch trains through InfoBatch's sampler")]
    [InlineData(new[] { "--compare", "lowest:batch:group" }, "--compare: 'lowest:batch:group' names a norm twice")]
    [InlineData(new[] { "--scores", "stale" }, "--scores: 'stale' is not one of fresh, cached, last-loss")]
    [InlineData(new[] { "--execution", "dense" }, "--execution: 'dense' is not one of rebatched, masked")]
    [InlineData(new[] { "--seeds", "1,x" }, "--seeds: 'x' in '1,x' is not a whole number")]
    [InlineData(new[] { "--seeds", "1,2,1" }, "--seeds: 1 is given twice")]
    [InlineData(new[] { "--eval-every", "0" }, "--eval-every: '0' must be a share of an epoch in (0, 1] (e.g. 0.25) or a whole number of epochs")]
    [InlineData(new[] { "--eval-every", "1.5" }, "--eval-every: '1.5' must be a share of an epoch in (0, 1]")]
    [InlineData(new[] { "--train-per-class", "10" }, "--train-per-class and --test-per-class choose a class-balanced subset of --data")]
    [InlineData(new[] { "--max-restarts", "-1" }, "--max-restarts: '-1' is not a whole number from 0 to 1000")]
    [InlineData(new[] { "--compare", "full,lowest,full" }, "--compare: 'full' is given twice")]
    [InlineData(new[] { "--compare", "," }, "--compare: give a comma-separated list of runs")]
    [InlineData(new[] { "--norm", "layer" }, "--norm: 'layer' is not one of batch, group, group-ws")]
    [InlineData(new[] { "--swap", "--norm", "group-ws" }, "--swap builds the model with BatchNorm")]
    [InlineData(new[] { "--target-accuracy", "0" }, "--target-accuracy: '0' must be a number in (0, 1]")]
    [InlineData(new[] { "--target-accuracy", "1.01" }, "--target-accuracy: '1.01' must be a number in (0, 1]")]
    [InlineData(new[] { "--target-accuracy", "90" }, "--target-accuracy: '90' must be a number in (0, 1]")]
    [InlineData(new[] { "--sb-beta", "0" }, "--sb-beta: '0' must be a number in (0, 1000]")]
    [InlineData(new[] { "--infobatch-prune", "1" }, "--infobatch-prune: '1' must be a number in [0, 1)")]
    [InlineData(new[] { "--infobatch-anneal", "0" }, "--infobatch-anneal: '0' must be a number in (0, 1]")]
    [InlineData(new[] { "--groups", "0" }, "--groups: '0' is not a whole number from 1 to 4096")]
    [InlineData(new[] { "--groups", "4", "--norm", "batch" }, "--groups sets the group count of GroupNorm, and no run uses group or group-ws")]
    [InlineData(new[] { "--accumulate" }, "--accumulate applies to sb runs (infobatch's sampler yields full batches itself), and the runs have none")]
    [InlineData(new[] { "--schedule", "ramp:x" }, "--schedule: 'ramp:x'")]
    [InlineData(new[] { "--epochs" }, "--epochs needs a value")]
    [InlineData(new[] { "--lr", "--swap" }, "--lr needs a value")]
    [InlineData(new[] { "--resume" }, "--resume needs --output DIR")]
    [InlineData(new[] { "--swap", "--norm", "group" }, "--swap builds the model with BatchNorm")]
    [InlineData(new[] { "--strategy", "full", "--compare", "full,random" }, "--strategy and --compare both choose the runs")]
    [InlineData(new[] { "--epochs", "3", "--warmup-epochs", "4" }, "--warmup-epochs: 4 is more than --epochs (3)")]
    [InlineData(new[] { "--augment", "flip" }, "--augment: 'flip' is not one of none, crop, crop-flip")]
    [InlineData(new[] { "--noise-type", "asymmetric" }, "--noise-type: 'asymmetric' is not one of symmetric, pair")]
    public void Parse_BadInput_MessageNamesOptionAndFix(string[] args, string expected)
    {
        Action parse = () => TrainingOptions.Parse(args);

        parse.Should().Throw<UsageException>().Which.Message.Should().Contain(expected);
    }

    [Fact]
    public void Parse_CompareWithNormSuffixes_NamesAsWrittenAndNormsFromSuffixOrNorm()
    {
        TrainingOptions o = TrainingOptions.Parse(new[] { "--compare", "full:batch, lowest:group,infobatch:group-ws,sb", "--norm", "batch" });

        o.Runs.Select(r => (r.Name, r.Rule, r.Norm)).Should().Equal(
            ("full:batch", RunRule.Full, NormKind.Batch), ("lowest:group", RunRule.Lowest, NormKind.Group),
            ("infobatch:group-ws", RunRule.InfoBatch, NormKind.GroupWs), ("sb", RunRule.SelectiveBackprop, NormKind.Batch));
        o.Runs.Select(r => r.Folder).Should().Equal("full-batch", "lowest-group", "infobatch-group-ws", "sb");
    }

    [Fact]
    public void Parse_EveryRule_AcceptedWithTheDefaultNorm()
    {
        TrainingOptions o = TrainingOptions.Parse(new[] { "--compare", "full,lowest,highest,random,sb,infobatch" });

        o.Runs.Select(r => r.Rule).Should().Equal(RunSpec.Rules.Values);
        o.Runs.Should().OnlyContain(r => r.Norm == NormKind.GroupWs);
        o.Runs.Where(r => r.HasKeepRatio).Select(r => r.Name).Should().Equal("lowest", "highest", "random");
        o.Runs.Where(r => r.UsesStep).Select(r => r.Name).Should().Equal("lowest", "highest", "random", "sb");
    }

    [Fact]
    public void Parse_EntryParts_RuleNormScoresAndExecutionApartInAnyOrder()
    {
        TrainingOptions o = TrainingOptions.Parse(new[]
        {
            "--compare", "lowest:cached:batch,lowest:masked,sb:last-loss:group,random", "--scores", "fresh", "--execution", "masked", "--norm", "group",
        });

        o.Runs.Select(r => (r.Rule, r.Norm, r.Scores, r.Execution)).Should().Equal(
            (RunRule.Lowest, NormKind.Batch, ScoreSource.Cached, StepExecution.Masked),
            (RunRule.Lowest, NormKind.Group, ScoreSource.Fresh, StepExecution.Masked),
            (RunRule.SelectiveBackprop, NormKind.Group, ScoreSource.LastTrainingLoss, StepExecution.Masked),
            (RunRule.Random, NormKind.Group, ScoreSource.Fresh, StepExecution.Masked));
        TrainingOptions.Parse(new[] { "--compare", "full,infobatch", "--scores", "cached" }).Runs.Should().OnlyContain(r => r.Scores == null,
            "full and infobatch take no score source: --scores applies to the step rules");
    }

    [Fact]
    public void Parse_EpochsPart_StretchesThatRunsScheduleOnly()
    {
        TrainingOptions o = TrainingOptions.Parse(new[] { "--compare", "full:batch,infobatch:22ep,random:group:31ep", "--epochs", "15" });

        o.Runs.Select(r => r.EpochsOr(o.Epochs)).Should().Equal(15, 22, 31);
        o.Runs[2].Norm.Should().Be(NormKind.Group);
        o.ResolveFor(DataFormat.Idx).FingerprintOf(o.Runs[1], 1).Should().Contain("runepochs=22");
    }

    [Fact]
    public void Parse_Seeds_ListInOrderDataSeedApart()
    {
        TrainingOptions o = TrainingOptions.Parse(new[] { "--seeds", "3, 1,2", "--seed", "9", "--eval-every", "0.25" });

        o.Seeds.Should().Equal(3UL, 1UL, 2UL);
        o.Seed.Should().Be(9UL, "--seed keeps choosing the data, the subsets and the noisy labels");
        o.EvalEvery.Should().Be(0.25);
    }

    [Fact]
    public void Parse_SameRuleWithTwoNorms_TwoRuns()
    {
        TrainingOptions.Parse(new[] { "--compare", "full:batch,full:group" }).Runs.Select(r => r.Norm).Should().Equal(NormKind.Batch, NormKind.Group);
    }

    [Fact]
    public void Parse_StrategyWithSuffix_OneRunAsWritten()
    {
        TrainingOptions o = TrainingOptions.Parse(new[] { "--strategy", "infobatch:batch" });

        o.Runs.Should().ContainSingle().Which.Should().Be(new RunSpec("infobatch:batch", RunRule.InfoBatch, NormKind.Batch));
    }

    [Fact]
    public void Parse_Swap_EntriesWithoutSuffixAreBatchRuns()
    {
        TrainingOptions o = TrainingOptions.Parse(new[] { "--swap", "--compare", "full,lowest:group" });

        o.Runs.Select(r => r.Norm).Should().Equal(NormKind.Batch, NormKind.Group);
    }

    [Fact]
    public void Parse_NoRuleOptions_PapersDefaultsNoAccumulationNoTargetNoGroups()
    {
        TrainingOptions o = TrainingOptions.Parse(Array.Empty<string>());

        (o.SbBeta, o.InfoBatchPrune, o.InfoBatchAnneal, o.Accumulate).Should().Be((3.0, 0.5, 0.875, false));
        o.TargetAccuracy.Should().BeNull();
        o.Groups.Should().BeNull();
    }

    [Fact]
    public void Parse_RuleOptionsGiven_ResolvesEach()
    {
        TrainingOptions o = TrainingOptions.Parse(new[]
        {
            "--compare", "full,sb,infobatch:group-ws", "--sb-beta", "2", "--infobatch-prune", "0.3", "--infobatch-anneal", "0.75", "--accumulate",
            "--groups", "4", "--target-accuracy", "0.9",
        });

        (o.SbBeta, o.InfoBatchPrune, o.InfoBatchAnneal, o.Accumulate).Should().Be((2.0, 0.3, 0.75, true));
        (o.Groups, o.TargetAccuracy).Should().Be((4, 0.9));
    }

    [Fact]
    public void FingerprintOf_OptionsOfOtherRules_LeaveARunsFingerprintAlone()
    {
        string Of(string run, params string[] args) =>
            TrainingOptions.Parse(args.Concat(new[] { "--compare", "full,sb,infobatch" }).ToArray()).ResolveFor(DataFormat.Idx)
                .FingerprintOf(RunSpec.Parse("--compare", run, NormKind.Group), 1);

        Of("full", "--keep", "0.3", "--sb-beta", "2", "--infobatch-prune", "0.2", "--accumulate", "--target-accuracy", "0.5")
            .Should().Be(Of("full"), "none of these change how full trains");
        Of("sb", "--keep", "0.3", "--infobatch-anneal", "0.5").Should().Be(Of("sb"));
        Of("sb", "--sb-beta", "2").Should().NotBe(Of("sb"));
        Of("sb", "--accumulate").Should().NotBe(Of("sb"));
        Of("infobatch", "--infobatch-prune", "0.2").Should().NotBe(Of("infobatch"));
        Of("lowest", "--schedule", "ramp:2").Should().NotBe(Of("lowest"));
        Of("lowest:batch").Should().NotBe(Of("lowest"), "the norm decides the result");
        Of("lowest", "--groups", "2").Should().NotBe(Of("lowest"));
        Of("lowest", "--epochs", "2").Should().NotBe(Of("lowest"));
        Of("lowest:cached").Should().NotBe(Of("lowest"), "the score source decides the result");
        Of("lowest:masked").Should().NotBe(Of("lowest"), "so does the execution");
        Of("lowest", "--eval-every", "0.5").Should().NotBe(Of("lowest"), "the metrics rows differ");
        Of("lowest", "--weight-decay", "0").Should().NotBe(Of("lowest"));
        TrainingOptions.Parse(new[] { "--compare", "full" }).ResolveFor(DataFormat.Idx).FingerprintOf(RunSpec.Parse("--compare", "full", NormKind.Group), 2)
            .Should().NotBe(Of("full"), "each run seed is its own run");
    }

    [Fact]
    public void Parse_RampWithoutEpochs_RampsOverHalfTheEpochs()
    {
        TrainingOptions.Parse(new[] { "--schedule", "ramp", "--epochs", "10" }).RampEpochs.Should().Be(5);
        TrainingOptions.Parse(new[] { "--schedule", "ramp:3" }).RampEpochs.Should().Be(3);
    }

    [Fact]
    public void Main_UnknownOption_ExitsWithCode2NamingIt()
    {
        var (code, error) = ConsoleCollection.RunMain("--batchsize", "32");

        code.Should().Be(2);
        error.Should().Contain("Unknown option 'batchsize'").And.Contain("--batchsize 32");
    }

    [Theory]
    [InlineData("--epochs", "x", "--epochs: 'x' is not a whole number")]
    [InlineData("--norm", "groupnorm", "--norm: 'groupnorm' is not one of batch, group, group-ws")]
    [InlineData("--compare", "full,bogus", "--compare: 'bogus' in 'bogus' is not a rule")]
    [InlineData("--compare", "full:batch,lowest:gn", "--compare: 'lowest:gn' has the part 'gn'")]
    [InlineData("--seeds", "1;2", "--seeds: '1;2' in '1;2' is not a whole number")]
    [InlineData("--eval-every", "often", "--eval-every: 'often' must be a number")]
    [InlineData("--target-accuracy", "1.5", "--target-accuracy: '1.5' must be a number in (0, 1]")]
    [InlineData("--lr", "fast", "--lr: 'fast' must be a number")]
    public void Main_BadValue_ExitsWithCode2NamingTheOption(string option, string value, string expected)
    {
        var (code, error) = ConsoleCollection.RunMain(option, value);

        code.Should().Be(2);
        error.Should().Contain(expected);
    }

    [Theory]
    [InlineData("--keep", "0", "--keep: '0' must be a number in (0, 1]")]
    [InlineData("--batch-size", "1", "--batch-size: '1' is not a whole number from 2 to 65536")]
    [InlineData("--label-noise", "1", "--label-noise: '1' must be a number in [0, 1)")]
    public void Main_OutOfRangeValue_ExitsWithCode2NamingTheOptionAndRange(string option, string value, string expected)
    {
        var (code, error) = ConsoleCollection.RunMain(option, value);

        code.Should().Be(2);
        error.Should().Contain(expected);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void Main_Help_ExitsWithCode0(string help)
    {
        var (code, error) = ConsoleCollection.RunMain(help);

        code.Should().Be(0);
        error.Should().BeEmpty();
    }
}
