using System;
using System.Linq;

namespace Cifar100Training;

/// <summary>
/// One entry of <c>--compare</c>: a rule, optionally with a norm suffix (<c>lowest:group</c>), as written on the command
/// line. <see cref="Name"/> is the entry exactly as written and names the run everywhere (table, summary, metrics);
/// <see cref="Norm"/> is the suffix, or <c>--norm</c> when the entry has none.
/// </summary>
internal sealed record RunSpec(string Name, string Rule, string Norm)
{
    /// <summary>The rules an entry can name, in the order --help lists them.</summary>
    public static readonly string[] Rules = { "full", "lowest", "highest", "sb", "infobatch", "random", "masked", "rebatched", "cached" };

    /// <summary>The norms a suffix (or --norm) can name.</summary>
    public static readonly string[] Norms = { "batch", "group", "group-ws" };

    /// <summary>Gets the run's folder under --output: the name with <c>:</c> replaced by <c>-</c>.</summary>
    public string Folder => Name.Replace(':', '-');

    /// <summary>Gets a value indicating whether the rule has a keep ratio (--keep, and --schedule through SelectionRules.Scheduled).</summary>
    public bool HasKeepRatio => Rule is not ("full" or "sb" or "infobatch");

    /// <summary>Gets a value indicating whether the run trains with a SelectiveStep (every rule but full).</summary>
    public bool Selects => Rule != "full";

    /// <summary>Gets a value indicating whether the model uses GroupNorm (group or group-ws).</summary>
    public bool UsesGroupNorm => Norm is "group" or "group-ws";

    /// <summary>Parses <c>RULE</c> or <c>RULE:NORM</c>; a bad rule or suffix throws naming <paramref name="option"/>.</summary>
    /// <exception cref="UsageException">The rule or the norm suffix is not one of the known names.</exception>
    public static RunSpec Parse(string option, string entry, string defaultNorm)
    {
        ArgumentNullException.ThrowIfNull(entry);
        int colon = entry.IndexOf(':', StringComparison.Ordinal);
        string rule = colon < 0 ? entry : entry[..colon];
        string? norm = colon < 0 ? null : entry[(colon + 1)..];
        if (!Rules.Contains(rule))
        {
            throw new UsageException(
                $"{option}: '{rule}' in '{entry}' is not a rule. Use one of {string.Join(", ", Rules)}, optionally with a norm suffix (e.g. lowest:group).");
        }

        if (norm is not null && !Norms.Contains(norm))
        {
            throw new UsageException(
                $"{option}: '{entry}' has the norm suffix '{norm}'. Use one of {string.Join(", ", Norms)} after the colon (e.g. {rule}:batch), or no suffix for --norm.");
        }

        return new RunSpec(entry, rule, norm ?? defaultNorm);
    }
}
