using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using SelectiveLoss.Models;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Cifar100Training;

/// <summary>Trains one --compare entry from the shared seed, checkpointing every epoch, and evaluates on the clean test set.</summary>
internal sealed class RunTrainer
{
    private readonly TrainingOptions options;
    private readonly CifarData train;
    private readonly CifarData test;
    private readonly BatchBuilder batches;
    private readonly Device device;
    private readonly Augmentation augment;

    /// <exception cref="ArgumentException"><paramref name="options"/> were not resolved for the data format.</exception>
    public RunTrainer(TrainingOptions options, CifarData train, CifarData test, Device device)
    {
        ArgumentNullException.ThrowIfNull(options);
        augment = options.Augment ?? throw new ArgumentException(
            "The augmentation is not chosen yet: resolve the options for the data format first (TrainingOptions.ResolveFor).", nameof(options));
        this.options = options;
        this.train = train;
        this.test = test;
        this.device = device;
        batches = new BatchBuilder(train);
    }

    /// <summary>
    /// Trains <paramref name="run"/> into <paramref name="directory"/>, or continues it from its checkpoint under --resume.
    /// A selecting run keeps one <see cref="SelectiveStep"/> for the whole run and checkpoints its state every epoch, so
    /// a resumed run selects exactly as an uninterrupted one.
    /// </summary>
    public RunResult Run(RunSpec run, string directory, ProgressTask progress, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(log);
        string name = run.Name;
        Directory.CreateDirectory(directory);
        string checkpoints = Path.Combine(directory, "checkpoint");
        string fingerprint = options.FingerprintOf(run);
        torch.manual_seed((long)options.Seed);
        using DenseNet model = ModelFactory.Build(options, run.Norm, train.ClassCount, log);
        model.to(device);
        using var optimizer = optim.SGD(model.parameters(), learningRate: options.LearningRate, momentum: 0.9, weight_decay: 5e-4);
        using SelectiveStep? step = NewStep(run, model, optimizer);
        foreach (string d in step?.Diagnostics ?? Array.Empty<string>())
        {
            log($"{name}: {d}");
        }

        var metrics = new List<EpochMetrics>();
        int start = 0;
        if (options.Resume)
        {
            if (Checkpoint.Load(checkpoints, fingerprint, model, optimizer, step) is { } loaded)
            {
                start = loaded.Epoch;
                metrics = loaded.Metrics;
                log($"{name}: resumed after epoch {start} from {checkpoints}" + (step is null ? string.Empty : " (with its selection state)"));
            }
            else
            {
                log($"{name}: no checkpoint at {Checkpoint.ManifestPath(checkpoints)}; this run starts from epoch 1.");
            }
        }

        // Which training labels the noise made wrong (null when none): for noisy_kept_share.
        bool[]? corrupted = train.Corrupted;
        int stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        int width = options.Runs.Max(r => r.Name.Length);
        progress.MaxValue = (double)options.Epochs * stepsPerEpoch;
        progress.Value = (double)start * stepsPerEpoch;
        double trainBefore = metrics.Count > 0 ? metrics[^1].TrainSeconds : 0;
        for (int epoch = start; epoch < options.Epochs; epoch++)
        {
            // Training time only: evaluation and checkpointing are timed apart (or not at all).
            var clock = Stopwatch.StartNew();
            if (step is not null)
            {
                step.Epoch = epoch;
            }

            int[] order = new SplitMix(options.Seed, 0x5E7UL, (ulong)epoch).Permutation(train.Count);
            double lossSum = 0;
            long trained = 0, kept = 0, seen = 0, keptNoisy = 0;
            model.train();
            for (int b = 0; b < stepsPerEpoch; b++)
            {
                using var scope = torch.NewDisposeScope();
                double lr = LearningRateSchedule.At(options.LearningRate, epoch, b, stepsPerEpoch, options.WarmupEpochs, options.Epochs);
                foreach (var group in optimizer.ParamGroups)
                {
                    group.LearningRate = lr;
                }

                int from = b * options.BatchSize;
                var idx = order.AsSpan(from, Math.Min(options.BatchSize, train.Count - from));
                var (x, y) = batches.Build(train, idx, augment, options.Seed, epoch, device);
                if (step is null)
                {
                    optimizer.zero_grad();
                    Tensor loss = nn.functional.cross_entropy(model.forward(x), y);
                    loss.backward();
                    optimizer.step();
                    lossSum += loss.ToDouble() * idx.Length;
                    trained += idx.Length;
                    kept += idx.Length;
                }
                else
                {
                    // Sample ids are dataset indices: InfoBatch and the cached scores remember them across epochs.
                    Tensor ids = tensor(idx.ToArray().Select(i => (long)i).ToArray()).to(device);
                    StepResult r = step.Step(x, y, ids);
                    Count(r, ref lossSum, ref trained);
                    kept += r.KeptCount;
                    if (corrupted is not null)
                    {
                        foreach (long position in r.KeptIndices)
                        {
                            keptNoisy += corrupted[idx[(int)position]] ? 1 : 0;
                        }
                    }
                }

                seen += idx.Length;
                progress.Increment(1);
                double rate = seen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                progress.Description = $"{name.PadRight(width)} epoch {epoch + 1}/{options.Epochs}  loss {lossSum / trained:0.000}  {rate,6:0} img/s";
            }

            if (step is not null && epoch == options.Epochs - 1)
            {
                // With --accumulate, kept samples short of a full batch still wait: train them before the last evaluation.
                using var scope = torch.NewDisposeScope();
                if (step.Flush() is { } flushed)
                {
                    Count(flushed, ref lossSum, ref trained);
                }
            }

            clock.Stop();
            double trainSeconds = trainBefore + clock.Elapsed.TotalSeconds;
            trainBefore = trainSeconds;
            var evalClock = Stopwatch.StartNew();
            double accuracy = Evaluate(model);
            double evalSeconds = evalClock.Elapsed.TotalSeconds;
            double keepRatio = (double)kept / train.Count;
            double? noisyShare = step is not null && corrupted is not null && kept > 0 ? (double)keptNoisy / kept : null;
            // NaN when nothing was trained: an accumulating run whose kept samples never filled a batch in this epoch.
            metrics.Add(new EpochMetrics(epoch + 1, trainSeconds, evalSeconds, trained > 0 ? lossSum / trained : double.NaN, accuracy,
                (metrics.Count > 0 ? metrics[^1].SamplesBackpropagated : 0) + trained, keepRatio, noisyShare));
            AtomicFile.WriteText(Path.Combine(directory, "metrics.csv"), EpochMetrics.ToCsv(metrics));
            Checkpoint.Save(checkpoints, epoch + 1, fingerprint, metrics, model, optimizer, step);
            log(FormattableString.Invariant($"{name}: epoch {epoch + 1} checkpointed: train loss {metrics[^1].TrainLoss:0.000}, test accuracy {accuracy:P1}, kept {keepRatio:P0}") +
                (noisyShare is { } share ? FormattableString.Invariant($", wrong labels among the kept {share:P1}") : string.Empty));
        }

        AtomicFile.WriteText(Path.Combine(directory, "metrics.csv"), EpochMetrics.ToCsv(metrics));
        AtomicFile.Write(Path.Combine(directory, "final.model"), temp => model.save(temp));
        return new RunResult(name, directory, metrics);
    }

    /// <summary>Adds an update's loss (a weighted mean over its trained samples) to the epoch's sum; a step that only
    /// set its kept samples aside (accumulation) trained nothing.</summary>
    private static void Count(StepResult r, ref double lossSum, ref long trained)
    {
        if (r.Updated)
        {
            lossSum += r.Loss * r.TrainedCount;
            trained += r.TrainedCount;
        }
    }

    /// <summary>The run's one step, or null for full: the rule, scores and execution its entry names.</summary>
    private SelectiveStep? NewStep(RunSpec run, DenseNet model, optim.Optimizer optimizer)
    {
        if (!run.Selects)
        {
            return null;
        }

        IKeepRatioSchedule schedule = options.RampEpochs > 0 ? KeepRatioSchedules.LinearRamp(options.RampEpochs) : KeepRatioSchedules.Constant();
        ISelectionRule rule = run.Rule switch
        {
            "highest" => SelectionRules.Scheduled(SelectionRules.Highest(options.Keep), schedule),
            "random" => SelectionRules.Scheduled(SelectionRules.Random(options.Keep), schedule),
            "sb" => SelectionRules.SelectiveBackprop(options.SbBeta),
            "infobatch" => SelectionRules.InfoBatch(options.InfoBatchPrune, options.InfoBatchAnneal),
            _ => SelectionRules.Scheduled(SelectionRules.Lowest(options.Keep), schedule), // lowest, rebatched, masked, cached
        };
        bool accumulates = options.Accumulate && run.Rule is "sb" or "infobatch";
        var stepOptions = new SelectiveStepOptions
        {
            Execution = run.Rule == "masked" ? StepExecution.Masked : StepExecution.Rebatched,
            Scores = run.Rule switch
            {
                "cached" => ScoreSource.Cached,
                "infobatch" => ScoreSource.LastTrainingLoss,
                _ => ScoreSource.Fresh,
            },
            TotalEpochs = options.Epochs,
            AccumulateToBatchSize = accumulates ? options.BatchSize : null,
            DatasetSize = train.Count,

            // One generator for the whole run (random subsets, sb's and infobatch's draws), checkpointed with the step.
            Seed = SplitMix.Mix(options.Seed ^ 0x5E1EC7UL),
        };
        return new SelectiveStep(model, optimizer, rule, stepOptions);
    }

    private double Evaluate(DenseNet model)
    {
        model.eval();
        long correct = 0;
        int[] all = Enumerable.Range(0, test.Count).ToArray();
        int batch = Math.Max(options.BatchSize, 256);
        using (torch.no_grad())
        {
            for (int from = 0; from < test.Count; from += batch)
            {
                using var scope = torch.NewDisposeScope();
                var (x, y) = batches.Build(test, all.AsSpan(from, Math.Min(batch, test.Count - from)), Augmentation.None, options.Seed, 0, device);
                correct += model.forward(x).argmax(1).eq(y).sum().ToInt64();
            }
        }

        model.train();
        return (double)correct / test.Count;
    }
}
