using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace SelectiveLoss.Models;

/// <summary>
/// What <see cref="StateDicts.load_state_dict"/> did: which keys it loaded, which it left as they were and why. PyTorch's
/// <c>load_state_dict</c> returns the missing and unexpected keys; this adds the shape mismatches it skipped, the keys it
/// renamed from torchvision's old DenseNet names, the tensors it converted to the model's dtype, and the
/// <c>num_batches_tracked</c> counters it set to 0 because the file predates them.
/// </summary>
public sealed class StateDictLoadReport
{
    private const int MaxListed = 10;

    internal StateDictLoadReport(string path, IReadOnlyList<string> loaded, IReadOnlyList<string> missing,
        IReadOnlyList<string> unexpected, IReadOnlyList<StateDictShapeMismatch> shapeMismatches,
        IReadOnlyDictionary<string, string> renamed, IReadOnlyList<string> converted, IReadOnlyList<string> defaulted)
    {
        Path = path;
        LoadedKeys = loaded;
        MissingKeys = missing;
        UnexpectedKeys = unexpected;
        ShapeMismatches = shapeMismatches;
        RenamedKeys = renamed;
        ConvertedKeys = converted;
        DefaultedKeys = defaulted;
    }

    /// <summary>Gets the file that was read.</summary>
    public string Path { get; }

    /// <summary>Gets the model's keys whose values now come from the file, in the model's state_dict order.</summary>
    public IReadOnlyList<string> LoadedKeys { get; }

    /// <summary>Gets the model's keys the file does not have; they keep their values (empty after a strict load).</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>Gets the file's keys the model does not have; they were ignored (empty after a strict load).</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>
    /// Gets the keys skipped because the file's shape differs from the model's (only with
    /// <c>ignore_mismatched_sizes: true</c>; otherwise a mismatch is an error). Those parameters keep their values.
    /// </summary>
    public IReadOnlyList<StateDictShapeMismatch> ShapeMismatches { get; }

    /// <summary>
    /// Gets the file's keys that were renamed as torchvision renames its published DenseNet checkpoints
    /// (<c>denselayer1.norm.1.weight</c> to <c>denselayer1.norm1.weight</c>), from the file's name to the model's.
    /// </summary>
    public IReadOnlyDictionary<string, string> RenamedKeys { get; }

    /// <summary>Gets the loaded keys whose tensors were converted to the model's floating-point dtype (for example
    /// float16 in the file, float32 in the model).</summary>
    public IReadOnlyList<string> ConvertedKeys { get; }

    /// <summary>
    /// Gets the BatchNorm <c>num_batches_tracked</c> counters the file lacks although it has the layer's running
    /// statistics, as checkpoints written before PyTorch 0.4.1 do (torchvision's DenseNet files among them): set to 0,
    /// as PyTorch's BatchNorm does for such files.
    /// </summary>
    public IReadOnlyList<string> DefaultedKeys { get; }

    /// <summary>Summarises the load: counts, then the keys that were not loaded.</summary>
    /// <returns>A human-readable summary.</returns>
    public override string ToString()
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture,
                $"Loaded {LoadedKeys.Count} tensor(s) from '{Path}' ({RenamedKeys.Count} renamed from torchvision's old DenseNet " +
                $"names, {ConvertedKeys.Count} converted to the model's dtype, {DefaultedKeys.Count} num_batches_tracked set to 0)."),
        };
        if (ShapeMismatches.Count > 0)
        {
            lines.Add($"Skipped, shapes differ ({ShapeMismatches.Count}): " + List(ShapeMismatches.Select(m => m.ToString())));
        }

        if (MissingKeys.Count > 0)
        {
            lines.Add($"Missing from the file, left as they were ({MissingKeys.Count}): " + List(MissingKeys));
        }

        if (UnexpectedKeys.Count > 0)
        {
            lines.Add($"Not in the model, ignored ({UnexpectedKeys.Count}): " + List(UnexpectedKeys));
        }

        return string.Join(Environment.NewLine, lines);
    }

    internal static string List(IEnumerable<string> items)
    {
        var all = items.ToList();
        return string.Join(", ", all.Take(MaxListed)) +
            (all.Count > MaxListed ? string.Create(CultureInfo.InvariantCulture, $", ... and {all.Count - MaxListed} more") : string.Empty);
    }
}
