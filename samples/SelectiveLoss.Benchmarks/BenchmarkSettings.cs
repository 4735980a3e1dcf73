using System.ComponentModel;
using Spectre.Console.Cli;

namespace SelectiveLoss.Benchmarks;

/// <summary>
/// The benchmark's command line as Spectre.Console.Cli declares it. Values are taken as text and checked by
/// <see cref="BenchmarkOptions.From"/>, so a bad value is reported with the option's name; the same names as the
/// trainer's (<c>--batch-size</c>, <c>--norm group|batch</c>, <c>--keep</c>, <c>--output</c>).
/// </summary>
internal sealed class BenchmarkSettings : CommandSettings
{
    [CommandOption("--quick")]
    [Description("1 warm-up round and 3 timed rounds (about 9 minutes on 2 cores)")]
    public bool Quick { get; init; }

    [CommandOption("--rounds <N>")]
    [Description("Timed rounds; each times one step after an untimed one. Default: 7 (--quick: 3)")]
    public string? Rounds { get; init; }

    [CommandOption("--warmup <N>")]
    [Description("Warm-up rounds. Default: 2 (--quick: 1)")]
    public string? Warmup { get; init; }

    [CommandOption("--batch-size <N>")]
    [DefaultValue("64")]
    public string BatchSize { get; init; } = "64";

    [CommandOption("--keep <LIST>")]
    [Description("Keep ratios in (0, 1]], comma-separated")]
    [DefaultValue("0.6,0.3")]
    public string Keep { get; init; } = "0.6,0.3";

    [CommandOption("--norm <LIST>")]
    [Description("group | batch, comma-separated")]
    [DefaultValue("batch,group")]
    public string Norm { get; init; } = "batch,group";

    [CommandOption("--output <DIR>")]
    [Description("Run folder for benchmark.csv and benchmark.png. Default: runs/benchmark-<timestamp>")]
    public string? Output { get; init; }

    [CommandOption("--csv <FILE>")]
    [Description("Write the CSV here instead (norm,strategy,keep,batch,median_ms,ratio_to_full,peak_rss_mb)")]
    public string? Csv { get; init; }

    [CommandOption("--png <FILE>")]
    [Description("Write the bar chart of the ratios here instead. Default: next to the CSV")]
    public string? Png { get; init; }

    [CommandOption("--no-memory")]
    [Description("Skip the per-strategy peak-memory child processes")]
    public bool NoMemory { get; init; }

    [CommandOption("--epoch-batches <N>")]
    [Description("Batches of --batch-size in the data set of the epoch rows (full_epoch, infobatch_sampler, infobatch_per_batch); 0 leaves them out")]
    [DefaultValue("4")]
    public string EpochBatches { get; init; } = "4";

    [CommandOption("--memory-steps <N>")]
    [Description("Instead of the timing: the leak check, N steps of every rule on a tiny DenseNet at batch 32 after the warm-up; writes memory.csv")]
    public string? MemorySteps { get; init; }

    [CommandOption("--memory-warmup <N>")]
    [Description("Leak check: untimed steps of each rule before its first memory sample")]
    [DefaultValue("50")]
    public string MemoryWarmup { get; init; } = "50";

    [CommandOption("--memory-repeats <N>")]
    [Description("Leak check: how often the whole check runs, to show the run-to-run noise")]
    [DefaultValue("2")]
    public string MemoryRepeats { get; init; } = "2";

    [CommandOption("--sync-steps <N>")]
    [Description("Instead of the timing: the cost of reading StepResult.Loss and KeptIndices every step, N steps read and N not; writes sync.csv")]
    public string? SyncSteps { get; init; }

    [CommandOption("--norm-rounds <N>")]
    [Description("Instead of the timing: TorchSharp's BatchNorm2d against HeldScalarBatchNorm2d (the module, and the small DenseNet's training step), N interleaved rounds; writes batchnorm.csv")]
    public string? NormRounds { get; init; }

    [CommandOption("--numerics-rounds <N>")]
    [Description("Instead of the timing: what the numerics check's mitigations cost (docs/numerics.md): a training step with oneDNN as it is, turned off (interleaved, N rounds), and capped at AVX (a child process), for --numerics-models; also the check's own time and the step's finiteness check; writes numerics.csv")]
    public string? NumericsRounds { get; init; }

    [CommandOption("--numerics-models <LIST>")]
    [Description("Numerics check: small (the trainer's default DenseNet) and/or densenet121 (GroupNorm, as the timing)")]
    [DefaultValue("small,densenet121")]
    public string NumericsModels { get; init; } = "small,densenet121";

    [CommandOption("--numerics-scan <N>")]
    [Description("Instead of the timing: the fault's repro, N calls of each probed convolution (every wrong result counted) and N/4 runs of the tiny DenseNet that trained to NaN on AMD Zen 5, at the oneDNN instruction set of the environment (DNNL_MAX_CPU_ISA); writes numerics-scan.csv. docs/numerics/scan.sh runs it per level")]
    public string? NumericsScan { get; init; }

    [CommandOption("--numerics-child", IsHidden = true)]
    public bool NumericsChild { get; init; }

    [CommandOption("--threads <N>")]
    [Description("Torch threads. Default: the number of cores")]
    public string? Threads { get; init; }

    // Child mode, used by the benchmark itself: the peak memory of one strategy in a fresh process.
    [CommandOption("--child-norm <NORM>", IsHidden = true)]
    public string? ChildNorm { get; init; }

    [CommandOption("--child-strategy <NAME>", IsHidden = true)]
    public string? ChildStrategy { get; init; }

    [CommandOption("--child-keep <R>", IsHidden = true)]
    public string? ChildKeep { get; init; }

    /// <summary>Spectre calls this after binding: every value is checked here, before any work.</summary>
    public override Spectre.Console.ValidationResult Validate()
    {
        try
        {
            BenchmarkOptions.From(this, System.DateTime.Now);
            return Spectre.Console.ValidationResult.Success();
        }
        catch (System.ArgumentException e)
        {
            return Spectre.Console.ValidationResult.Error(e.Message);
        }
    }
}
