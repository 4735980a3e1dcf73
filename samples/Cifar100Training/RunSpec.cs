using System;
using System.Collections.Generic;
using System.Linq;
using SelectiveLoss.Training;

namespace Cifar100Training;

/// <summary>
/// One entry of <c>--compare</c>, as four independent choices: the rule, the norm, where a selecting step's scores come
/// from, and how it executes. Written <c>RULE[:PART]...</c>, where each part names a norm (batch, group, group-ws), a
/// score source (fresh, cached, last-loss), an execution (rebatched, masked) or the run's own epoch count (<c>Nep</c>,
/// e.g. <c>22ep</c>: its schedule stretched to a training budget), in any order; what an entry leaves out comes from
/// --norm, --scores, --execution and --epochs. <see cref="Name"/> is the entry as written and names the run everywhere.
/// </summary>
internal sealed record RunSpec(string Name, RunRule Rule, NormKind Norm, ScoreSource? Scores = null, StepExecution Execution = StepExecution.Rebatched, int? Epochs = null)
{
    /// <summary>The rules, by their command-line names, in the order --help lists them.</summary>
    public static readonly IReadOnlyDictionary<string, RunRule> Rules = new Dictionary<string, RunRule>
    {
        ["full"] = RunRule.Full, ["lowest"] = RunRule.Lowest, ["highest"] = RunRule.Highest, ["random"] = RunRule.Random,
        ["sb"] = RunRule.SelectiveBackprop, ["infobatch"] = RunRule.InfoBatch,
    };

    /// <summary>The norms by name.</summary>
    public static readonly IReadOnlyDictionary<string, NormKind> Norms = new Dictionary<string, NormKind>
    {
        ["batch"] = NormKind.Batch, ["group"] = NormKind.Group, ["group-ws"] = NormKind.GroupWs,
    };

    /// <summary>The score sources by name.</summary>
    public static readonly IReadOnlyDictionary<string, ScoreSource> ScoreSources = new Dictionary<string, ScoreSource>
    {
        ["fresh"] = ScoreSource.Fresh, ["cached"] = ScoreSource.Cached, ["last-loss"] = ScoreSource.LastTrainingLoss,
    };

    /// <summary>The executions by name.</summary>
    public static readonly IReadOnlyDictionary<string, StepExecution> Executions = new Dictionary<string, StepExecution>
    {
        ["rebatched"] = StepExecution.Rebatched, ["masked"] = StepExecution.Masked,
    };

    /// <summary>Rule names of earlier versions, each folding two choices into one word, and what they are now.</summary>
    private static readonly Dictionary<string, string> Renamed = new()
    {
        ["rebatched"] = "lowest (rebatched is the default execution)", ["masked"] = "lowest:masked", ["cached"] = "lowest:cached",
    };

    /// <summary>Gets the run's folder under --output: the name with <c>:</c> replaced by <c>-</c>.</summary>
    public string Folder => Name.Replace(':', '-');

    /// <summary>Gets a value indicating whether the rule has a keep ratio (--keep, and --schedule).</summary>
    public bool HasKeepRatio => Rule is RunRule.Lowest or RunRule.Highest or RunRule.Random;

    /// <summary>Gets a value indicating whether the run trains through a SelectiveStep (its scores and execution apply).</summary>
    public bool UsesStep => Rule is RunRule.Lowest or RunRule.Highest or RunRule.Random or RunRule.SelectiveBackprop;

    /// <summary>Gets a value indicating whether the model uses GroupNorm (group or group-ws).</summary>
    public bool UsesGroupNorm => Norm is NormKind.Group or NormKind.GroupWs;

    /// <summary>The run's epoch count: its own (<c>Nep</c>), or <paramref name="epochs"/> (--epochs).</summary>
    public int EpochsOr(int epochs) => Epochs ?? epochs;

    /// <summary>The command-line name of a norm.</summary>
    public static string NameOf(NormKind norm) => Norms.First(n => n.Value == norm).Key;

    /// <summary>The command-line name of a rule.</summary>
    public static string NameOf(RunRule rule) => Rules.First(r => r.Value == rule).Key;

    /// <summary>The command-line name of a score source.</summary>
    public static string NameOf(ScoreSource scores) => ScoreSources.First(s => s.Value == scores).Key;

    /// <summary>Parses <c>RULE[:PART]...</c>; a bad rule or part throws naming <paramref name="option"/>.</summary>
    /// <exception cref="UsageException">Not a rule, a part that names nothing, two parts of one kind, or a part the rule cannot take.</exception>
    public static RunSpec Parse(string option, string entry, NormKind norm, ScoreSource? scores = null, StepExecution execution = StepExecution.Rebatched)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string[] parts = entry.Split(':');
        string ruleName = parts[0];
        if (Renamed.TryGetValue(ruleName, out string? now))
        {
            throw new UsageException($"{option}: '{ruleName}' in '{entry}' is now {now}: a run names its rule, norm, scores and execution apart.");
        }

        if (!Rules.TryGetValue(ruleName, out RunRule rule))
        {
            throw new UsageException(
                $"{option}: '{ruleName}' in '{entry}' is not a rule. Use one of {string.Join(", ", Rules.Keys)}, optionally with parts such as :group-ws, :cached or :masked (e.g. lowest:batch).");
        }

        NormKind? givenNorm = null;
        ScoreSource? givenScores = null;
        StepExecution? givenExecution = null;
        int? givenEpochs = null;
        foreach (string part in parts.Skip(1))
        {
            if (part.EndsWith("ep", StringComparison.Ordinal) && int.TryParse(part.AsSpan(0, part.Length - 2), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out int epochs))
            {
                givenEpochs = epochs is >= 1 and <= 10_000 ? Once(givenEpochs, epochs, "an epoch count")
                    : throw new UsageException($"{option}: '{entry}' asks for {epochs} epochs; give 1 to 10000 (e.g. {ruleName}:20ep).");
            }
            else if (Norms.TryGetValue(part, out NormKind n))
            {
                givenNorm = Once(givenNorm, n, "a norm");
            }
            else if (ScoreSources.TryGetValue(part, out ScoreSource s))
            {
                givenScores = Once(givenScores, s, "a score source");
            }
            else if (Executions.TryGetValue(part, out StepExecution e))
            {
                givenExecution = Once(givenExecution, e, "an execution");
            }
            else
            {
                throw new UsageException(
                    $"{option}: '{entry}' has the part '{part}'. Use norms {string.Join(", ", Norms.Keys)}, score sources {string.Join(", ", ScoreSources.Keys)}, " +
                    $"executions {string.Join(", ", Executions.Keys)} or an epoch count such as 20ep after a colon (e.g. {ruleName}:batch).");
            }
        }

        var run = new RunSpec(entry, rule, givenNorm ?? norm, givenScores ?? scores, givenExecution ?? execution, givenEpochs);
        bool namesStepParts = givenScores is not null || givenExecution is not null;
        if (namesStepParts && !run.UsesStep)
        {
            throw new UsageException(
                $"{option}: '{entry}' names a score source or execution, but {ruleName} trains " +
                (rule == RunRule.Full ? "every sample with a plain step." : "through InfoBatch's sampler, which scores by each sample's last training loss.") +
                " Drop that part.");
        }

        return run.UsesStep ? run : run with { Scores = null, Execution = StepExecution.Rebatched };

        T Once<T>(T? given, T value, string kind)
            where T : struct =>
            given is null ? value : throw new UsageException($"{option}: '{entry}' names {kind} twice; give one.");
    }
}
