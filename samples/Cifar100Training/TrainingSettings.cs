using System.ComponentModel;
using Spectre.Console.Cli;

namespace Cifar100Training;

/// <summary>
/// The command line as Spectre.Console.Cli declares it: names, value names, help text and defaults. Values are taken
/// as text and checked by <see cref="TrainingOptions.From"/>, so that a bad value is reported with the option's name
/// (Spectre's own converters say only "Failed to convert 'x' to Int32"). Options whose default depends on the data
/// have no <see cref="DefaultValueAttribute"/>: null means "not given".
/// </summary>
internal sealed class TrainingSettings : CommandSettings
{
    [CommandOption("--data <DIR>")]
    [Description("Real data, recognised by its files: CIFAR-100 binary (train.bin, test.bin), CIFAR-10 binary (data_batch_1..5.bin, test_batch.bin) or MNIST-format IDX (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, plain or .gz; padded to 32x32, grey repeated to 3 channels). Default: generated data (not CIFAR-100)")]
    public string? Data { get; init; }

    [CommandOption("--strategy <NAME>")]
    [Description("One run: the same as --compare with a single entry")]
    public string? Strategy { get; init; }

    [CommandOption("--compare <LIST>")]
    [Description("Runs on the same data and seed, comma-separated, each RULE or RULE:NORM (e.g. full:batch,lowest:group,infobatch:group-ws); the name as written names the run everywhere (folders with : as -). Rules: full (plain full-batch training) | lowest | highest (the lowest/highest losses at --keep, fresh scores, rebatched) | random (the control, at --keep) | sb (Selective-Backprop) | infobatch (InfoBatch: last-training-loss scores, no scoring pass) | masked (lowest, masked full-batch loss) | rebatched (= lowest) | cached (lowest on cached scores). Norms: batch | group | group-ws; no suffix: --norm. The first entry is the reference for the time to target. Default: full,rebatched,random")]
    public string? Compare { get; init; }

    [CommandOption("--keep <R>")]
    [Description("Keep ratio of lowest, highest, random, masked, rebatched and cached, in (0, 1]]")]
    [DefaultValue("0.6")]
    public string Keep { get; init; } = "0.6";

    [CommandOption("--schedule <S>")]
    [Description("constant | ramp | ramp:EPOCHS (keep ratio 1 -> R over EPOCHS; ramp: half the epochs). For the rules with a keep ratio; ignored by sb and infobatch, whose kept share is their own")]
    [DefaultValue("constant")]
    public string Schedule { get; init; } = "constant";

    [CommandOption("--sb-beta <B>")]
    [Description("sb: Selective-Backprop's selectivity, positive: a sample is kept with probability (percentile of its loss)^B")]
    [DefaultValue("3")]
    public string SbBeta { get; init; } = "3";

    [CommandOption("--infobatch-prune <R>")]
    [Description("infobatch: share of the below-mean-loss samples pruned at random, in [[0, 1)")]
    [DefaultValue("0.5")]
    public string InfoBatchPrune { get; init; } = "0.5";

    [CommandOption("--infobatch-anneal <F>")]
    [Description("infobatch: share of the epochs that prune, in (0, 1]]; the rest train on every sample")]
    [DefaultValue("0.875")]
    public string InfoBatchAnneal { get; init; } = "0.875";

    [CommandOption("--accumulate")]
    [Description("sb and infobatch: accumulate the kept samples to full batches of --batch-size before each update (the rest is trained at the end of the last epoch)")]
    public bool Accumulate { get; init; }

    [CommandOption("--target-accuracy <X>")]
    [Description("Test accuracy, a fraction in (0, 1]], that defines the time to target. Default: the first run's final accuracy minus 0.005. Accuracy is measured once per epoch, so the time to target has a resolution of one epoch")]
    public string? TargetAccuracy { get; init; }

    [CommandOption("--epochs <N>")]
    [DefaultValue("8")]
    public string Epochs { get; init; } = "8";

    [CommandOption("--batch-size <N>")]
    [DefaultValue("64")]
    public string BatchSize { get; init; } = "64";

    [CommandOption("--lr <X>")]
    [Description("SGD learning rate (momentum 0.9, weight decay 5e-4; warm-up, then cosine decay)")]
    [DefaultValue("0.1")]
    public string LearningRate { get; init; } = "0.1";

    [CommandOption("--warmup-epochs <W>")]
    [Description("Linear learning-rate warm-up from about 0 to --lr over the first W epochs, counted per step; then cosine decay over the epochs left. 0: none")]
    [DefaultValue("1")]
    public string WarmupEpochs { get; init; } = "1";

    [CommandOption("--augment <MODE>")]
    [Description("none | crop (random 32x32 crop of the image padded by 4) | crop-flip (and a horizontal flip, p 0.5). Default: crop-flip for generated and CIFAR data, crop for MNIST-format (a flipped digit is another symbol)")]
    public string? Augment { get; init; }

    [CommandOption("--seed <N>")]
    [DefaultValue("1")]
    public string Seed { get; init; } = "1";

    [CommandOption("--device <DEVICE>")]
    [Description("cpu | cuda. Default: cuda when available")]
    public string? Device { get; init; }

    [CommandOption("--model <NAME>")]
    [Description("small (growth 12, blocks 3,3,3) | tiny | densenet121")]
    [DefaultValue("small")]
    public string Model { get; init; } = "small";

    [CommandOption("--norm <NORM>")]
    [Description("Norm of the runs without a suffix: group-ws (GroupNorm and weight-standardised convolutions; measured fastest to accuracy on digits, see docs/time-to-accuracy.md) | group (GroupNorm through norm_layer) | batch (BatchNorm). Default: group-ws")]
    public string? Norm { get; init; }

    [CommandOption("--groups <N>")]
    [Description("GroupNorm group count of the group and group-ws runs; must divide the channel count of every norm layer. Default: per layer, ChannelGroupNorm.DefaultGroupCount (at most 32 groups of at least 2 channels)")]
    public string? Groups { get; init; }

    [CommandOption("--swap")]
    [Description("The batch runs are built with BatchNorm and converted by NormalizationSwapper with its defaults, GroupNorm and weight-standardised convolutions (the report is printed); runs without a suffix are then batch runs")]
    public bool Swap { get; init; }

    [CommandOption("--label-noise <P>")]
    [Description("Share P in [[0, 1) of the training labels made wrong: exactly round(P x N) of them, chosen by --seed; test labels are never touched. Default: 0.2 for generated data, 0 with --data")]
    public string? LabelNoise { get; init; }

    [CommandOption("--noise-type <TYPE>")]
    [Description("symmetric: a wrong label is one of the other K-1 classes, drawn uniformly (never the true class; Co-teaching's symmetric noise) | pair: class c becomes c+1 mod K (Co-teaching's pair flip)")]
    [DefaultValue("symmetric")]
    public string NoiseType { get; init; } = "symmetric";

    [CommandOption("--train-size <N>")]
    [Description("Training images: generated ones (default 3000), or the first N of --data (default all)")]
    public string? TrainSize { get; init; }

    [CommandOption("--test-size <N>")]
    [Description("Test images: generated ones (default 1000), or the first N of --data (default all)")]
    public string? TestSize { get; init; }

    [CommandOption("--threads <N>")]
    [Description("Torch CPU threads. Default: all cores")]
    public string? Threads { get; init; }

    [CommandOption("--output <DIR>")]
    [Description("Run folder: a folder per run (metrics.csv, checkpoint, final.model), summary.csv, options.txt and the chart. Default: runs/<timestamp>")]
    public string? Output { get; init; }

    [CommandOption("--resume")]
    [Description("Continue the runs in --output from their last checkpoint")]
    public bool Resume { get; init; }

    /// <summary>Spectre calls this after binding: every value is checked here, before any work.</summary>
    public override Spectre.Console.ValidationResult Validate()
    {
        try
        {
            TrainingOptions.From(this);
            return Spectre.Console.ValidationResult.Success();
        }
        catch (UsageException e)
        {
            return Spectre.Console.ValidationResult.Error(e.Message);
        }
    }
}
