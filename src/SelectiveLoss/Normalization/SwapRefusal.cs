namespace SelectiveLoss.Normalization;

/// <summary>One BatchNorm that <see cref="NormalizationSwapper"/> cannot replace, and why.</summary>
/// <param name="Path">Where it is: a <c>named_modules()</c> path, or for a BatchNorm TorchSharp never registered, the
/// owning module's path followed by the C# field name (<c>"block.norms[1]"</c>).</param>
/// <param name="Reason">Why it cannot be replaced and how to make it replaceable.</param>
public sealed record SwapRefusal(string Path, string Reason)
{
    /// <summary>Formats the refusal as <c>path: reason</c>.</summary>
    /// <returns>The path (or <c>(root)</c>) and the reason.</returns>
    public override string ToString() => (Path.Length == 0 ? "(root)" : Path) + ": " + Reason;
}
