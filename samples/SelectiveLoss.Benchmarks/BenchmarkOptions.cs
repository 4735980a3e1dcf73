using System;
using System.Globalization;
using SelectiveLoss.Models;

namespace SelectiveLoss.Benchmarks;

/// <summary>Command-line options of the benchmark.</summary>
internal sealed record BenchmarkOptions
{
    public bool Quick { get; init; }
    public string? CsvPath { get; init; }
    public string? PngPath { get; init; }
    public int WarmupRounds { get; init; } = 2;
    public int Rounds { get; init; } = 7;
    public int Batch { get; init; } = 64;
    public double[] Keeps { get; init; } = { 0.6, 0.3 };
    public string[] Norms { get; init; } = { "batchnorm", "groupnorm" };
    public bool MeasureMemory { get; init; } = true;
    public int Threads { get; init; } = Environment.ProcessorCount;

    // Child mode: measure the peak memory of one strategy in a fresh process.
    public string? ChildNorm { get; init; }
    public string? ChildStrategy { get; init; }
    public double ChildKeep { get; init; } = 1.0;

    public const string Usage = """
        SelectiveLoss benchmark: CIFAR DenseNet-121 (100 classes) training steps on generated data.

        Usage: dotnet run -c Release --project samples/SelectiveLoss.Benchmarks -- [options]
          --quick            1 warm-up round and 3 timed rounds (about 9 minutes on 2 cores)
          --rounds N         timed rounds (default 7; --quick: 3); each times one step after an untimed one
          --warmup N         warm-up rounds (default 2; --quick: 1)
          --batch N          batch size (default 64)
          --keep A,B         keep ratios (default 0.6,0.3)
          --norm LIST        batchnorm,groupnorm (default both)
          --csv FILE         write the results as CSV (norm,strategy,keep,batch,median_ms,ratio_to_full,peak_rss_mb)
          --png FILE         write a bar chart of the ratios (default: next to the CSV, or benchmark.png)
          --no-memory        skip the per-strategy peak-memory child processes
          --threads N        torch threads (default: the number of cores)
        """;

    public static BenchmarkOptions Parse(string[] args)
    {
        var o = new BenchmarkOptions();
        bool roundsSet = false, warmupSet = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.\n\n{Usage}");
            switch (args[i])
            {
                case "--quick": o = o with { Quick = true }; break;
                case "--csv": o = o with { CsvPath = Next() }; break;
                case "--png": o = o with { PngPath = Next() }; break;
                case "--rounds": o = o with { Rounds = PositiveInt(Next(), "--rounds") }; roundsSet = true; break;
                case "--warmup": o = o with { WarmupRounds = NonNegativeInt(Next(), "--warmup") }; warmupSet = true; break;
                case "--batch": o = o with { Batch = PositiveInt(Next(), "--batch") }; break;
                case "--threads": o = o with { Threads = PositiveInt(Next(), "--threads") }; break;
                case "--keep": o = o with { Keeps = Array.ConvertAll(Next().Split(','), Ratio) }; break;
                case "--norm": o = o with { Norms = Array.ConvertAll(Next().Split(','), NormName) }; break;
                case "--no-memory": o = o with { MeasureMemory = false }; break;
                case "--child-norm": o = o with { ChildNorm = NormName(Next()) }; break;
                case "--child-strategy": o = o with { ChildStrategy = Next() }; break;
                case "--child-keep": o = o with { ChildKeep = Ratio(Next()) }; break;
                case "-h" or "--help": throw new ArgumentException(Usage);
                default: throw new ArgumentException($"Unknown option '{args[i]}'.\n\n{Usage}");
            }
        }

        if (o.Quick)
        {
            o = o with { Rounds = roundsSet ? o.Rounds : 3, WarmupRounds = warmupSet ? o.WarmupRounds : 1 };
        }

        return o;
    }

    private static int PositiveInt(string s, string name) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw new ArgumentException($"{name} needs a positive integer, not '{s}'.");

    private static int NonNegativeInt(string s, string name) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0 ? v : throw new ArgumentException($"{name} needs a non-negative integer, not '{s}'.");

    private static double Ratio(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 && v <= 1 ? v : throw new ArgumentException($"--keep needs ratios in (0, 1], not '{s}'.");

    private static string NormName(string s) =>
        s is "batchnorm" or "groupnorm" ? s : throw new ArgumentException($"--norm takes batchnorm and/or groupnorm, not '{s}'.");
}
