using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using SelectiveLoss.Models;
using SelectiveLoss.Numerics;
using SelectiveLoss.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Cifar100Training;

/// <summary>
/// Trains one run (a --compare entry with one seed), checkpointing every epoch and evaluating on the clean test set
/// every --eval-every of an epoch. A native TorchSharp error does not end it: the run reloads its last checkpoint and
/// goes on, up to --max-restarts times, and is then reported as failed with the metrics it reached. A run whose training
/// loss (or, in a selective step, a gradient) is not finite is stopped and reported as diverged, never as faster: the
/// library's step refuses such an update, and the plain baseline's loss is checked at every evaluation.
/// </summary>
internal sealed class RunTrainer
{
    private readonly TrainingOptions options;
    private readonly CifarData train;
    private readonly BatchBuilder batches;
    private readonly Evaluator evaluator;
    private readonly Device device;
    private readonly Augmentation augment;
    private readonly FaultInjection faults;
    private readonly FaultInjection nans;

    /// <param name="onTrainingRead">Told (epoch, index) for every training image read; for tests.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> were not resolved for the data format.</exception>
    public RunTrainer(TrainingOptions options, CifarData train, CifarData test, Device device, Action<int, int>? onTrainingRead = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        augment = options.Augment ?? throw new ArgumentException(
            "The augmentation is not chosen yet: resolve the options for the data format first (TrainingOptions.ResolveFor).", nameof(options));
        this.options = options;
        this.train = train;
        this.device = device;
        batches = new BatchBuilder(train, onTrainingRead);
        evaluator = new Evaluator(test, batches, options.BatchSize, options.Seed, device);
        faults = FaultInjection.FromEnvironment(FaultInjection.Variable);
        nans = FaultInjection.FromEnvironment(FaultInjection.NanVariable);
    }

    /// <summary>
    /// Trains <paramref name="run"/> with run seed <paramref name="seed"/> into <paramref name="directory"/>, or continues
    /// it from its checkpoint under --resume; restarts from the last checkpoint after a native error.
    /// </summary>
    public RunResult Run(RunSpec run, ulong seed, string directory, ProgressTask progress, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(log);
        int restarts = 0;
        bool resume = options.Resume;
        while (true)
        {
            try
            {
                return TrainOnce(run, seed, directory, progress, log, resume, ref restarts);
            }
            catch (NonFiniteLossException e) when (!e.NumericsMitigated)
            {
                log($"{Label(run, seed)}: STOPPED, diverged: {First(e.Message)} The other runs go on.");
                return new RunResult(run.Name, seed, directory, ReadMetrics(directory), restarts, First(e.Message), Diverged: true);
            }
            catch (Exception e) when (e is ExternalException or NonFiniteLossException)
            {
                // A native error, or a NaN that the numerics check traced to this CPU's convolutions and mitigated: the
                // last checkpoint predates it, so the run goes on from there.
                string where = File.Exists(Checkpoint.ManifestPath(Path.Combine(directory, "checkpoint"))) ? "its last checkpoint" : "the start";
                if (restarts >= options.MaxRestarts)
                {
                    log($"{Label(run, seed)}: FAILED after {restarts} restart(s): {First(e.Message)}. The other runs go on.");
                    return new RunResult(run.Name, seed, directory, ReadMetrics(directory), restarts, First(e.Message));
                }

                restarts++;
                resume = true;
                log($"{Label(run, seed)}: {(e is ExternalException ? "native error" : "NaN from this CPU's convolutions, now mitigated")} ({First(e.Message)}); restart {restarts} of at most {options.MaxRestarts} from {where}.");
            }
        }
    }

    private RunResult TrainOnce(RunSpec run, ulong seed, string directory, ProgressTask progress, Action<string> log, bool resume, ref int restarts)
    {
        string name = Label(run, seed);
        Directory.CreateDirectory(directory);
        string checkpoints = Path.Combine(directory, "checkpoint");
        string fingerprint = options.FingerprintOf(run, seed);
        torch.manual_seed((long)seed);
        using DenseNet model = ModelFactory.Build(options, run.Norm, train.ClassCount, log);
        model.to(device);
        using var optimizer = optim.SGD(model.parameters(), learningRate: options.LearningRate, momentum: 0.9, weight_decay: options.WeightDecay);
        using IRunDriver driver = DriverFactory.Create(run, seed, options, model, optimizer, train.Count);
        foreach (string d in driver.Diagnostics)
        {
            log($"{name}: {d}");
        }

        var metrics = new List<EpochMetrics>();
        int start = 0;
        if (resume)
        {
            if (Checkpoint.Load(checkpoints, fingerprint, model, optimizer, driver) is { } loaded)
            {
                (start, metrics) = (loaded.Epoch, loaded.Metrics);
                restarts = Math.Max(restarts, loaded.Restarts);
                log($"{name}: resumed after epoch {start} from {checkpoints}" + (driver.HasState ? " (with its selection state)" : string.Empty));
            }
            else if (options.Resume)
            {
                log($"{name}: no checkpoint at {Checkpoint.ManifestPath(checkpoints)}; this run starts from epoch 1.");
            }
        }

        int epochs = run.EpochsOr(options.Epochs);
        progress.MaxValue = epochs;
        progress.Value = start;
        using var window = new EvaluationWindow(metrics.Count > 0 ? metrics[^1].TrainSeconds : 0, metrics.Count > 0 ? metrics[^1].SamplesBackpropagated : 0);
        for (int epoch = start; epoch < epochs; epoch++)
        {
            if (!TrainEpoch(run, seed, epoch, directory, model, optimizer, driver, window, metrics, progress))
            {
                continue;
            }

            // Checkpoints follow evaluations (every epoch unless --eval-every is more than 1), so a resumed run starts
            // from a state its metrics describe.
            AtomicFile.WriteText(Path.Combine(directory, "metrics.csv"), EpochMetrics.ToCsv(metrics));
            Checkpoint.Save(checkpoints, epoch + 1, fingerprint, metrics, restarts, model, optimizer, driver);
            EpochMetrics last = metrics[^1];
            log(FormattableString.Invariant($"{name}: epoch {epoch + 1} checkpointed: train loss {last.TrainLoss:0.000}, test accuracy {last.TestAccuracy:P1}, kept {last.KeepRatio:P0}") +
                (last.NoisyKeptShare is { } share ? FormattableString.Invariant($", wrong labels among the kept {share:P1}") : string.Empty));
        }

        AtomicFile.WriteText(Path.Combine(directory, "metrics.csv"), EpochMetrics.ToCsv(metrics));
        AtomicFile.Write(Path.Combine(directory, "final.model"), temp => model.save(temp));
        return new RunResult(run.Name, seed, directory, metrics, restarts);
    }

    /// <summary>One epoch: its batches and an evaluation every --eval-every of them (or at its end, or none when it is
    /// not one of every --eval-every epochs); returns whether it evaluated at its end.</summary>
    private bool TrainEpoch(RunSpec run, ulong seed, int epoch, string directory, DenseNet model, optim.Optimizer optimizer, IRunDriver driver, EvaluationWindow window,
        List<EpochMetrics> metrics, ProgressTask progress)
    {
        int[] order = new SplitMix(seed, 0x5E7UL, (ulong)epoch).Permutation(train.Count);
        IReadOnlyList<int[]> plan = driver.Batches(epoch, order);
        int epochs = run.EpochsOr(options.Epochs);
        bool evaluates = options.EvalEvery <= 1 || (epoch + 1) % (int)options.EvalEvery == 0 || epoch == epochs - 1;
        int every = options.EvalEvery <= 1 ? Math.Max(1, (int)Math.Ceiling(options.EvalEvery * plan.Count)) : plan.Count;
        var clock = Stopwatch.StartNew();
        double started = progress.Value;
        for (int b = 0; b < plan.Count; b++)
        {
            using (var scope = torch.NewDisposeScope())
            {
                double lr = LearningRateSchedule.At(options.LearningRate, epoch, b, plan.Count, options.WarmupEpochs, epochs);
                foreach (var group in optimizer.ParamGroups)
                {
                    group.LearningRate = lr;
                }

                faults.At(run.Name, epoch, b);
                var (x, y) = batches.Build(train, plan[b], augment, seed, epoch, device);
                if (nans.Fires(run.Name, epoch, b))
                {
                    x.fill_(double.NaN);
                }

                window.Add(driver.Train(x, y, plan[b]), (double)train.Count / plan.Count);
            }

            if (epoch == epochs - 1 && b == plan.Count - 1)
            {
                // With --accumulate, kept samples short of a full batch still wait: they train before the last evaluation.
                using var scope = torch.NewDisposeScope();
                if (driver.Finish() is { } finished)
                {
                    window.Add(finished, 0);
                }
            }

            progress.Value = started + ((double)(b + 1) / plan.Count);
            if (!evaluates || ((b + 1) % every != 0 && b != plan.Count - 1))
            {
                continue;
            }

            // The window closes: its losses and kept samples are read from the device now, not per step.
            window.Trained(clock.Elapsed);
            var evalClock = Stopwatch.StartNew();
            double accuracy = evaluator.Accuracy(model);
            metrics.Add(window.Close(epoch + ((double)(b + 1) / plan.Count), evalClock.Elapsed.TotalSeconds, accuracy, train.Corrupted, run.Rule != RunRule.Full));
            if (!double.IsFinite(metrics[^1].TrainLoss))
            {
                // The plain baseline's loss is read only here (no device read per step); its metrics keep the evaluation that saw it.
                AtomicFile.WriteText(Path.Combine(directory, "metrics.csv"), EpochMetrics.ToCsv(metrics));
                throw new NonFiniteLossException(string.Create(CultureInfo.InvariantCulture,
                    $"The training loss is {metrics[^1].TrainLoss} at epoch {metrics[^1].Epoch:0.##}."), NumericsCheck.Recheck());
            }

            progress.Description = $"{Markup.Escape(Label(run, seed))} epoch {epoch + 1}/{epochs}  loss {metrics[^1].TrainLoss:0.000}  acc {accuracy:P1}";
            clock.Restart();
        }

        if (!evaluates)
        {
            window.Trained(clock.Elapsed);
        }

        return evaluates;
    }

    /// <summary>A run's name in logs: the entry, and its seed when there are several.</summary>
    public string Label(RunSpec run, ulong seed) => options.Seeds.Count > 1 ? $"{run.Name} seed {seed}" : run.Name;

    /// <summary>The metrics of the last complete epoch written (a failed run's result).</summary>
    private static List<EpochMetrics> ReadMetrics(string directory)
    {
        string path = Path.Combine(directory, "metrics.csv");
        return File.Exists(path) ? EpochMetrics.ParseCsv(File.ReadAllText(path)) : new List<EpochMetrics>();
    }

    private static string First(string message) => message.Split('\n')[0].Trim();
}
