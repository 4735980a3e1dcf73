using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SelectiveLoss.Benchmarks;

/// <summary>Command-line options of the benchmark, resolved and checked (declared by <see cref="BenchmarkSettings"/>).</summary>
internal sealed record BenchmarkOptions
{
    public const string Description = """
        SelectiveLoss benchmark: CIFAR DenseNet-121 (100 classes) training steps on generated data.
        Every strategy interleaved round by round; medians, ratios to the full step, peak memory per strategy;
        whole epochs of InfoBatch's sampler and per-batch rule against a full epoch.
        Run it with: dotnet run -c Release --project samples/SelectiveLoss.Benchmarks -- [[OPTIONS]]
        Exit codes: 0 done, 2 bad option.
        """;

    // Spectre.Console.Cli 0.57.2 with strict parsing binds this to an option whose value is missing.
    private const string MissingValueSentinel = "__default_command";

    public bool Quick { get; init; }
    public string CsvPath { get; init; } = "benchmark.csv";
    public string PngPath { get; init; } = "benchmark.png";
    public int WarmupRounds { get; init; } = 2;
    public int Rounds { get; init; } = 7;
    public int Batch { get; init; } = 64;
    public double[] Keeps { get; init; } = { 0.6, 0.3 };

    /// <summary>The norms to measure, by their names in the CSV and the model builder: batchnorm, groupnorm.</summary>
    public string[] Norms { get; init; } = { "batchnorm", "groupnorm" };
    public bool MeasureMemory { get; init; } = true;

    /// <summary>Batches of <see cref="Batch"/> in the epoch cases' data set; 0 leaves the epoch rows out.</summary>
    public int EpochBatches { get; init; } = 4;

    /// <summary>Steps per rule of the leak check; null runs the timing instead.</summary>
    public int? MemorySteps { get; init; }
    public int MemoryWarmup { get; init; } = 50;
    public int MemoryRepeats { get; init; } = 2;

    /// <summary>Steps per variant of the device-sync check; null runs the timing instead.</summary>
    public int? SyncSteps { get; init; }

    /// <summary>Rounds of the BatchNorm check; null runs the timing instead.</summary>
    public int? NormRounds { get; init; }

    /// <summary>Rounds of the numerics check; null runs the timing instead.</summary>
    public int? NumericsRounds { get; init; }

    /// <summary>The numerics check's models: small, densenet121.</summary>
    public IReadOnlyList<string> NumericsModels { get; init; } = new[] { "small", "densenet121" };

    /// <summary>Calls of the numerics scan (the fault's repro); null runs the timing instead.</summary>
    public int? NumericsScan { get; init; }

    /// <summary>The numerics check's child: times the steps as oneDNN is in this process and prints its rows.</summary>
    public bool NumericsChild { get; init; }

    /// <summary>The run folder of memory.csv and sync.csv: the CSV's folder.</summary>
    public string OutputFolder => Path.GetDirectoryName(Path.GetFullPath(CsvPath))!;
    public int Threads { get; init; } = Environment.ProcessorCount;

    // Child mode: measure the peak memory of one strategy in a fresh process.
    public string? ChildNorm { get; init; }
    public string? ChildStrategy { get; init; }
    public double ChildKeep { get; init; } = 1.0;

    /// <summary>
    /// Parses the command line with Spectre.Console.Cli. Returns the options, or null with the exit code to return:
    /// 0 after --help, 2 after a bad option (the message, naming the option, is on stderr).
    /// </summary>
    public static BenchmarkOptions? Parse(string[] args, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(args);
        BenchmarkOptions? parsed = null;
        var app = new CommandApp<ParseCommand>();
        app.WithDescription(Description).WithData((Action<BenchmarkOptions>)(o => parsed = o));
        app.Configure(c =>
        {
            c.SetApplicationName("SelectiveLoss.Benchmarks");
            c.UseStrictParsing();
            c.PropagateExceptions();
            c.AddExample("--quick", "--output", "runs/bench");
            c.AddExample("--warmup", "1", "--rounds", "1", "--batch-size", "4", "--keep", "0.5", "--norm", "group", "--no-memory");
            c.AddExample("--memory-steps", "500", "--sync-steps", "100", "--output", "runs/checks");
        });
        try
        {
            exitCode = app.Run(args);
            return parsed;
        }
        catch (CommandParseException e)
        {
            var error = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            if (e.Pretty is null)
            {
                Console.Error.WriteLine($"error: {e.Message}");
            }
            else
            {
                error.Write(e.Pretty);
            }
        }
        catch (CommandRuntimeException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
        }

        Console.Error.WriteLine("See --help for the options.");
        exitCode = 2;
        return null;
    }

    /// <summary>Resolves and checks the settings; a bad value throws <see cref="ArgumentException"/> naming the option.</summary>
    public static BenchmarkOptions From(BenchmarkSettings s, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(s);
        string output = s.Output is null
            ? Path.Combine("runs", "benchmark-" + now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture))
            : Text("--output", s.Output);
        string csv = s.Csv is null ? Path.Combine(output, "benchmark.csv") : Text("--csv", s.Csv);
        return new BenchmarkOptions
        {
            Quick = s.Quick,
            CsvPath = csv,
            PngPath = s.Png is null ? Path.ChangeExtension(csv, ".png") : Text("--png", s.Png),
            Rounds = s.Rounds is null ? (s.Quick ? 3 : 7) : Integer("--rounds", s.Rounds, 1),
            WarmupRounds = s.Warmup is null ? (s.Quick ? 1 : 2) : Integer("--warmup", s.Warmup, 0),
            Batch = Integer("--batch-size", s.BatchSize, 1),
            Keeps = List("--keep", s.Keep).Select(k => Ratio("--keep", k)).ToArray(),
            Norms = List("--norm", s.Norm).Select(n => NormName("--norm", n)).Distinct().ToArray(),
            MeasureMemory = !s.NoMemory,
            EpochBatches = Integer("--epoch-batches", s.EpochBatches, 0),
            MemorySteps = s.MemorySteps is null ? null : Integer("--memory-steps", s.MemorySteps, 1),
            MemoryWarmup = Integer("--memory-warmup", s.MemoryWarmup, 0),
            MemoryRepeats = Integer("--memory-repeats", s.MemoryRepeats, 1),
            SyncSteps = s.SyncSteps is null ? null : Integer("--sync-steps", s.SyncSteps, 1),
            NormRounds = s.NormRounds is null ? null : Integer("--norm-rounds", s.NormRounds, 1),
            NumericsRounds = s.NumericsRounds is null ? null : Integer("--numerics-rounds", s.NumericsRounds, 1),
            NumericsModels = List("--numerics-models", s.NumericsModels).Select(m => m is "small" or "densenet121" ? m
                : throw new ArgumentException($"--numerics-models: '{m}' is not one of small, densenet121.")).Distinct().ToArray(),
            NumericsChild = s.NumericsChild,
            NumericsScan = s.NumericsScan is null ? null : Integer("--numerics-scan", s.NumericsScan, 1),
            Threads = s.Threads is null ? Environment.ProcessorCount : Integer("--threads", s.Threads, 1),
            ChildNorm = s.ChildNorm is null ? null : NormName("--child-norm", s.ChildNorm, acceptCsvNames: true),
            ChildStrategy = s.ChildStrategy is null ? null : Text("--child-strategy", s.ChildStrategy),
            ChildKeep = s.ChildKeep is null ? 1.0 : Ratio("--child-keep", s.ChildKeep),
        };
    }

    private static string Text(string name, string value) =>
        value == MissingValueSentinel ? throw new ArgumentException($"{name} needs a value.") : value;

    private static string[] List(string name, string value)
    {
        string[] items = Text(name, value).Split(',', StringSplitOptions.TrimEntries);
        return items.Length > 0 && items.All(i => i.Length > 0)
            ? items
            : throw new ArgumentException($"{name}: '{value}' is not a comma-separated list without empty items.");
    }

    private static int Integer(string name, string value, int min) =>
        int.TryParse(Text(name, value), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min
            ? v
            : throw new ArgumentException($"{name}: '{value}' is not a whole number of at least {min}.");

    private static double Ratio(string name, string value) =>
        double.TryParse(Text(name, value), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 && v <= 1
            ? v
            : throw new ArgumentException($"{name}: '{value}' is not a ratio in (0, 1] (use a dot as decimal separator).");

    /// <summary>group and batch, as the trainer names them; the CSV keeps its column values groupnorm and batchnorm.</summary>
    private static string NormName(string name, string value, bool acceptCsvNames = false) => Text(name, value) switch
    {
        "group" => "groupnorm",
        "batch" => "batchnorm",
        "groupnorm" or "batchnorm" when acceptCsvNames => value,
        _ => throw new ArgumentException($"{name}: '{value}' is not one of group, batch (e.g. --norm group or --norm batch,group)."),
    };

    /// <summary>Hands the resolved options to the function given as the app's data; runs nothing itself.</summary>
    private sealed class ParseCommand : Command<BenchmarkSettings>
    {
        public override int Execute(CommandContext context, BenchmarkSettings settings, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(context);
            ((Action<BenchmarkOptions>)context.Data!)(From(settings, DateTime.Now));
            return 0;
        }
    }
}
