// The benchmark behind SelectiveLoss's performance claims: CIFAR DenseNet-121 (100 classes) training steps at batch 64
// on generated data, BatchNorm and GroupNorm, every strategy interleaved round by round in one process after warm-up.
// Reported: median time per step, its ratio to the full step of the same norm in the same run, and the peak RSS of
// each strategy measured in a child process of its own. The epoch rows (full_epoch, infobatch_sampler,
// infobatch_per_batch) time whole epochs over a small generated data set, against a full epoch.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using SelectiveLoss.Benchmarks;
using SelectiveLoss.Models;
using TorchSharp;

// Spectre.Console.Cli: --help prints the options and returns 0; a bad option prints a message naming it and returns 2.
BenchmarkOptions? parsed = BenchmarkOptions.Parse(args, out int parseExit);
if (parsed is null)
{
    return parseExit;
}

BenchmarkOptions options = parsed;

torch.set_num_threads(options.Threads);
if (options.ChildStrategy is not null)
{
    return Child(options);
}

if (options.NumericsChild)
{
    return NumericsCost.Child(options);
}

var clock = Stopwatch.StartNew();
if (options.MemorySteps is not null || options.SyncSteps is not null || options.NormRounds is not null || options.NumericsRounds is not null || options.NumericsScan is not null)
{
    // The checks run instead of the timing: they measure other things, and would disturb it.
    void Check<T>(string file, Func<IReadOnlyList<T>> run, Action<IReadOnlyList<T>> print, Action<string, IReadOnlyList<T>> write)
    {
        IReadOnlyList<T> rows = run();
        print(rows);
        string path = Path.Combine(options.OutputFolder, file);
        write(path, rows);
        Console.WriteLine($"CSV: {path}");
    }

    if (options.MemorySteps is int steps)
    {
        Check("memory.csv", () => LeakCheck.Run(options.MemoryWarmup, steps, options.MemoryRepeats), rows => LeakCheck.Print(rows, options.MemoryWarmup), LeakCheck.WriteCsv);
    }

    if (options.SyncSteps is int syncSteps)
    {
        Check("sync.csv", () => SyncCheck.Run(syncSteps), SyncCheck.Print, SyncCheck.WriteCsv);
    }

    if (options.NormRounds is int normRounds)
    {
        Check("batchnorm.csv", () => NormCheck.Run(normRounds), NormCheck.Print, NormCheck.WriteCsv);
    }

    if (options.NumericsScan is int scanCalls)
    {
        Check("numerics-scan.csv", () => NumericsScan.Run(scanCalls), NumericsScan.Print, NumericsScan.WriteCsv);
    }

    if (options.NumericsRounds is int numericsRounds)
    {
        string[] same = { "--numerics-rounds", numericsRounds.ToString(CultureInfo.InvariantCulture), "--numerics-models", string.Join(",", options.NumericsModels),
            "--batch-size", options.Batch.ToString(CultureInfo.InvariantCulture), "--threads", options.Threads.ToString(CultureInfo.InvariantCulture) };
        Check("numerics.csv", () => NumericsCost.Run(options, (extra, environment) =>
        {
            var (code, output, error) = RunSelf(same.Concat(extra), environment);
            if (code != 0)
            {
                Console.Error.WriteLine($"numerics check child failed (exit {code}): {error}");
            }

            return output;
        }), NumericsCost.Print, NumericsCost.WriteCsv);
    }

    Console.WriteLine($"finished in {clock.Elapsed:mm\\:ss}");
    return 0;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"SelectiveLoss benchmark: CIFAR DenseNet-121, batch {options.Batch}, {options.Threads} threads, {options.WarmupRounds} warm-up + {options.Rounds} timed rounds, keep {string.Join("/", options.Keeps)}"));

var models = options.Norms.ToDictionary(n => n, n => new BenchmarkModel(n, options.Batch, options.EpochBatches));
var cases = options.Norms.SelectMany(n =>
        BenchmarkModel.KeepIndependent.Select(s => (norm: n, strategy: s, keep: 1.0))
        .Concat(options.Keeps.SelectMany(k => BenchmarkModel.PerKeep.Select(s => (norm: n, strategy: s, keep: k))))
        .Concat(options.EpochBatches > 0 ? EpochCases.Strategies.Select(s => (norm: n, strategy: s, keep: 1.0)) : []))
    .ToList();
var samples = cases.ToDictionary(c => c, _ => new List<double>());
var shares = cases.ToDictionary(c => c, _ => new List<double>());
var broken = new HashSet<(string, string, double)>();

int totalRounds = options.WarmupRounds + options.Rounds;
for (int round = 0; round < totalRounds; round++)
{
    bool warm = round < options.WarmupRounds;
    // Rotate the order each round so no strategy always runs right after the same neighbour.
    var order = cases.Skip(round % cases.Count).Concat(cases.Take(round % cases.Count)).ToList();
    for (int i = 0; i < order.Count; i++)
    {
        var c = order[i];
        // One untimed step first (the first batch of an epoch case), so the timed run starts from this strategy's own
        // steady state (allocator pages, caches) rather than from whatever the previous strategy left: a training loop
        // repeats one strategy, and without this a step that follows a full-batch step pays for re-faulting the memory
        // that step released.
        if (!warm)
        {
            models[c.norm].Warm(c.strategy, c.keep);
        }

        var watch = Stopwatch.StartNew();
        (bool asPromised, double share) = models[c.norm].Run(c.strategy, c.keep);
        double ms = watch.Elapsed.TotalMilliseconds;
        if (!warm)
        {
            samples[c].Add(ms);
            shares[c].Add(share);
            if (!asPromised)
            {
                broken.Add(c);
            }
        }

        Console.Write(string.Create(CultureInfo.InvariantCulture,
            $"\r{(warm ? "warm-up" : "round")} {(warm ? round + 1 : round + 1 - options.WarmupRounds)}/{(warm ? options.WarmupRounds : options.Rounds)}  " +
            $"[{i + 1}/{order.Count}] {c.norm} {c.strategy} keep {c.keep:0.0}: {ms,7:0} ms   elapsed {clock.Elapsed:mm\\:ss}        "));
    }
}

Console.WriteLine();
foreach (var m in models.Values)
{
    m.Dispose();
}

var peaks = new Dictionary<(string, string, double), double>();
if (options.MeasureMemory)
{
    int done = 0;
    // Per-step strategies only: an epoch case's peak is that of its largest batch, i.e. of the per-step rows.
    var perStep = cases.Where(c => !EpochCases.Has(c.strategy)).ToList();
    foreach (var c in perStep)
    {
        Console.Write($"\rpeak memory: {++done}/{perStep.Count} {c.norm} {c.strategy} keep {c.keep.ToString("0.0", CultureInfo.InvariantCulture)}          ");
        peaks[c] = MeasurePeak(c.norm, c.strategy, c.keep, options);
    }

    Console.WriteLine();
}

var rows = cases.Select(c =>
{
    double median = Stats.Median(samples[c]);
    // A step against the full step, an epoch against the full epoch, of the same norm.
    double full = Stats.Median(samples[(c.norm, EpochCases.Has(c.strategy) ? "full_epoch" : "full", 1.0)]);
    // The rules whose kept share varies report the mean share they trained as their keep.
    double keep = BenchmarkModel.OwnShare.Contains(c.strategy) ? shares[c].Average() : c.keep;
    return new ResultRow(c.norm, c.strategy, keep, options.Batch, median, median / full, peaks.TryGetValue(c, out double p) ? p : double.NaN);
}).ToList();

Report.PrintTable(rows);
Report.PrintGoals(rows);
foreach (var c in broken)
{
    Console.WriteLine($"warning: {c.Item1} {c.Item2} keep {c.Item3} did not behave as its strategy promises in every timed round.");
}

// Generated files go to the run folder (--output, default runs/benchmark-<timestamp>) or where --csv/--png say,
// never to the repository root.
Report.WriteCsv(options.CsvPath, rows);
Console.WriteLine($"CSV: {Path.GetFullPath(options.CsvPath)}");
Report.WriteChart(options.PngPath, rows);
Console.WriteLine($"chart: {Path.GetFullPath(options.PngPath)}");
Console.WriteLine($"finished in {clock.Elapsed:mm\\:ss}");
return 0;

static double MeasurePeak(string norm, string strategy, double keep, BenchmarkOptions options)
{
    var (code, output, error) = RunSelf(new[] { "--child-norm", norm, "--child-strategy", strategy, "--child-keep", keep.ToString(CultureInfo.InvariantCulture),
        "--batch-size", options.Batch.ToString(CultureInfo.InvariantCulture), "--threads", options.Threads.ToString(CultureInfo.InvariantCulture) },
        new Dictionary<string, string>());
    string? line = output.Split('\n').FirstOrDefault(l => l.StartsWith("peak_rss_mb=", StringComparison.Ordinal));
    if (code != 0 || line is null)
    {
        Console.Error.WriteLine($"peak memory of {norm} {strategy} failed (exit {code}): {error}");
        return double.NaN;
    }

    return double.Parse(line["peak_rss_mb=".Length..], CultureInfo.InvariantCulture);
}

// This benchmark again, in a fresh process with the given arguments and environment: its exit code, stdout and stderr.
static (int Code, string Output, string Error) RunSelf(IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!)
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        UseShellExecute = false,
    };
    // Under `dotnet SelectiveLoss.Benchmarks.dll` the process is the dotnet host, which needs the assembly path first.
    if (Path.GetFileName(Environment.ProcessPath!) is "dotnet" or "dotnet.exe")
    {
        start.ArgumentList.Add(typeof(BenchmarkOptions).Assembly.Location);
    }

    foreach (string a in arguments)
    {
        start.ArgumentList.Add(a);
    }

    foreach (var (name, value) in environment)
    {
        start.Environment[name] = value;
    }

    using var child = Process.Start(start)!;
    var error = child.StandardError.ReadToEndAsync();
    string output = child.StandardOutput.ReadToEnd();
    child.WaitForExit();
    return (child.ExitCode, output, error.Result);
}

static int Child(BenchmarkOptions options)
{
    using (var model = new BenchmarkModel(options.ChildNorm ?? "groupnorm", options.Batch))
    {
        // The first step allocates everything a step needs, the optimiser state included. Cached needs a second step
        // (and InfoBatch) needs a second step to reach its steady state (every score remembered, no scoring pass, some
        // samples pruned), which is what the timing measures.
        model.Run(options.ChildStrategy!, options.ChildKeep);
        if (options.ChildStrategy is "cached" or "infobatch")
        {
            model.Run(options.ChildStrategy!, options.ChildKeep);
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak_rss_mb={Report.PeakRssMb():0.0}"));
    return 0;
}
