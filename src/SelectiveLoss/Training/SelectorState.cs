using System;
using System.IO;
using SelectiveLoss.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>
/// Everything a <see cref="BatchSelector"/> carries between steps, as an in-memory record: epoch and step count, the
/// random generator, the rule's state, the score memory. Read whole and checked before anything is applied.
/// </summary>
internal sealed record SelectorState(string Rule, ScoreSource Scores, int Epoch, long Steps, Tensor Generator, byte[]? RuleState, ScoreMemory? Memory)
    : IDisposable
{
    public void Write(BinaryWriter writer)
    {
        writer.Write(Rule);
        writer.Write((int)Scores);
        writer.Write(Epoch);
        writer.Write(Steps);
        Generator.Save(writer);
        StateFormat.WriteBlock(writer, RuleState is null ? null : w => w.Write(RuleState));
        StateFormat.WriteBlock(writer, Memory is null ? null : w => Memory.Save(w.BaseStream));
    }

    /// <exception cref="InvalidDataException">The data is not a selector's state.</exception>
    /// <exception cref="EndOfStreamException">The data is truncated.</exception>
    public static SelectorState Read(BinaryReader reader, CachePolicy policy)
    {
        string rule = reader.ReadString();
        var scores = (ScoreSource)reader.ReadInt32();
        int epoch = reader.ReadInt32();
        long steps = reader.ReadInt64();
        if (!Enum.IsDefined(scores) || epoch < 0 || steps < 0)
        {
            throw new InvalidDataException($"The saved selection state claims {scores} scores, epoch {epoch} after {steps} steps.");
        }

        Tensor generator = StateFormat.ReadTensor(reader, "generator state");
        try
        {
            byte[]? ruleState = StateFormat.ReadBlock(reader);
            byte[]? memoryState = StateFormat.ReadBlock(reader);
            ScoreMemory? memory = null;
            if (memoryState is not null)
            {
                memory = new ScoreMemory(policy);
                using var stream = new MemoryStream(memoryState);
                memory.Load(stream);
            }

            return new SelectorState(rule, scores, epoch, steps, generator, ruleState, memory);
        }
        catch
        {
            generator.Dispose();
            throw;
        }
    }

    /// <summary>Refuses a state saved by a selector with another rule or score source, or whose parts do not match.</summary>
    /// <exception cref="InvalidDataException">It does not fit.</exception>
    public void CheckFits(Selection.ISelectionRule rule, ScoreSource scores, bool hasMemory)
    {
        if (Rule != rule.Name || Scores != scores)
        {
            throw new InvalidDataException(
                $"The saved selection used rule {Rule} with {Scores} scores; this one uses {rule.Name} with {scores}. " +
                "Resume with the options of the saved run.");
        }

        if ((RuleState is not null) != (rule is Selection.IStatefulSelectionRule) || (Memory is not null) != hasMemory)
        {
            throw new InvalidDataException("The saved selection's rule state or score memory does not match this selector's rule and score source.");
        }
    }

    public void Dispose() => Generator.Dispose();
}
