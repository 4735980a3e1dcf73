using System;
using System.Diagnostics;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>
/// <see cref="StepExecution.Masked"/>, the reference: one forward with gradients over the whole batch, whose per-sample
/// losses also score it (the exact scores, whatever the score source remembers), then the kept samples' weighted loss.
/// </summary>
internal sealed class MaskedExecution(Module<Tensor, Tensor> model, Updater updater, BatchSelector selector) : IStepExecution
{
    public StepExecution Kind => StepExecution.Masked;

    public (SelectedBatch Selected, TrainingOutcome Outcome, TimeSpan Scoring) Run(Tensor input, Tensor target, Tensor? sampleIds)
    {
        long n = BatchChecks.Batch(input, target);
        selector.CheckIds(sampleIds, n);
        selector.BeginUndo();
        model.train();
        Tensor perSample = selector.LossFunction.PerSample(model.forward(input), target, n);
        SelectedBatch selected = selector.SelectFromGraph(input, target, sampleIds, perSample);
        Tensor loss = selector.LossCheckedByTheUpdate(selected, perSample.index_select(0, selected.Positions));
        updater.Run(loss);
        return (selected, new TrainingOutcome(loss, selected.KeptCount, Accumulated: false), TimeSpan.Zero);
    }
}
