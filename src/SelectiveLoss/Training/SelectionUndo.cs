using System;
using System.Collections.Generic;
using SelectiveLoss.Selection;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>
/// What one selection may change, recorded before it: the generator's state, the rule's state, the step count and
/// BatchNorm's running statistics (the score memory keeps its own journal). <see cref="BatchSelector.Rollback"/> puts
/// them back.
/// </summary>
internal sealed class SelectionUndo : IDisposable
{
    private readonly Tensor generatorState;
    private readonly byte[]? ruleState;
    private readonly List<Tensor> runningStatistics;

    public SelectionUndo(Generator generator, ISelectionRule rule, long steps, BatchNormHandling norms, ScoreMemory? memory)
    {
        memory?.BeginJournal();
        generatorState = generator.get_state().DetachFromDisposeScope();
        ruleState = RuleState.Save(rule);
        Steps = steps;
        runningStatistics = norms.Snapshot();
    }

    public long Steps { get; }

    /// <summary>Puts everything back; the rule's state first (it may refuse, before anything else changed).</summary>
    public void Apply(Generator generator, ISelectionRule rule, BatchNormHandling norms, ScoreMemory? memory)
    {
        if (ruleState is not null)
        {
            RuleState.Load(rule, ruleState);
        }

        generator.set_state(generatorState);
        memory?.Undo();
        norms.Restore(runningStatistics);
    }

    public void Dispose()
    {
        generatorState.Dispose();
        runningStatistics.ForEach(t => t.Dispose());
    }
}
