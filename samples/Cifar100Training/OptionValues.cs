using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using SelectiveLoss.Training;

namespace Cifar100Training;

/// <summary>
/// The checks and conversions behind <see cref="TrainingOptions.From"/>, one per kind of value (runs, seeds, schedule,
/// evaluation interval, text, choices, numbers): each names its option and the fix when it refuses a value.
/// </summary>
internal static class OptionValues
{
    /// <summary>--compare's entries (or --strategy's one); entries must be distinct as written.</summary>
    internal static RunSpec[] ParseRuns(TrainingSettings s, NormKind norm, ScoreSource? scores, StepExecution execution)
    {
        if (s.Strategy is not null)
        {
            return new[] { RunSpec.Parse("--strategy", Text("--strategy", s.Strategy).Trim(), norm, scores, execution) };
        }

        if (s.Compare is null)
        {
            return TrainingOptions.DefaultRuns.Select(r => RunSpec.Parse("--compare", r, norm, scores, execution)).ToArray();
        }

        RunSpec[] runs = Text("--compare", s.Compare).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(r => RunSpec.Parse("--compare", r, norm, scores, execution)).ToArray();
        if (runs.Length == 0)
        {
            throw new UsageException($"--compare: give a comma-separated list of runs, each a rule from {string.Join(", ", RunSpec.Rules.Keys)} with optional parts such as :batch, :cached or :masked, e.g. --compare full:batch,lowest:group,random.");
        }

        string? repeated = runs.GroupBy(r => r.Name).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (repeated is not null)
        {
            throw new UsageException($"--compare: '{repeated}' is given twice; each entry names one run, so give it once.");
        }

        return runs;
    }

    internal static double EvalInterval(double value) =>
        (value > 0 && value <= 1) || (value > 1 && value <= 10_000 && value == Math.Floor(value))
            ? value
            : throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--eval-every: '{value}' must be a share of an epoch in (0, 1] (e.g. 0.25) or a whole number of epochs (e.g. 2)."));

    internal static ulong[] ParseSeeds(TrainingSettings s)
    {
        if (s.Seeds is null)
        {
            return new[] { (ulong)s.Seed };
        }

        string[] parts = Text("--seeds", s.Seeds).Split(',', StringSplitOptions.TrimEntries);
        var seeds = new List<ulong>();
        foreach (string part in parts)
        {
            if (!ulong.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed) || seed > int.MaxValue)
            {
                throw new UsageException($"--seeds: '{part}' in '{s.Seeds}' is not a whole number from 0 to {int.MaxValue}; give a comma-separated list such as 1,2,3.");
            }

            if (seeds.Contains(seed))
            {
                throw new UsageException($"--seeds: {seed} is given twice; each seed is one run of every entry.");
            }

            seeds.Add(seed);
        }

        return seeds.ToArray();
    }

    internal static int ParseSchedule(string value, int epochs)
    {
        Text("--schedule", value);
        if (value == "constant")
        {
            return 0;
        }

        if (value == "ramp")
        {
            return Math.Max(1, epochs / 2);
        }

        if (value.StartsWith("ramp:", StringComparison.Ordinal)
            && int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int ramp) && ramp >= 1)
        {
            return ramp;
        }

        throw new UsageException($"--schedule: '{value}' is not a schedule. Use constant, ramp, or ramp:EPOCHS with EPOCHS >= 1 (e.g. ramp:3).");
    }

    /// <summary>
    /// An option's text. Spectre.Console.Cli 0.57.2 with strict parsing binds the internal name of the default command
    /// to a text option whose value is missing (<c>--data</c> at the end, or <c>--compare --swap</c>) instead of reporting it.
    /// </summary>
    internal static string Text(string name, string value) =>
        value == MissingValueSentinel ? throw new UsageException($"{name} needs a value.") : value;

    internal const string MissingValueSentinel = "__default_command";

    internal static string Choice(string name, string value, IEnumerable<string> allowed) =>
        allowed.Contains(Text(name, value)) ? value : throw new UsageException($"{name}: '{value}' is not one of {string.Join(", ", allowed)}.");

    internal static int Integer(string name, int value, int min, int max) =>
        value >= min && value <= max
            ? value
            : throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{name}: '{value}' is not a whole number from {min} to {max}."));

    internal static double Real(string name, double value, double low, double high, bool lowOpen, bool highOpen = false)
    {
        bool ok = !double.IsNaN(value) && (lowOpen ? value > low : value >= low) && (highOpen ? value < high : value <= high);
        return ok
            ? value
            : throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"{name}: '{value}' must be a number in {(lowOpen ? "(" : "[")}{low}, {high}{(highOpen ? ")" : "]")} (use a dot as decimal separator)."));
    }
}
