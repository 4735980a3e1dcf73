using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using SelectiveLoss.Numerics;
using Spectre.Console;
using TorchSharp;

namespace Cifar100Training;

/// <summary>Entry point: parse, load or generate the data, train each strategy, report.</summary>
internal static class Program
{
    public static int Main(string[] args) => CommandLine.Run(args, Run);

    private static int Run(TrainingOptions options)
    {
        var total = Stopwatch.StartNew();
        if (Console.IsOutputRedirected)
        {
            // Logs and pipes: no wrapping of paths and epoch lines at the 80 columns Spectre assumes without a terminal.
            AnsiConsole.Profile.Width = 200;
        }

        if (options.Threads > 0)
        {
            torch.set_num_threads(options.Threads);
        }

        // First, before any other LibTorch work: are convolutions right on this CPU (docs/numerics.md)?
        NumericsCheckResult? numerics = CheckNumerics();
        if (Relaunch.Wanted(Relaunch.TurnedOneDnnOff(numerics), Relaunch.TrainerIsEntryPoint(), Environment.GetEnvironmentVariable))
        {
            AnsiConsole.WriteLine("Numerics: oneDNN is off in this process after a fault; starting the trainer again with oneDNN capped at AVX, which is faster (docs/numerics.md).");
            return Relaunch.Run();
        }

        torch.Device device = ChooseDevice(options.Device);
        string output = Path.GetFullPath(options.Output ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        if (options.Resume)
        {
            RequireCheckpoint(output, options);
        }
        else if (Directory.Exists(output) && Directory.GetFileSystemEntries(output).Length > 0)
        {
            throw new UsageException($"--output: '{output}' is not empty. Add --resume to continue the run there, or choose a new folder.");
        }

        var (train, test, format, classes) = LoadData(options, line => AnsiConsole.WriteLine(line));
        options = options.ResolveFor(format);
        ModelFactory.CheckGroups(options);
        Directory.CreateDirectory(output);
        AnsiConsole.MarkupLine("[bold]SelectiveLoss CIFAR DenseNet trainer[/]");
        if (options.DataDirectory is null)
        {
            AnsiConsole.MarkupLine("[yellow]Data: SYNTHETIC, generated from the seed; this is not CIFAR-100. Give --data DIR for a real data set.[/]");
        }

        AnsiConsole.WriteLine($"Data: {Describe(format)}, {train.ClassCount} classes");
        if (classes is not null)
        {
            AnsiConsole.WriteLine($"Classes (label order): {string.Join(", ", classes)}");
            AtomicFile.WriteText(Path.Combine(output, "classes.txt"), string.Join('\n', classes) + "\n");
        }

        AnsiConsole.WriteLine($"Train: {train.Description}");
        AnsiConsole.WriteLine($"Test:  {test.Description} (clean labels)");
        AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Model: {options.Model}; device {device}; {torch.get_num_threads()} threads; " +
            $"{options.Epochs} epochs, batch {options.BatchSize}, lr {options.LearningRate}, weight decay {options.WeightDecay}; data seed {options.Seed}, run seeds {string.Join(",", options.Seeds)}; " +
            $"warm-up {options.WarmupEpochs} epoch{(options.WarmupEpochs == 1 ? string.Empty : "s")}, augment {TrainingOptions.AugmentName(options.Augment!.Value)}, evaluation every {options.EvalEvery} epoch"));
        AnsiConsole.WriteLine($"Runs: {string.Join(", ", options.Runs.Select(r => $"{r.Name} ({Describe(options, r)})"))}");
        AnsiConsole.WriteLine($"Output: {output}");
        AnsiConsole.WriteLine($"Numerics: {(numerics is null ? $"not checked ({NumericsCheck.SwitchVariable}=off)" : numerics.ToString())}");
        AtomicFile.WriteText(Path.Combine(output, "options.txt"), options.Fingerprint + "\n");

        var trainer = new RunTrainer(options, train, test, device);
        var results = new List<RunResult>();
        string summaryPath = Path.Combine(output, "summary.csv");
        string chart = Path.Combine(output, "accuracy-vs-time.png");
        Summary? summary = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var work = options.Seeds.SelectMany(seed => options.Runs.Select(run => (run, seed))).ToList();
                var tasks = work.Select(w => ctx.AddTask(Markup.Escape(trainer.Label(w.run, w.seed)), autoStart: false)).ToList();
                for (int i = 0; i < work.Count; i++)
                {
                    var (run, seed) = work[i];
                    tasks[i].StartTask();
                    results.Add(trainer.Run(run, seed, Path.Combine(output, Folder(options, run, seed)), tasks[i], line => AnsiConsole.WriteLine(line)));
                    tasks[i].StopTask();

                    // After every run, so a killed invocation keeps what it finished.
                    summary = Summary.Compute(results, options.Runs.Select(r => r.Name).ToList(), options.TargetAccuracy);
                    AtomicFile.WriteText(summaryPath, summary.ToCsv());
                    Report.WriteChart(chart, results, Describe(format));
                }
            });

        AnsiConsole.WriteLine(summary!.Describe());
        AnsiConsole.Write(Report.Table(results, summary));
        foreach (var r in results)
        {
            AnsiConsole.WriteLine($"metrics: {Path.Combine(r.Directory, "metrics.csv")}" + (r.Failed ? $" (FAILED: {r.Error})" : string.Empty));
        }

        AnsiConsole.WriteLine($"summary: {summaryPath}");
        AnsiConsole.WriteLine($"chart:   {chart}");
        AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Done in {total.Elapsed.TotalSeconds:0} s. Output: {output}"));
        return results.Any(r => r.Failed) ? 5 : 0;
    }

    /// <summary>The library's once-per-process numerics check, with a bad switch value as a usage error (exit 2).</summary>
    private static NumericsCheckResult? CheckNumerics()
    {
        try
        {
            return NumericsCheck.EnsureChecked();
        }
        catch (InvalidOperationException e)
        {
            throw new UsageException(e.Message);
        }
    }

    /// <summary>A run's folder: its entry (with : as -), and a seed subfolder when there are several seeds.</summary>
    internal static string Folder(TrainingOptions options, RunSpec run, ulong seed) =>
        options.Seeds.Count > 1 ? Path.Combine(run.Folder, string.Create(CultureInfo.InvariantCulture, $"seed-{seed}")) : run.Folder;

    /// <summary>
    /// The training and test sets the options ask for: generated, or read from --data and capped to the first N;
    /// then label noise on the training set only, so the test set keeps its true labels.
    /// </summary>
    internal static (CifarData Train, CifarData Test, DataFormat Format, IReadOnlyList<string>? Classes) LoadData(TrainingOptions options, Action<string> log)
    {
        CifarData train, test;
        DataFormat format = DataFormat.Synthetic;
        IReadOnlyList<string>? classes = null;
        if (options.DataDirectory is { } dir)
        {
            LoadedData data = DataFolder.Read(dir, new DataFolderOptions
            {
                ImageSize = options.ImageSize,
                TrainPerClass = options.TrainPerClass,
                TestPerClass = options.TestPerClass,
                Seed = options.Seed,
                CacheDirectory = options.ImageCache,
            }, log);
            (train, test, format, classes) = (data.Train, data.Test, data.Format, data.ClassNames);
            train = options.TrainSize is { } trainSize ? train.Take(trainSize) : train;
            test = options.TestSize is { } testSize ? test.Take(testSize) : test;
        }
        else
        {
            train = SyntheticCifar.Generate(options.TrainSize ?? 3000, options.Seed, "train");
            test = SyntheticCifar.Generate(options.TestSize ?? 1000, options.Seed, "test");
        }

        return (LabelNoise.Apply(train, options.LabelNoise, options.NoiseType, options.Seed), test, format, classes);
    }

    /// <summary>What a run trains with, for the header: its rule's parameters, scores, execution and norm.</summary>
    private static string Describe(TrainingOptions o, RunSpec run)
    {
        string keep = o.RampEpochs > 0
            ? string.Create(CultureInfo.InvariantCulture, $"keep 1 -> {o.Keep} over {o.RampEpochs} epochs")
            : string.Create(CultureInfo.InvariantCulture, $"keep {o.Keep}");
        string accumulate = o.Accumulate ? string.Create(CultureInfo.InvariantCulture, $", accumulated to {o.BatchSize}") : string.Empty;
        string rule = run.Rule switch
        {
            RunRule.Full => "every sample",
            RunRule.SelectiveBackprop => string.Create(CultureInfo.InvariantCulture, $"Selective-Backprop beta {o.SbBeta}{accumulate}"),
            RunRule.InfoBatch => string.Create(CultureInfo.InvariantCulture, $"InfoBatch sampler, prune {o.InfoBatchPrune}, anneal {o.InfoBatchAnneal}"),
            _ => $"{RunSpec.NameOf(run.Rule)}, {keep}",
        };
        string step = run.UsesStep
            ? $"; {(run.Scores is { } s ? RunSpec.NameOf(s) : "default")} scores, {run.Execution.ToString().ToLowerInvariant()}"
            : string.Empty;
        string groups = o.Groups is { } g ? string.Create(CultureInfo.InvariantCulture, $" {g} groups") : string.Empty;
        string norm = run.Norm switch
        {
            NormKind.Batch => o.Swap ? "batch -> group, weight-standardised conv (swapped)" : "batch",
            NormKind.GroupWs => $"group{groups}, weight-standardised conv",
            _ => $"group{groups}",
        };
        string epochs = run.Epochs is { } e ? string.Create(CultureInfo.InvariantCulture, $"; {e} epochs") : string.Empty;
        return $"{rule}{step}; norm {norm}{epochs}";
    }

    private static string Describe(DataFormat format) => format switch
    {
        DataFormat.Cifar100 => "CIFAR-100",
        DataFormat.Cifar10 => "CIFAR-10",
        DataFormat.Idx => "MNIST-format digits",
        DataFormat.ImageFolder => "image folder",
        _ => "synthetic data",
    };

    /// <summary>--resume needs at least one run's checkpoint in the output folder; a run without one starts afresh.</summary>
    private static void RequireCheckpoint(string output, TrainingOptions options)
    {
        string[] expected = options.Seeds.SelectMany(seed => options.Runs.Select(r => Checkpoint.ManifestPath(Path.Combine(output, Folder(options, r, seed), "checkpoint")))).ToArray();
        if (!expected.Any(File.Exists))
        {
            throw new ResumeException(
                $"--resume: nothing to continue in '{output}': no checkpoint at {string.Join(", ", expected.Take(4))}{(expected.Length > 4 ? ", ..." : string.Empty)}. " +
                "Give --output the folder of the run to continue (it was printed when that run started), or drop --resume to start a new run.");
        }
    }

    private static torch.Device ChooseDevice(string? requested)
    {
        if (requested == "cuda" && !torch.cuda.is_available())
        {
            throw new UsageException("--device cuda: no CUDA device is available to TorchSharp here (this build uses the CPU backend). Use --device cpu or leave --device out.");
        }

        return requested switch
        {
            "cpu" => torch.CPU,
            "cuda" => torch.CUDA,
            _ => torch.cuda.is_available() ? torch.CUDA : torch.CPU,
        };
    }
}
