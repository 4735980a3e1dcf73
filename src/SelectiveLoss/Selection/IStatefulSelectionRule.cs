using System.IO;
using SelectiveLoss.Training;

namespace SelectiveLoss.Selection;

/// <summary>
/// A selection rule that keeps state between steps (for example, Selective-Backprop's loss history), so that
/// <see cref="SelectiveStep.Save"/> and <see cref="SelectiveStep.Load"/> can checkpoint it and a resumed run selects
/// exactly as an uninterrupted one.
/// </summary>
public interface IStatefulSelectionRule : ISelectionRule
{
    /// <summary>Writes the rule's state.</summary>
    /// <param name="writer">Where to write; the rule writes only its own state.</param>
    void SaveState(BinaryWriter writer);

    /// <summary>Reads the state <see cref="SaveState"/> wrote. It must read exactly what was written, check it, and
    /// change nothing when it throws.</summary>
    /// <param name="reader">Where to read from.</param>
    /// <exception cref="InvalidDataException">The data is not this rule's state.</exception>
    void LoadState(BinaryReader reader);
}
