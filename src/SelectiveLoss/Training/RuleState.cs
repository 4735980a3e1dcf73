using System.IO;
using SelectiveLoss.Selection;

namespace SelectiveLoss.Training;

/// <summary>A stateful rule's state as bytes (null for a rule without state), and back.</summary>
internal static class RuleState
{
    public static byte[]? Save(ISelectionRule rule)
    {
        if (rule is not IStatefulSelectionRule stateful)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            stateful.SaveState(writer);
        }

        return buffer.ToArray();
    }

    /// <exception cref="InvalidDataException">The rule refuses the bytes (and then changed nothing).</exception>
    public static void Load(ISelectionRule rule, byte[] state)
    {
        using var stream = new MemoryStream(state);
        using var reader = new BinaryReader(stream);
        ((IStatefulSelectionRule)rule).LoadState(reader);
    }
}
