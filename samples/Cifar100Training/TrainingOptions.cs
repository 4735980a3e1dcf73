using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using SelectiveLoss.Training;
using Spectre.Console.Cli;
using static Cifar100Training.OptionValues;

namespace Cifar100Training;

/// <summary>The command line, resolved and checked before any work (declared by <see cref="TrainingSettings"/>).</summary>
internal sealed record TrainingOptions
{
    public static readonly string[] Models = { "small", "tiny", "densenet121" };
    internal static readonly string[] DefaultRuns = { "full:batch", "lowest", "random" };
    private static readonly string[] DeviceNames = { "cpu", "cuda" };
    private static readonly string[] NoiseTypeNames = { "symmetric", "pair" };
    private static readonly string[] AugmentNames = { "none", "crop", "crop-flip" }; // in the order of Augmentation

    public string? DataDirectory { get; init; }

    /// <summary>The runs, in --compare order; the first is the reference of the time to target.</summary>
    public IReadOnlyList<RunSpec> Runs { get; init; } = DefaultRuns.Select(r => RunSpec.Parse("--compare", r, NormKind.GroupWs)).ToArray();

    /// <summary>The run seeds, in order (--seeds; else --seed alone).</summary>
    public IReadOnlyList<ulong> Seeds { get; init; } = new[] { 1UL };

    public double Keep { get; init; } = 0.6;

    /// <summary>0 for a constant keep ratio, else the epochs of a linear ramp from 1 to <see cref="Keep"/>.</summary>
    public int RampEpochs { get; init; }

    public int Epochs { get; init; } = 8;

    /// <summary>Epochs between evaluations: a share of an epoch in (0, 1], or a whole number of epochs.</summary>
    public double EvalEvery { get; init; } = 1;

    public int BatchSize { get; init; } = 64;

    public double LearningRate { get; init; } = 0.1;

    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>The data seed: generated data, subsets, noisy labels.</summary>
    public ulong Seed { get; init; } = 1;

    public string? Device { get; init; }

    public string Model { get; init; } = "small";

    /// <summary>The norm of the entries without a norm part: batch under --swap unless given, else group-ws unless given.</summary>
    public NormKind Norm { get; init; } = NormKind.GroupWs;

    /// <summary>The score source of step runs whose entry names none; null for each rule's own default.</summary>
    public ScoreSource? Scores { get; init; }

    /// <summary>The execution of step runs whose entry names none.</summary>
    public StepExecution Execution { get; init; } = StepExecution.Rebatched;

    /// <summary>An explicit GroupNorm group count for the group and group-ws runs; null for the per-layer default rule.</summary>
    public int? Groups { get; init; }

    public bool Swap { get; init; }

    public double SbBeta { get; init; } = 3;

    public double InfoBatchPrune { get; init; } = 0.5;

    public double InfoBatchAnneal { get; init; } = 0.875;

    /// <summary>Whether sb runs accumulate their kept samples to full batches.</summary>
    public bool Accumulate { get; init; }

    /// <summary>The test accuracy of the time to target; null for the first run's final accuracy minus 0.005.</summary>
    public double? TargetAccuracy { get; init; }

    /// <summary>Share of training labels made wrong: 0.2 for generated data, 0 for --data unless given.</summary>
    public double LabelNoise { get; init; } = 0.2;

    public NoiseType NoiseType { get; init; } = NoiseType.Symmetric;

    /// <summary>Training images: generated ones, or the first N of the real ones (null: all of them).</summary>
    public int? TrainSize { get; init; } = 3000;

    /// <summary>Test images: generated ones, or the first N of the real ones (null: all of them).</summary>
    public int? TestSize { get; init; } = 1000;

    public int? TrainPerClass { get; init; }

    public int? TestPerClass { get; init; }

    public int ImageSize { get; init; } = 32;

    public string? ImageCache { get; init; }

    public string? Output { get; init; }

    public bool Resume { get; init; }

    public int MaxRestarts { get; init; } = 3;

    /// <summary>Epochs of linear learning-rate warm-up, counted per step, before the cosine decay.</summary>
    public int WarmupEpochs { get; init; } = 1;

    /// <summary>Training augmentation; null until the data is known (crop-flip for generated, CIFAR and image-folder data, crop for digits).</summary>
    public Augmentation? Augment { get; init; }

    public int Threads { get; init; }

    /// <summary>
    /// Every option that decides a result (written to options.txt). The runs' list, the seeds and --target-accuracy are
    /// not part of it: they choose what is trained and how it is summarised, not how a run trains.
    /// </summary>
    public string Fingerprint => string.Create(CultureInfo.InvariantCulture,
        $"{Common};keep={Keep};ramp={RampEpochs};norm={RunSpec.NameOf(Norm)};groups={GroupsText};swap={Swap};sbbeta={SbBeta};prune={InfoBatchPrune};anneal={InfoBatchAnneal};accumulate={Accumulate}");

    /// <summary>The options that decide <paramref name="run"/>'s result with run seed <paramref name="seed"/>: a resumed run
    /// must match them. A run resumes even when options that only other runs read changed.</summary>
    public string FingerprintOf(RunSpec run, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(run);
        var text = new System.Text.StringBuilder(Common)
            .Append(CultureInfo.InvariantCulture, $";runseed={seed};run={RunSpec.NameOf(run.Rule)};norm={RunSpec.NameOf(run.Norm)};runepochs={run.EpochsOr(Epochs)}");
        if (run.UsesStep)
        {
            text.Append(CultureInfo.InvariantCulture, $";scores={(run.Scores is { } s ? RunSpec.NameOf(s) : "default")};execution={run.Execution}");
        }

        if (run.UsesGroupNorm)
        {
            text.Append(";groups=").Append(GroupsText);
        }

        if (run.Norm == NormKind.Batch)
        {
            text.Append(CultureInfo.InvariantCulture, $";swap={Swap}");
        }

        if (run.HasKeepRatio)
        {
            text.Append(CultureInfo.InvariantCulture, $";keep={Keep};ramp={RampEpochs}");
        }

        if (run.Rule == RunRule.SelectiveBackprop)
        {
            text.Append(CultureInfo.InvariantCulture, $";sbbeta={SbBeta};accumulate={Accumulate}");
        }

        if (run.Rule == RunRule.InfoBatch)
        {
            text.Append(CultureInfo.InvariantCulture, $";prune={InfoBatchPrune};anneal={InfoBatchAnneal}");
        }

        return text.ToString();
    }

    private string GroupsText => Groups?.ToString(CultureInfo.InvariantCulture) ?? "default";

    private string Common => string.Create(CultureInfo.InvariantCulture,
        $"data={DataDirectory ?? "synthetic"};epochs={Epochs};evalevery={EvalEvery};batch={BatchSize};lr={LearningRate};wd={WeightDecay};seed={Seed};model={Model};" +
        $"noise={LabelNoise};noisetype={NoiseType};warmup={WarmupEpochs};augment={(Augment is { } a ? AugmentName(a) : "auto")};" +
        $"train={TrainSize?.ToString(CultureInfo.InvariantCulture) ?? "all"};test={TestSize?.ToString(CultureInfo.InvariantCulture) ?? "all"};" +
        $"trainperclass={TrainPerClass?.ToString(CultureInfo.InvariantCulture) ?? "all"};testperclass={TestPerClass?.ToString(CultureInfo.InvariantCulture) ?? "all"};imagesize={ImageSize}");

    /// <summary>Resolves and checks the command line; a bad value throws <see cref="UsageException"/> naming the option.</summary>
    public static TrainingOptions From(TrainingSettings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.Strategy is not null && s.Compare is not null)
        {
            throw new UsageException("--strategy and --compare both choose the runs: give one of them (--compare full,lowest for several).");
        }

        if (s.Swap && s.Norm is "group" or "group-ws")
        {
            throw new UsageException($"--swap builds the model with BatchNorm and converts it to GroupNorm: it cannot be combined with --norm {s.Norm}. Drop --norm.");
        }

        // Under --swap the entries without a norm part are BatchNorm runs, converted after they are built.
        NormKind norm = s.Norm is null ? (s.Swap ? NormKind.Batch : NormKind.GroupWs) : RunSpec.Norms[Choice("--norm", s.Norm, RunSpec.Norms.Keys)];
        ScoreSource? scores = s.Scores is null ? null : RunSpec.ScoreSources[Choice("--scores", s.Scores, RunSpec.ScoreSources.Keys)];
        StepExecution execution = s.Execution is null ? StepExecution.Rebatched : RunSpec.Executions[Choice("--execution", s.Execution, RunSpec.Executions.Keys)];
        int epochs = Integer("--epochs", s.Epochs, 1, 10_000);
        var o = new TrainingOptions
        {
            DataDirectory = s.Data is null ? null : Text("--data", s.Data),
            Keep = Real("--keep", s.Keep, 0, 1, lowOpen: true),
            Epochs = epochs,
            EvalEvery = EvalInterval(s.EvalEvery),
            BatchSize = Integer("--batch-size", s.BatchSize, 2, 65_536),
            LearningRate = Real("--lr", s.LearningRate, 0, 10, lowOpen: true),
            WeightDecay = Real("--weight-decay", s.WeightDecay, 0, 1, lowOpen: false, highOpen: true),
            Seed = (ulong)Integer("--seed", s.Seed, 0, int.MaxValue),
            Device = s.Device is null ? null : Choice("--device", s.Device, DeviceNames),
            Model = Choice("--model", s.Model, Models),
            Norm = norm,
            Scores = scores,
            Execution = execution,
            Groups = s.Groups is { } g ? Integer("--groups", g, 1, 4096) : null,
            Swap = s.Swap,
            SbBeta = Real("--sb-beta", s.SbBeta, 0, 1000, lowOpen: true),
            InfoBatchPrune = Real("--infobatch-prune", s.InfoBatchPrune, 0, 1, lowOpen: false, highOpen: true),
            InfoBatchAnneal = Real("--infobatch-anneal", s.InfoBatchAnneal, 0, 1, lowOpen: true),
            Accumulate = s.Accumulate,
            TargetAccuracy = s.TargetAccuracy is { } t ? Real("--target-accuracy", t, 0, 1, lowOpen: true) : null,
            Output = s.Output is null ? null : Text("--output", s.Output),
            Resume = s.Resume,
            Threads = s.Threads is { } threads ? Integer("--threads", threads, 1, 1024) : 0,
            MaxRestarts = Integer("--max-restarts", s.MaxRestarts, 0, 1000),
            TrainPerClass = s.TrainPerClass is { } tpc ? Integer("--train-per-class", tpc, 1, 10_000_000) : null,
            TestPerClass = s.TestPerClass is { } vpc ? Integer("--test-per-class", vpc, 1, 10_000_000) : null,
            ImageSize = Integer("--image-size", s.ImageSize, 1, 4096),
            ImageCache = s.ImageCache is null ? null : Text("--image-cache", s.ImageCache),
        };
        o = o with { Runs = ParseRuns(s, norm, scores, execution), Seeds = ParseSeeds(s) };

        if (o.Accumulate && !o.Runs.Any(r => r.Rule == RunRule.SelectiveBackprop))
        {
            throw new UsageException("--accumulate applies to sb runs (infobatch's sampler yields full batches itself), and the runs have none. Drop --accumulate or add sb to --compare.");
        }

        if (o.Groups is not null && !o.Runs.Any(r => r.UsesGroupNorm))
        {
            throw new UsageException("--groups sets the group count of GroupNorm, and no run uses group or group-ws. Drop --groups, or add a :group entry (or --norm group).");
        }

        if (s.Resume && s.Output is null)
        {
            throw new UsageException("--resume needs --output DIR: the folder of the run to continue (it was printed when the run started).");
        }

        bool generated = s.Data is null;
        if (generated && (s.TrainPerClass is not null || s.TestPerClass is not null))
        {
            throw new UsageException("--train-per-class and --test-per-class choose a class-balanced subset of --data; generated data has no --data. Give --data DIR, or use --train-size and --test-size.");
        }

        int warmup = Integer("--warmup-epochs", s.WarmupEpochs, 0, 10_000);
        if (o.Runs.FirstOrDefault(r => r.EpochsOr(o.Epochs) < warmup) is { Epochs: { } few })
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--warmup-epochs: {warmup} is more than the {few} epochs of a run in --compare; give at most {few} (0 for no warm-up)."));
        }

        if (warmup > o.Epochs)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--warmup-epochs: {warmup} is more than --epochs ({o.Epochs}); give at most {o.Epochs} (0 for no warm-up)."));
        }

        // Generated data: 3000 and 1000 images and 20% label noise by default; real data: all of it unless capped
        // (the first N), with its labels as they are unless --label-noise is given.
        return o with
        {
            RampEpochs = ParseSchedule(s.Schedule, o.Epochs),
            WarmupEpochs = warmup,
            Augment = s.Augment is null ? null : (Augmentation)Array.IndexOf(AugmentNames, Choice("--augment", s.Augment, AugmentNames)),
            LabelNoise = s.LabelNoise is { } noise ? Real("--label-noise", noise, 0, 1, lowOpen: false, highOpen: true) : (generated ? 0.2 : 0),
            NoiseType = Choice("--noise-type", s.NoiseType, NoiseTypeNames) == "pair" ? NoiseType.Pair : NoiseType.Symmetric,
            TrainSize = s.TrainSize is { } train ? Integer("--train-size", train, 1, 10_000_000) : (generated ? 3000 : null),
            TestSize = s.TestSize is { } test ? Integer("--test-size", test, 1, 10_000_000) : (generated ? 1000 : null),
        };
    }

    /// <summary>The command-line spelling of an augmentation: none, crop, crop-flip.</summary>
    public static string AugmentName(Augmentation augment) => AugmentNames[(int)augment];

    /// <summary>The options with the data-dependent defaults filled in: the augmentation, unless given.</summary>
    public TrainingOptions ResolveFor(DataFormat format) =>
        this with { Augment = Augment ?? (format == DataFormat.Idx ? Augmentation.Crop : Augmentation.CropFlip) };

    /// <summary>Parses a command line as the program does (Spectre.Console.Cli, strict), without running anything.</summary>
    /// <exception cref="UsageException">The command line is not valid; the message names the option.</exception>
    public static TrainingOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        TrainingOptions? parsed = null;
        try
        {
            CommandLine.Create(o =>
            {
                parsed = o;
                return 0;
            }).Run(args);
        }
        catch (Exception e) when (e is CommandParseException or CommandRuntimeException)
        {
            throw new UsageException(CommandLine.Explain(e, args), e);
        }

        return parsed ?? throw new UsageException("No options were parsed (--help prints the help and runs nothing).");
    }
}
