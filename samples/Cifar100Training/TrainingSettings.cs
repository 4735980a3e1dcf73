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
    [Description("One run: full | masked | rebatched | cached | random")]
    public string? Strategy { get; init; }

    [CommandOption("--compare <LIST>")]
    [Description("Several runs on the same data and seed, comma-separated. Default: full,rebatched,random")]
    public string? Compare { get; init; }

    [CommandOption("--keep <R>")]
    [Description("Keep ratio of the selective strategies, in (0, 1]]")]
    [DefaultValue("0.6")]
    public string Keep { get; init; } = "0.6";

    [CommandOption("--schedule <S>")]
    [Description("constant | ramp | ramp:EPOCHS (keep ratio 1 -> R over EPOCHS; ramp: half the epochs)")]
    [DefaultValue("constant")]
    public string Schedule { get; init; } = "constant";

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
    [Description("group | batch. Default: group (GroupNorm through norm_layer)")]
    public string? Norm { get; init; }

    [CommandOption("--swap")]
    [Description("Build with BatchNorm, convert with NormalizationSwapper, print the report")]
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
    [Description("Run folder. Default: runs/<timestamp>")]
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
