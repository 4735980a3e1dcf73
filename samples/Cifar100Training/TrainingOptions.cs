using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Spectre.Console.Cli;

namespace Cifar100Training;

/// <summary>The command line, resolved and checked before any work (declared by <see cref="TrainingSettings"/>).</summary>
internal sealed record TrainingOptions
{
    public static readonly string[] Models = { "small", "tiny", "densenet121" };
    private static readonly string[] DefaultRuns = { "full", "rebatched", "random" };
    private static readonly string[] DeviceNames = { "cpu", "cuda" };
    private static readonly string[] NoiseTypeNames = { "symmetric", "pair" };
    private static readonly string[] AugmentNames = { "none", "crop", "crop-flip" }; // in the order of Augmentation

    public string? DataDirectory { get; init; }

    /// <summary>The runs, in --compare order; the first is the reference of the time to target.</summary>
    public IReadOnlyList<RunSpec> Runs { get; init; } = new[] { new RunSpec("full", "full", "group-ws"), new RunSpec("rebatched", "rebatched", "group-ws"), new RunSpec("random", "random", "group-ws") };

    public double Keep { get; init; } = 0.6;

    /// <summary>0 for a constant keep ratio, else the epochs of a linear ramp from 1 to <see cref="Keep"/>.</summary>
    public int RampEpochs { get; init; }

    public int Epochs { get; init; } = 8;

    public int BatchSize { get; init; } = 64;

    public double LearningRate { get; init; } = 0.1;

    public ulong Seed { get; init; } = 1;

    public string? Device { get; init; }

    public string Model { get; init; } = "small";

    /// <summary>The norm of the entries without a suffix: batch under --swap unless given, else group unless given.</summary>
    public string Norm { get; init; } = "group-ws";

    /// <summary>An explicit GroupNorm group count for the group and group-ws runs; null for the per-layer default rule.</summary>
    public int? Groups { get; init; }

    public bool Swap { get; init; }

    /// <summary>Selective-Backprop's beta (sb runs).</summary>
    public double SbBeta { get; init; } = 3;

    /// <summary>InfoBatch's prune ratio (infobatch runs).</summary>
    public double InfoBatchPrune { get; init; } = 0.5;

    /// <summary>InfoBatch's anneal fraction (infobatch runs).</summary>
    public double InfoBatchAnneal { get; init; } = 0.875;

    /// <summary>Whether sb and infobatch runs accumulate their kept samples to full batches.</summary>
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

    public string? Output { get; init; }

    public bool Resume { get; init; }

    /// <summary>Epochs of linear learning-rate warm-up, counted per step, before the cosine decay.</summary>
    public int WarmupEpochs { get; init; } = 1;

    /// <summary>Training augmentation; null until the data is known (crop-flip for generated and CIFAR data, crop for digits).</summary>
    public Augmentation? Augment { get; init; }

    public int Threads { get; init; }

    /// <summary>
    /// Every option that decides a result (written to options.txt). The runs' list and --target-accuracy are not part of
    /// it: they choose what is trained and how it is summarised, not how a run trains.
    /// </summary>
    public string Fingerprint => string.Create(CultureInfo.InvariantCulture,
        $"{Common};keep={Keep};ramp={RampEpochs};norm={Norm};groups={GroupsText};swap={Swap};sbbeta={SbBeta};prune={InfoBatchPrune};anneal={InfoBatchAnneal};accumulate={Accumulate}");

    /// <summary>The options that decide <paramref name="run"/>'s result: a resumed run must match them. A run resumes
    /// even when options that only other runs read (another rule's parameters, --compare's other entries) changed.</summary>
    public string FingerprintOf(RunSpec run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var text = new System.Text.StringBuilder(Common).Append(CultureInfo.InvariantCulture, $";run={run.Rule};norm={run.Norm}");
        if (run.UsesGroupNorm)
        {
            text.Append(";groups=").Append(GroupsText);
        }

        if (run.Norm == "batch")
        {
            text.Append(CultureInfo.InvariantCulture, $";swap={Swap}");
        }

        if (run.HasKeepRatio)
        {
            text.Append(CultureInfo.InvariantCulture, $";keep={Keep};ramp={RampEpochs}");
        }

        if (run.Rule == "sb")
        {
            text.Append(CultureInfo.InvariantCulture, $";sbbeta={SbBeta};accumulate={Accumulate}");
        }

        if (run.Rule == "infobatch")
        {
            text.Append(CultureInfo.InvariantCulture, $";prune={InfoBatchPrune};anneal={InfoBatchAnneal};accumulate={Accumulate}");
        }

        return text.ToString();
    }

    private string GroupsText => Groups?.ToString(CultureInfo.InvariantCulture) ?? "default";

    private string Common => string.Create(CultureInfo.InvariantCulture,
        $"data={DataDirectory ?? "synthetic"};epochs={Epochs};batch={BatchSize};lr={LearningRate};seed={Seed};model={Model};" +
        $"noise={LabelNoise};noisetype={NoiseType};warmup={WarmupEpochs};augment={(Augment is { } a ? AugmentName(a) : "auto")};" +
        $"train={TrainSize?.ToString(CultureInfo.InvariantCulture) ?? "all"};test={TestSize?.ToString(CultureInfo.InvariantCulture) ?? "all"}");

    /// <summary>Resolves and checks the command line; a bad value throws <see cref="UsageException"/> naming the option.</summary>
    public static TrainingOptions From(TrainingSettings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.Strategy is not null && s.Compare is not null)
        {
            throw new UsageException("--strategy and --compare both choose the runs: give one of them (--compare full,rebatched for several).");
        }

        if (s.Swap && s.Norm is "group" or "group-ws")
        {
            throw new UsageException($"--swap builds the model with BatchNorm and converts it to GroupNorm: it cannot be combined with --norm {s.Norm}. Drop --norm.");
        }

        // Under --swap the entries without a suffix are BatchNorm runs, converted after they are built.
        string norm = s.Norm is null ? (s.Swap ? "batch" : "group-ws") : Choice("--norm", s.Norm, RunSpec.Norms);
        var o = new TrainingOptions
        {
            DataDirectory = s.Data is null ? null : Text("--data", s.Data),
            Keep = Real("--keep", s.Keep, 0, 1, lowOpen: true),
            Epochs = Integer("--epochs", s.Epochs, 1, 10_000),
            BatchSize = Integer("--batch-size", s.BatchSize, 2, 65_536),
            LearningRate = Real("--lr", s.LearningRate, 0, 10, lowOpen: true),
            Seed = (ulong)Integer("--seed", s.Seed, 0, int.MaxValue),
            Device = s.Device is null ? null : Choice("--device", s.Device, DeviceNames),
            Model = Choice("--model", s.Model, Models),
            Norm = norm,
            Groups = s.Groups is null ? null : Integer("--groups", s.Groups, 1, 4096),
            Swap = s.Swap,
            SbBeta = Real("--sb-beta", s.SbBeta, 0, 1000, lowOpen: true),
            InfoBatchPrune = Real("--infobatch-prune", s.InfoBatchPrune, 0, 1, lowOpen: false, highOpen: true),
            InfoBatchAnneal = Real("--infobatch-anneal", s.InfoBatchAnneal, 0, 1, lowOpen: true),
            Accumulate = s.Accumulate,
            TargetAccuracy = s.TargetAccuracy is null ? null : Real("--target-accuracy", s.TargetAccuracy, 0, 1, lowOpen: true),
            Output = s.Output is null ? null : Text("--output", s.Output),
            Resume = s.Resume,
            Threads = s.Threads is null ? 0 : Integer("--threads", s.Threads, 1, 1024),
        };
        o = o with { Runs = ParseRuns(s, norm) };

        if (o.Accumulate && !o.Runs.Any(r => r.Rule is "sb" or "infobatch"))
        {
            throw new UsageException("--accumulate applies to sb and infobatch runs, and the runs have neither. Drop --accumulate or add sb or infobatch to --compare.");
        }

        if (o.Groups is not null && !o.Runs.Any(r => r.UsesGroupNorm))
        {
            throw new UsageException("--groups sets the group count of GroupNorm, and no run uses group or group-ws. Drop --groups, or add a :group entry (or --norm group).");
        }

        if (s.Resume && s.Output is null)
        {
            throw new UsageException("--resume needs --output DIR: the folder of the run to continue (it was printed when the run started).");
        }

        // Generated data: 3000 and 1000 images and 20% label noise by default; real data: all of it unless capped
        // (the first N), with its labels as they are unless --label-noise is given.
        bool generated = s.Data is null;

        int warmup = Integer("--warmup-epochs", s.WarmupEpochs, 0, 10_000);
        if (warmup > o.Epochs)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--warmup-epochs: {warmup} is more than --epochs ({o.Epochs}); give at most {o.Epochs} (0 for no warm-up)."));
        }

        return o with
        {
            RampEpochs = ParseSchedule(s.Schedule, o.Epochs),
            WarmupEpochs = warmup,
            Augment = s.Augment is null ? null : (Augmentation)Array.IndexOf(AugmentNames, Choice("--augment", s.Augment, AugmentNames)),
            LabelNoise = s.LabelNoise is null ? (generated ? 0.2 : 0) : Real("--label-noise", s.LabelNoise, 0, 1, lowOpen: false, highOpen: true),
            NoiseType = Choice("--noise-type", s.NoiseType, NoiseTypeNames) == "pair" ? NoiseType.Pair : NoiseType.Symmetric,
            TrainSize = s.TrainSize is null ? (generated ? 3000 : null) : Integer("--train-size", s.TrainSize, 1, 10_000_000),
            TestSize = s.TestSize is null ? (generated ? 1000 : null) : Integer("--test-size", s.TestSize, 1, 10_000_000),
        };
    }

    /// <summary>--compare's entries (or --strategy's one), each RULE or RULE:NORM; entries must be distinct as written.</summary>
    private static RunSpec[] ParseRuns(TrainingSettings s, string norm)
    {
        if (s.Strategy is not null)
        {
            return new[] { RunSpec.Parse("--strategy", Text("--strategy", s.Strategy).Trim(), norm) };
        }

        if (s.Compare is null)
        {
            return DefaultRuns.Select(r => RunSpec.Parse("--compare", r, norm)).ToArray();
        }

        RunSpec[] runs = Text("--compare", s.Compare).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(r => RunSpec.Parse("--compare", r, norm)).ToArray();
        if (runs.Length == 0)
        {
            throw new UsageException($"--compare: give a comma-separated list of runs, each a rule from {string.Join(", ", RunSpec.Rules)} with an optional :{string.Join("|", RunSpec.Norms)} suffix, e.g. --compare full:batch,lowest:group,random.");
        }

        string? repeated = runs.GroupBy(r => r.Name).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (repeated is not null)
        {
            throw new UsageException($"--compare: '{repeated}' is given twice; each entry names one run, so give it once.");
        }

        return runs;
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
            throw new UsageException(e.Message, e);
        }

        return parsed ?? throw new UsageException("No options were parsed (--help prints the help and runs nothing).");
    }

    private static int ParseSchedule(string value, int epochs)
    {
        Text("--schedule", value);
        if (value == "constant")
        {
            return 0;
        }

        if (value == "ramp")
        {
            return Math.Max(1, epochs / 2);
        }

        if (value.StartsWith("ramp:", StringComparison.Ordinal)
            && int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int ramp) && ramp >= 1)
        {
            return ramp;
        }

        throw new UsageException($"--schedule: '{value}' is not a schedule. Use constant, ramp, or ramp:EPOCHS with EPOCHS >= 1 (e.g. ramp:3).");
    }

    /// <summary>
    /// An option's text. Spectre.Console.Cli 0.57.2 with strict parsing binds the internal name of the default command
    /// to an option whose value is missing (<c>--epochs</c> at the end, or <c>--lr --swap</c>) instead of reporting it.
    /// </summary>
    private static string Text(string name, string value) =>
        value == MissingValueSentinel ? throw new UsageException($"{name} needs a value.") : value;

    private const string MissingValueSentinel = "__default_command";

    private static string Choice(string name, string value, string[] allowed) =>
        allowed.Contains(Text(name, value)) ? value : throw new UsageException($"{name}: '{value}' is not one of {string.Join(", ", allowed)}.");

    private static int Integer(string name, string value, int min, int max) =>
        int.TryParse(Text(name, value), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max
            ? v
            : throw new UsageException($"{name}: '{value}' is not a whole number from {min} to {max}.");

    private static double Real(string name, string value, double low, double high, bool lowOpen, bool highOpen = false)
    {
        bool ok = double.TryParse(Text(name, value), NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            && !double.IsNaN(v) && (lowOpen ? v > low : v >= low) && (highOpen ? v < high : v <= high);
        return ok
            ? v
            : throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"{name}: '{value}' must be a number in {(lowOpen ? "(" : "[")}{low}, {high}{(highOpen ? ")" : "]")} (use a dot as decimal separator)."));
    }
}
