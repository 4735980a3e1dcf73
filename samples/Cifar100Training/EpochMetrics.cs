using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Cifar100Training;

/// <summary>One line of <c>metrics.csv</c>: an evaluation, at the end of an epoch or every --eval-every of one.</summary>
/// <param name="Epoch">Epochs trained at this evaluation, fractional with --eval-every (1.25 = a quarter into the second).</param>
/// <param name="TrainSeconds">
/// Training wall time from the start of the run to the end of this epoch's training: batches, selection, updates (and
/// the final flush of an accumulating run); evaluation and checkpointing are not in it. A resumed run continues the
/// sum from its checkpoint.
/// </param>
/// <param name="EvalSeconds">Wall time of this epoch's evaluation on the test set, alone.</param>
/// <param name="NoisyKeptShare">
/// Of the samples trained on (kept) in the epoch, the share whose label --label-noise made wrong. Only for runs that
/// select (loss-ranked ones, and random as their control, whose share should sit at the noise rate); null, an empty
/// field, for full runs and when no label was made wrong.
/// </param>
internal sealed record EpochMetrics(double Epoch, double TrainSeconds, double EvalSeconds, double TrainLoss, double TestAccuracy, long SamplesBackpropagated,
    double KeepRatio, double? NoisyKeptShare = null)
{
    public const string Header = "epoch,train_seconds,eval_seconds,train_loss,test_accuracy,samples_backpropagated,keep_ratio,noisy_kept_share";

    public string ToCsv() => string.Create(CultureInfo.InvariantCulture,
        $"{Epoch:R},{TrainSeconds:R},{EvalSeconds:R},{TrainLoss:R},{TestAccuracy:R},{SamplesBackpropagated},{KeepRatio:R},{NoisyKeptShare:R}");

    public static EpochMetrics FromCsv(string line)
    {
        string[] f = line.Split(',');
        return new EpochMetrics(
            double.Parse(f[0], CultureInfo.InvariantCulture),
            double.Parse(f[1], CultureInfo.InvariantCulture),
            double.Parse(f[2], CultureInfo.InvariantCulture),
            double.Parse(f[3], CultureInfo.InvariantCulture),
            double.Parse(f[4], CultureInfo.InvariantCulture),
            long.Parse(f[5], CultureInfo.InvariantCulture),
            double.Parse(f[6], CultureInfo.InvariantCulture),
            f.Length > 7 && f[7].Length > 0 ? double.Parse(f[7], CultureInfo.InvariantCulture) : null);
    }

    public static string ToCsv(IEnumerable<EpochMetrics> rows)
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var row in rows)
        {
            text.Append(row.ToCsv()).Append('\n');
        }

        return text.ToString();
    }

    public static List<EpochMetrics> ParseCsv(string text) =>
        text.Split('\n', System.StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(FromCsv).ToList();
}
