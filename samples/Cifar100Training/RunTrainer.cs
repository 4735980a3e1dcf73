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

/// <summary>Trains one strategy from the shared seed, checkpointing every epoch, and evaluates on the clean test set.</summary>
internal sealed class RunTrainer
{
    private readonly TrainingOptions options;
    private readonly CifarData train;
    private readonly CifarData test;
    private readonly BatchBuilder batches;
    private readonly Device device;

    public RunTrainer(TrainingOptions options, CifarData train, CifarData test, Device device)
    {
        this.options = options;
        this.train = train;
        this.test = test;
        this.device = device;
        batches = new BatchBuilder(train);
    }

    public RunResult Run(string name, string directory, ProgressTask progress, Action<string> log)
    {
        Directory.CreateDirectory(directory);
        string checkpoints = Path.Combine(directory, "checkpoint");
        torch.manual_seed((long)options.Seed);
        using DenseNet model = ModelFactory.Build(options, train.ClassCount, log);
        model.to(device);
        using var optimizer = optim.SGD(model.parameters(), learningRate: options.LearningRate, momentum: 0.9, weight_decay: 5e-4);

        var metrics = new List<EpochMetrics>();
        int start = 0;
        IKeepRatioSchedule schedule = options.RampEpochs > 0
            ? KeepRatioSchedules.LinearRamp(options.RampEpochs)
            : KeepRatioSchedules.Constant();
        SelectiveStep? cachedStep = null;
        if (options.Resume)
        {
            var loaded = Checkpoint.Load(checkpoints, options.Fingerprint, model, optimizer);
            if (loaded is null)
            {
                log($"{name}: no checkpoint at {Checkpoint.ManifestPath(checkpoints)}; this run starts from epoch 1.");
            }

            if (loaded is { } l)
            {
                start = l.Epoch;
                metrics = l.Metrics;
                log($"{name}: resumed after epoch {start} from {checkpoints}");
                if (name == "cached")
                {
                    cachedStep = NewStep(name, model, optimizer, schedule, start);
                    string scores = Checkpoint.ScoresPath(checkpoints, start);
                    if (File.Exists(scores))
                    {
                        using var file = File.OpenRead(scores);
                        cachedStep.Cache!.Load(file);
                        log($"cached: restored {cachedStep.Cache.Count} scores from {scores}");
                    }
                    else
                    {
                        log($"cached: no saved scores at {scores}; the score cache starts empty, so this run can differ from an uninterrupted one.");
                    }
                }
            }
        }

        // Which training labels the noise made wrong (null when none): for noisy_kept_share.
        bool[]? corrupted = train.Corrupted;
        int stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        progress.MaxValue = (double)options.Epochs * stepsPerEpoch;
        progress.Value = (double)start * stepsPerEpoch;
        double wallBefore = metrics.Count > 0 ? metrics[^1].WallSeconds : 0;
        try
        {
            for (int epoch = start; epoch < options.Epochs; epoch++)
            {
                var clock = Stopwatch.StartNew();
                // A fresh step per epoch, seeded by (seed, epoch), makes the random control's subsets reproducible after
                // a restart; the cached strategy keeps one step (its score memory spans epochs).
                SelectiveStep? step = name == "full" ? null : cachedStep ?? NewStep(name, model, optimizer, schedule, epoch);
                if (name == "cached")
                {
                    cachedStep = step;
                }

                if (step is not null)
                {
                    step.Epoch = epoch;
                    foreach (string d in step.Diagnostics)
                    {
                        log($"{name}: {d}");
                    }
                }

                int[] order = new SplitMix(options.Seed, 0x5E7UL, (ulong)epoch).Permutation(train.Count);
                double lossSum = 0;
                long lossCount = 0, kept = 0, seen = 0, keptNoisy = 0;
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
                    var (x, y) = batches.Build(train, idx, options.Augment ?? Augmentation.CropFlip, options.Seed, epoch, device);
                    if (step is null)
                    {
                        optimizer.zero_grad();
                        Tensor loss = nn.functional.cross_entropy(model.forward(x), y);
                        loss.backward();
                        optimizer.step();
                        lossSum += loss.ToDouble() * idx.Length;
                        kept += idx.Length;
                    }
                    else
                    {
                        Tensor ids = tensor(idx.ToArray().Select(i => (long)i).ToArray()).to(device);
                        StepResult r = step.Step(x, y, ids);
                        lossSum += r.Loss * r.KeptCount;
                        kept += r.KeptCount;
                        if (corrupted is not null)
                        {
                            foreach (long position in r.KeptIndices)
                            {
                                keptNoisy += corrupted[idx[(int)position]] ? 1 : 0;
                            }
                        }
                    }

                    lossCount = kept;
                    seen += idx.Length;
                    progress.Increment(1);
                    double rate = seen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                    progress.Description = $"{name,-10} epoch {epoch + 1}/{options.Epochs}  loss {lossSum / Math.Max(lossCount, 1):0.000}  {rate,6:0} img/s";
                }

                if (step is not null && name != "cached")
                {
                    step.Dispose();
                }

                double accuracy = Evaluate(model);
                double wall = wallBefore + clock.Elapsed.TotalSeconds;
                wallBefore = wall;
                double keepRatio = (double)kept / train.Count;
                double? noisyShare = step is not null && corrupted is not null && kept > 0 ? (double)keptNoisy / kept : null;
                metrics.Add(new EpochMetrics(epoch + 1, wall, lossSum / Math.Max(lossCount, 1), accuracy, metrics.Count > 0 ? metrics[^1].SamplesBackpropagated + kept : kept, keepRatio,
                    noisyShare));
                AtomicFile.WriteText(Path.Combine(directory, "metrics.csv"), EpochMetrics.ToCsv(metrics));
                Checkpoint.Save(checkpoints, epoch + 1, options.Fingerprint, metrics, model, optimizer, cachedStep?.Cache);
                log(FormattableString.Invariant($"{name}: epoch {epoch + 1} checkpointed: train loss {metrics[^1].TrainLoss:0.000}, test accuracy {accuracy:P1}, kept {keepRatio:P0}") +
                    (noisyShare is { } share ? FormattableString.Invariant($", wrong labels among the kept {share:P1}") : string.Empty));
            }
        }
        finally
        {
            cachedStep?.Dispose();
        }

        AtomicFile.WriteText(Path.Combine(directory, "metrics.csv"), EpochMetrics.ToCsv(metrics));
        AtomicFile.Write(Path.Combine(directory, "final.model"), temp => model.save(temp));
        return new RunResult(name, directory, metrics);
    }

    private SelectiveStep NewStep(string name, DenseNet model, optim.Optimizer optimizer, IKeepRatioSchedule schedule, int epoch)
    {
        var stepOptions = new SelectiveStepOptions
        {
            Execution = name == "masked" ? StepExecution.Masked : StepExecution.Rebatched,
            Scores = name == "cached" ? ScoreSource.Cached : ScoreSource.Fresh,
            DatasetSize = train.Count,
            Seed = SplitMix.Mix(options.Seed ^ ((ulong)epoch * 0x9E37UL)),
        };
        IKeepRatioRule rule = name == "random" ? SelectionRules.Random(options.Keep) : SelectionRules.Lowest(options.Keep);
        return new SelectiveStep(model, optimizer, SelectionRules.Scheduled(rule, schedule), stepOptions);
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
