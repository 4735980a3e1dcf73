using System;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Cifar100Training;

/// <summary>The one place a run's four choices (rule, norm, scores, execution) become library objects.</summary>
internal static class DriverFactory
{
    public static IRunDriver Create(RunSpec run, ulong seed, TrainingOptions options, Module<Tensor, Tensor> model, optim.Optimizer optimizer, int trainCount)
    {
        // One generator for the whole run (random subsets, sb's draws, InfoBatch's pruning), seeded by the run seed and
        // checkpointed with the run.
        ulong generatorSeed = SplitMix.Mix(seed ^ 0x5E1EC7UL);
        int epochs = run.EpochsOr(options.Epochs);
        switch (run.Rule)
        {
            case RunRule.Full:
                return new FullDriver(model, optimizer, options.BatchSize);
            case RunRule.InfoBatch:
                return new InfoBatchDriver(model, optimizer,
                    new InfoBatchSampler(trainCount, epochs, options.BatchSize, options.InfoBatchPrune, options.InfoBatchAnneal, generatorSeed));
            default:
                var stepOptions = new SelectiveStepOptions
                {
                    Execution = run.Execution,
                    Scores = run.Scores,
                    TotalEpochs = epochs,
                    AccumulateToBatchSize = options.Accumulate && run.Rule == RunRule.SelectiveBackprop ? options.BatchSize : null,
                    DatasetSize = trainCount,
                    Seed = generatorSeed,
                };
                return new StepDriver(new SelectiveStep(model, optimizer, Rule(run.Rule, options), stepOptions), options.BatchSize);
        }
    }

    private static ISelectionRule Rule(RunRule rule, TrainingOptions options)
    {
        IKeepRatioSchedule schedule = options.RampEpochs > 0 ? KeepRatioSchedules.LinearRamp(options.RampEpochs) : KeepRatioSchedules.Constant();
        return rule switch
        {
            RunRule.Lowest => SelectionRules.Scheduled(SelectionRules.Lowest(options.Keep), schedule),
            RunRule.Highest => SelectionRules.Scheduled(SelectionRules.Highest(options.Keep), schedule),
            RunRule.Random => SelectionRules.Scheduled(SelectionRules.Random(options.Keep), schedule),
            RunRule.SelectiveBackprop => SelectionRules.SelectiveBackprop(options.SbBeta),
            _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "Not a SelectiveStep rule."),
        };
    }
}
