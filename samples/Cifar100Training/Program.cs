using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
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

        torch.Device device = ChooseDevice(options.Device);
        string output = Path.GetFullPath(options.Output ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        if (options.Resume)
        {
            RequireCheckpoint(output, options.Runs);
        }
        else if (Directory.Exists(output) && Directory.GetFileSystemEntries(output).Length > 0)
        {
            throw new UsageException($"--output: '{output}' is not empty. Add --resume to continue the run there, or choose a new folder.");
        }

        var (train, test, format) = LoadData(options);
        options = options.ResolveFor(format);
        ModelFactory.CheckGroups(options);
        Directory.CreateDirectory(output);
        AnsiConsole.MarkupLine("[bold]SelectiveLoss CIFAR DenseNet trainer[/]");
        if (options.DataDirectory is null)
        {
            AnsiConsole.MarkupLine("[yellow]Data: SYNTHETIC, generated from the seed; this is not CIFAR-100. Give --data DIR for a real data set.[/]");
        }

        AnsiConsole.WriteLine($"Data: {Describe(format)}, {train.ClassCount} classes");
        AnsiConsole.WriteLine($"Train: {train.Description}");
        AnsiConsole.WriteLine($"Test:  {test.Description} (clean labels)");
        AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Model: {options.Model}; device {device}; {torch.get_num_threads()} threads; " +
            $"{options.Epochs} epochs, batch {options.BatchSize}, lr {options.LearningRate}, seed {options.Seed}; " +
            $"warm-up {options.WarmupEpochs} epoch{(options.WarmupEpochs == 1 ? string.Empty : "s")}, augment {TrainingOptions.AugmentName(options.Augment!.Value)}"));
        AnsiConsole.WriteLine($"Runs: {string.Join(", ", options.Runs.Select(r => $"{r.Name} ({Describe(options, r)})"))}");
        AnsiConsole.WriteLine($"Output: {output}");
        AtomicFile.WriteText(Path.Combine(output, "options.txt"), options.Fingerprint + "\n");

        var trainer = new RunTrainer(options, train, test, device);
        var results = new List<RunResult>();
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var tasks = new List<ProgressTask>();
                foreach (RunSpec run in options.Runs)
                {
                    tasks.Add(ctx.AddTask(Markup.Escape(run.Name), autoStart: false));
                }

                for (int i = 0; i < options.Runs.Count; i++)
                {
                    tasks[i].StartTask();
                    results.Add(trainer.Run(options.Runs[i], Path.Combine(output, options.Runs[i].Folder), tasks[i],
                        line => AnsiConsole.WriteLine(line)));
                    tasks[i].StopTask();
                }
            });

        Summary summary = Summary.Compute(results.Select(r => (r.Name, r.Metrics)).ToList(), options.TargetAccuracy);
        string summaryPath = Path.Combine(output, "summary.csv");
        AtomicFile.WriteText(summaryPath, summary.ToCsv());
        AnsiConsole.WriteLine(summary.Describe());
        AnsiConsole.Write(Report.Table(results, summary));
        string chart = Path.Combine(output, "accuracy-vs-time.png");
        Report.WriteChart(chart, results, Describe(format));
        foreach (var r in results)
        {
            AnsiConsole.WriteLine($"metrics: {Path.Combine(r.Directory, "metrics.csv")}");
        }

        AnsiConsole.WriteLine($"summary: {summaryPath}");
        AnsiConsole.WriteLine($"chart:   {chart}");
        AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Done in {total.Elapsed.TotalSeconds:0} s. Output: {output}"));
        return 0;
    }

    /// <summary>
    /// The training and test sets the options ask for: generated, or read from --data and capped to the first N;
    /// then label noise on the training set only, so the test set keeps its true labels.
    /// </summary>
    internal static (CifarData Train, CifarData Test, DataFormat Format) LoadData(TrainingOptions options)
    {
        CifarData train, test;
        DataFormat format = DataFormat.Synthetic;
        if (options.DataDirectory is { } dir)
        {
            (train, test, format) = DataFolder.Read(dir);
            train = options.TrainSize is { } trainSize ? train.Take(trainSize) : train;
            test = options.TestSize is { } testSize ? test.Take(testSize) : test;
        }
        else
        {
            train = SyntheticCifar.Generate(options.TrainSize ?? 3000, options.Seed, "train");
            test = SyntheticCifar.Generate(options.TestSize ?? 1000, options.Seed, "test");
        }

        return (LabelNoise.Apply(train, options.LabelNoise, options.NoiseType, options.Seed), test, format);
    }

    /// <summary>What a run trains with, for the header: its rule's parameters and its norm.</summary>
    private static string Describe(TrainingOptions o, RunSpec run)
    {
        string keep = o.RampEpochs > 0
            ? string.Create(CultureInfo.InvariantCulture, $"keep 1 -> {o.Keep} over {o.RampEpochs} epochs")
            : string.Create(CultureInfo.InvariantCulture, $"keep {o.Keep}");
        string accumulate = o.Accumulate ? string.Create(CultureInfo.InvariantCulture, $", accumulated to {o.BatchSize}") : string.Empty;
        string rule = run.Rule switch
        {
            "full" => "every sample",
            "sb" => string.Create(CultureInfo.InvariantCulture, $"Selective-Backprop beta {o.SbBeta}{accumulate}"),
            "infobatch" => string.Create(CultureInfo.InvariantCulture, $"InfoBatch prune {o.InfoBatchPrune}, anneal {o.InfoBatchAnneal}{accumulate}"),
            "masked" => $"lowest, masked, {keep}",
            "cached" => $"lowest, cached scores, {keep}",
            "rebatched" => $"lowest, {keep}",
            _ => $"{run.Rule}, {keep}",
        };
        string groups = o.Groups is { } g ? string.Create(CultureInfo.InvariantCulture, $" {g} groups") : string.Empty;
        string norm = run.Norm switch
        {
            "batch" => o.Swap ? "batch -> group, weight-standardised conv (swapped)" : "batch",
            "group-ws" => $"group{groups}, weight-standardised conv",
            _ => $"group{groups}",
        };
        return $"{rule}; norm {norm}";
    }

    private static string Describe(DataFormat format) => format switch
    {
        DataFormat.Cifar100 => "CIFAR-100",
        DataFormat.Cifar10 => "CIFAR-10",
        DataFormat.Idx => "MNIST-format digits",
        _ => "synthetic data",
    };

    /// <summary>--resume needs at least one run's checkpoint in the output folder; a run without one starts afresh.</summary>
    private static void RequireCheckpoint(string output, IReadOnlyList<RunSpec> runs)
    {
        string[] expected = runs.Select(r => Checkpoint.ManifestPath(Path.Combine(output, r.Folder, "checkpoint"))).ToArray();
        if (!expected.Any(File.Exists))
        {
            throw new ResumeException(
                $"--resume: nothing to continue in '{output}': no checkpoint at {string.Join(", ", expected)}. " +
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
