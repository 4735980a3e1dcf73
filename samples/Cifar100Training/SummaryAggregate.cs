namespace Cifar100Training;

/// <summary>A run over its seeds: mean and standard deviation of each number, over the seeds that have it.</summary>
/// <param name="Reached">How many seeds reached their target.</param>
internal sealed record SummaryAggregate(string Run, int Seeds, int Failed, int Restarts, Stat Final, Stat Best, Stat TrainSeconds, Stat TimeToTarget,
    Stat Ratio, Stat AccuracyAtBaselineTime, int Reached);
