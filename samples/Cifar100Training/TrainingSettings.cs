using System.ComponentModel;
using Spectre.Console.Cli;

namespace Cifar100Training;

/// <summary>
/// The command line as Spectre.Console.Cli declares it: typed values, names, help text and defaults; Spectre converts
/// each value (a value that does not convert is reported naming its option by <see cref="CommandLine"/>) and calls
/// <see cref="Validate"/>, which checks ranges and combinations through <see cref="TrainingOptions.From"/>. Options whose
/// default depends on the data have no <see cref="DefaultValueAttribute"/>: null means "not given".
/// </summary>
internal sealed class TrainingSettings : CommandSettings
{
    [CommandOption("--data <DIR>")]
    [Description("Real data, recognised by what is in the folder: an image folder (train/<class>/*.jpg|png and test/<class>/* or val/<class>/*, torchvision's ImageFolder layout; decoded once and cached), CIFAR-100 binary (train.bin, test.bin), CIFAR-10 binary (data_batch_1..5.bin, test_batch.bin) or MNIST-format IDX (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, plain or .gz; padded to 32x32, grey repeated to 3 channels). Default: generated data (not CIFAR-100)")]
    public string? Data { get; init; }

    [CommandOption("--strategy <ENTRY>")]
    [Description("One run: the same as --compare with a single entry")]
    public string? Strategy { get; init; }

    [CommandOption("--compare <LIST>")]
    [Description("Runs on the same data, comma-separated, each RULE[[:PART]]... (e.g. full:batch,lowest:group-ws,lowest:cached:masked,infobatch); the entry as written names the run everywhere (folders with : as -). Rules: full (every sample, plain step) | lowest | highest (the lowest/highest losses at --keep) | random (the control, at --keep) | sb (Selective-Backprop) | infobatch (InfoBatch's sampler: pruned samples are never read). Parts: a norm (batch | group | group-ws; default --norm), a score source for lowest/highest/sb (fresh | cached | last-loss; default --scores) and an execution (rebatched | masked; default --execution). The first entry is the reference for the time to target. Default: full:batch,lowest,random (the baseline, the rule for noisy labels, the control)")]
    public string? Compare { get; init; }

    [CommandOption("--seeds <LIST>")]
    [Description("Run every --compare entry once per seed, comma-separated (e.g. 1,2,3): the seed varies initialisation, order and augmentation; the data subset and the noisy labels stay those of --seed. summary.csv adds the mean and standard deviation over seeds. Default: --seed alone")]
    public string? Seeds { get; init; }

    [CommandOption("--keep <R>")]
    [Description("Keep ratio of lowest, highest and random, in (0, 1]]")]
    [DefaultValue(0.6)]
    public double Keep { get; init; } = 0.6;

    [CommandOption("--schedule <S>")]
    [Description("ramp | ramp:EPOCHS | constant (keep ratio 1 -> R over EPOCHS; ramp: half the epochs; constant: R from the start). For lowest, highest and random; sb and infobatch keep shares of their own. Default ramp: keeping the lowest losses from the first step starves training (docs/cifar10.md)")]
    [DefaultValue("ramp")]
    public string Schedule { get; init; } = "ramp";

    [CommandOption("--scores <SOURCE>")]
    [Description("Where lowest, highest and sb take scores from when the entry does not say: fresh (a no-grad scoring pass) | cached (reused while fresh, Selective-Backprop's stale variant) | last-loss (each sample's last training loss; no scoring pass). Default: fresh")]
    public string? Scores { get; init; }

    [CommandOption("--execution <E>")]
    [Description("How lowest, highest, random and sb update when the entry does not say: rebatched (train the kept samples as a smaller batch) | masked (the full-batch masked loss, the reference). Default: rebatched")]
    public string? Execution { get; init; }

    [CommandOption("--sb-beta <B>")]
    [Description("sb: Selective-Backprop's selectivity, positive: a sample is kept with probability (percentile of its loss)^B")]
    [DefaultValue(3.0)]
    public double SbBeta { get; init; } = 3;

    [CommandOption("--infobatch-prune <R>")]
    [Description("infobatch: share of the below-mean-loss samples pruned each epoch, in [[0, 1)")]
    [DefaultValue(0.5)]
    public double InfoBatchPrune { get; init; } = 0.5;

    [CommandOption("--infobatch-anneal <F>")]
    [Description("infobatch: share of the epochs that prune, in (0, 1]]; the rest train on every sample")]
    [DefaultValue(0.875)]
    public double InfoBatchAnneal { get; init; } = 0.875;

    [CommandOption("--accumulate")]
    [Description("sb: accumulate the kept samples to full batches of --batch-size before each update (the rest is trained at the end of the last epoch)")]
    public bool Accumulate { get; init; }

    [CommandOption("--target-accuracy <X>")]
    [Description("Test accuracy, a fraction in (0, 1]], that defines the time to target. Default: the first run's final accuracy (of the same seed) minus 0.005")]
    public double? TargetAccuracy { get; init; }

    [CommandOption("--epochs <N>")]
    [DefaultValue(8)]
    public int Epochs { get; init; } = 8;

    [CommandOption("--eval-every <F>")]
    [Description("Evaluate on the test set every F of an epoch, in (0, 1]] (e.g. 0.25), and at the end of each epoch; or every F epochs, a whole number (e.g. 2), and after the last. Evaluation time stays out of training time; the time to target is read at every evaluation")]
    [DefaultValue(1.0)]
    public double EvalEvery { get; init; } = 1;

    [CommandOption("--batch-size <N>")]
    [DefaultValue(64)]
    public int BatchSize { get; init; } = 64;

    [CommandOption("--lr <X>")]
    [Description("SGD learning rate (momentum 0.9, weight decay 5e-4; warm-up, then cosine decay)")]
    [DefaultValue(0.1)]
    public double LearningRate { get; init; } = 0.1;

    [CommandOption("--weight-decay <X>")]
    [Description("SGD weight decay, in [[0, 1)")]
    [DefaultValue(5e-4)]
    public double WeightDecay { get; init; } = 5e-4;

    [CommandOption("--warmup-epochs <W>")]
    [Description("Linear learning-rate warm-up from about 0 to --lr over the first W epochs, counted per step; then cosine decay over the epochs left. 0: none")]
    [DefaultValue(1)]
    public int WarmupEpochs { get; init; } = 1;

    [CommandOption("--augment <MODE>")]
    [Description("none | crop (random 32x32 crop of the image padded by 4) | crop-flip (and a horizontal flip, p 0.5). Default: crop-flip for generated, CIFAR and image-folder data, crop for MNIST-format (a flipped digit is another symbol)")]
    public string? Augment { get; init; }

    [CommandOption("--seed <N>")]
    [Description("Seed of the data: generated data, the class-balanced subsets, the noisy labels; and of the run unless --seeds is given")]
    [DefaultValue(1)]
    public int Seed { get; init; } = 1;

    [CommandOption("--device <DEVICE>")]
    [Description("cpu | cuda. Default: cuda when available")]
    public string? Device { get; init; }

    [CommandOption("--model <NAME>")]
    [Description("small (growth 12, blocks 3,3,3) | tiny | densenet121")]
    [DefaultValue("small")]
    public string Model { get; init; } = "small";

    [CommandOption("--norm <NORM>")]
    [Description("Norm of the entries without a norm part: group-ws (GroupNorm and weight-standardised convolutions) | group (GroupNorm through norm_layer) | batch (BatchNorm). Default: group-ws")]
    public string? Norm { get; init; }

    [CommandOption("--groups <N>")]
    [Description("GroupNorm group count of the group and group-ws runs; must divide the channel count of every norm layer. Default: per layer, ChannelGroupNorm.DefaultGroupCount (at most 32 groups of at least 2 channels)")]
    public int? Groups { get; init; }

    [CommandOption("--swap")]
    [Description("The batch runs are built with BatchNorm and converted by NormalizationSwapper with its defaults, GroupNorm and weight-standardised convolutions (the report is printed); entries without a norm part are then batch runs")]
    public bool Swap { get; init; }

    [CommandOption("--label-noise <P>")]
    [Description("Share P in [[0, 1) of the training labels made wrong: exactly round(P x N) of them, chosen by --seed; test labels are never touched. Default: 0.2 for generated data, 0 with --data")]
    public double? LabelNoise { get; init; }

    [CommandOption("--noise-type <TYPE>")]
    [Description("symmetric: a wrong label is one of the other K-1 classes, drawn uniformly (never the true class; Co-teaching's symmetric noise) | pair: class c becomes c+1 mod K (Co-teaching's pair flip)")]
    [DefaultValue("symmetric")]
    public string NoiseType { get; init; } = "symmetric";

    [CommandOption("--train-size <N>")]
    [Description("Training images: generated ones (default 3000), or the first N of --data after --train-per-class (default all)")]
    public int? TrainSize { get; init; }

    [CommandOption("--test-size <N>")]
    [Description("Test images: generated ones (default 1000), or the first N of --data after --test-per-class (default all)")]
    public int? TestSize { get; init; }

    [CommandOption("--train-per-class <N>")]
    [Description("--data: N training images per class, a class-balanced subset drawn by --seed. Default: all")]
    public int? TrainPerClass { get; init; }

    [CommandOption("--test-per-class <N>")]
    [Description("--data: N test images per class, drawn by --seed. Default: all")]
    public int? TestPerClass { get; init; }

    [CommandOption("--image-size <N>")]
    [Description("Image-folder images are resized to N x N as torchvision's Resize(N) + CenterCrop(N) does (shorter side to N with Pillow's antialiased bilinear filter, then the centre); the models take 32")]
    [DefaultValue(32)]
    public int ImageSize { get; init; } = 32;

    [CommandOption("--image-cache <DIR>")]
    [Description("Where an image folder's decoded cache goes (decoded once, reused while the files are unchanged). Default: $XDG_CACHE_HOME or ~/.cache/selectiveloss/image-folders")]
    public string? ImageCache { get; init; }

    [CommandOption("--threads <N>")]
    [Description("Torch CPU threads. Default: all cores")]
    public int? Threads { get; init; }

    [CommandOption("--max-restarts <N>")]
    [Description("How many times a run that dies of a native TorchSharp error reloads its last checkpoint and goes on before it is reported as failed (the other runs go on)")]
    [DefaultValue(3)]
    public int MaxRestarts { get; init; } = 3;

    [CommandOption("--output <DIR>")]
    [Description("Run folder: a folder per run (metrics.csv, checkpoint, final.model), summary.csv, options.txt, classes.txt and the chart. Default: runs/<timestamp>")]
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
