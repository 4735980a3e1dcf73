using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using SelectiveLoss.Models;
using SelectiveLoss.Normalization;

namespace Cifar100Training;

/// <summary>The command line, parsed and checked before any work.</summary>
internal sealed record TrainingOptions
{
    public static readonly string[] Strategies = { "full", "masked", "rebatched", "cached", "random" };
    public static readonly string[] Models = { "small", "tiny", "densenet121" };
    private static readonly string[] DeviceNames = { "cpu", "cuda" };
    private static readonly string[] NormNames = { "group", "batch" };

    public string? DataDirectory { get; init; }

    public IReadOnlyList<string> Runs { get; init; } = new[] { "full", "rebatched", "random" };

    public double Keep { get; init; } = 0.6;

    /// <summary>0 for a constant keep ratio, else the epochs of a linear ramp from 1 to <see cref="Keep"/>.</summary>
    public int RampEpochs { get; init; }

    public int Epochs { get; init; } = 8;

    public int BatchSize { get; init; } = 64;

    public double LearningRate { get; init; } = 0.1;

    public ulong Seed { get; init; } = 1;

    public string? Device { get; init; }

    public string Model { get; init; } = "small";

    public string Norm { get; init; } = "group";

    public bool Swap { get; init; }

    public double LabelNoise { get; init; } = 0.2;

    public int TrainSize { get; init; } = 3000;

    public int TestSize { get; init; } = 1000;

    public string? Output { get; init; }

    public bool Resume { get; init; }

    public int Threads { get; init; }

    public bool Help { get; init; }

    /// <summary>The options that decide the result: a resumed run must match them.</summary>
    public string Fingerprint => string.Create(CultureInfo.InvariantCulture,
        $"data={DataDirectory ?? "synthetic"};keep={Keep};ramp={RampEpochs};epochs={Epochs};batch={BatchSize};lr={LearningRate};seed={Seed};" +
        $"model={Model};norm={Norm};swap={Swap};noise={LabelNoise};train={TrainSize};test={TestSize}");

    public const string Usage = """
        Trains a CIFAR DenseNet with SelectiveLoss and compares selection strategies.

        Usage: dotnet run --project samples/Cifar100Training -c Release -- [options]

          --data DIR            CIFAR-100 binary version (DIR/train.bin, DIR/test.bin); default: synthetic data
          --strategy NAME       one run: full | masked | rebatched | cached | random
          --compare LIST        several runs on the same data and seed, e.g. full,rebatched,random (default)
          --keep R              keep ratio of the selective strategies, in (0, 1]; default 0.6
          --schedule S          constant (default) | ramp[:EPOCHS] (keep ratio 1 -> R over EPOCHS, default half the epochs)
          --epochs N            default 8
          --batch-size N        default 64
          --lr X                SGD learning rate (momentum 0.9, cosine decay); default 0.1
          --seed N              default 1
          --device cpu|cuda     default: cuda when available
          --model NAME          small (default: growth 12, blocks 3,3,3) | tiny | densenet121
          --norm group|batch    default group (GroupNorm through norm_layer)
          --swap                build with BatchNorm, convert with NormalizationSwapper, print the report
          --label-noise P       synthetic data: share of training labels made wrong, in [0, 1); default 0.2
          --train-size N        synthetic data: training images; default 3000
          --test-size N         synthetic data: test images; default 1000
          --threads N           torch CPU threads; default: all cores
          --output DIR          default runs/<timestamp>
          --resume              continue the runs in --output from their last checkpoint
          --help                this text

        Exit codes: 0 done, 2 bad option, 3 bad data file, 4 resume mismatch.
        """;

    public static TrainingOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new TrainingOptions();
        bool strategyGiven = false, compareGiven = false;
        string schedule = "constant";
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string Value()
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new UsageException($"{name} needs a value. See --help.");
                }

                return args[++i];
            }

            switch (name)
            {
                case "--data": o = o with { DataDirectory = Value() }; break;
                case "--strategy": o = o with { Runs = new[] { Choice(name, Value(), Strategies) } }; strategyGiven = true; break;
                case "--compare":
                    o = o with { Runs = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => Choice(name, s, Strategies)).ToArray() };
                    compareGiven = true;
                    if (o.Runs.Count == 0 || o.Runs.Distinct().Count() != o.Runs.Count)
                    {
                        throw new UsageException($"--compare: give a comma-separated list of distinct strategies from {string.Join(", ", Strategies)}, e.g. --compare full,rebatched,random.");
                    }

                    break;
                case "--keep": o = o with { Keep = Real(name, Value(), 0, 1, lowOpen: true) }; break;
                case "--schedule": schedule = Value(); break;
                case "--epochs": o = o with { Epochs = Integer(name, Value(), 1, 10_000) }; break;
                case "--batch-size": o = o with { BatchSize = Integer(name, Value(), 2, 65_536) }; break;
                case "--lr": o = o with { LearningRate = Real(name, Value(), 0, 10, lowOpen: true) }; break;
                case "--seed": o = o with { Seed = (ulong)Integer(name, Value(), 0, int.MaxValue) }; break;
                case "--device": o = o with { Device = Choice(name, Value(), DeviceNames) }; break;
                case "--model": o = o with { Model = Choice(name, Value(), Models) }; break;
                case "--norm": o = o with { Norm = Choice(name, Value(), NormNames) }; break;
                case "--swap": o = o with { Swap = true }; break;
                case "--label-noise": o = o with { LabelNoise = Real(name, Value(), 0, 1, lowOpen: false, highOpen: true) }; break;
                case "--train-size": o = o with { TrainSize = Integer(name, Value(), 1, 10_000_000) }; break;
                case "--test-size": o = o with { TestSize = Integer(name, Value(), 1, 10_000_000) }; break;
                case "--threads": o = o with { Threads = Integer(name, Value(), 1, 1024) }; break;
                case "--output": o = o with { Output = Value() }; break;
                case "--resume": o = o with { Resume = true }; break;
                case "--help" or "-h": o = o with { Help = true }; break;
                default:
                    throw new UsageException($"Unknown option '{name}'. Options are listed by --help (for example --strategy rebatched --keep 0.6).");
            }
        }

        if (strategyGiven && compareGiven)
        {
            throw new UsageException("--strategy and --compare both choose the runs: give one of them (--compare full,rebatched for several).");
        }

        if (o.Swap && o.Norm == "group")
        {
            bool normGiven = args.Contains("--norm");
            if (normGiven)
            {
                throw new UsageException("--swap builds the model with BatchNorm and converts it to GroupNorm: it cannot be combined with --norm group. Drop --norm.");
            }
        }

        if (o.Resume && o.Output is null)
        {
            throw new UsageException("--resume needs --output DIR: the folder of the run to continue (it was printed when the run started).");
        }

        if (o.DataDirectory is not null && args.Any(a => a is "--train-size" or "--test-size" or "--label-noise"))
        {
            throw new UsageException("--train-size, --test-size and --label-noise shape the synthetic data; with --data the real files decide. Drop them.");
        }

        return o with { RampEpochs = ParseSchedule(schedule, o.Epochs) };
    }

    private static int ParseSchedule(string value, int epochs)
    {
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

    private static string Choice(string name, string value, string[] allowed) =>
        allowed.Contains(value) ? value : throw new UsageException($"{name}: '{value}' is not one of {string.Join(", ", allowed)}.");

    private static int Integer(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max
            ? v
            : throw new UsageException($"{name}: '{value}' is not a whole number from {min} to {max}.");

    private static double Real(string name, string value, double low, double high, bool lowOpen, bool highOpen = false)
    {
        bool ok = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            && !double.IsNaN(v) && (lowOpen ? v > low : v >= low) && (highOpen ? v < high : v <= high);
        return ok
            ? v
            : throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"{name}: '{value}' must be a number in {(lowOpen ? "(" : "[")}{low}, {high}{(highOpen ? ")" : "]")} (use a dot as decimal separator)."));
    }
}
