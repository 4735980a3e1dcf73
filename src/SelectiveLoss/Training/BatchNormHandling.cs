using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using SelectiveLoss.Normalization;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>
/// Everything a selection does about batch coupling, in one place: the check at construction (refuse or warn, once),
/// the mode of a scoring pass, whether remembered scores may mix in training losses, and keeping BatchNorm's running
/// statistics where the whole-batch scoring pass set them while the kept samples train.
/// </summary>
/// <remarks>
/// The running statistics are held by setting every BatchNorm's momentum to 0 for the training forward (its exponential
/// average then leaves them exactly as they were; <c>num_batches_tracked</c> is put back too). Nothing is written into
/// a buffer that autograd saved, so the hold can end right after the forward, before the caller's backward: that is
/// what lets a caller's own loop keep the statistics of the whole batch.
/// </remarks>
internal sealed class BatchNormHandling
{
    private readonly List<BatchNorm> norms;
    private readonly BatchNormStatistics statistics;
    private readonly List<string> diagnostics = new();
    private (double? Momentum, Tensor? Tracked)[]? held;
    private bool warned;

    /// <exception cref="InvalidOperationException">The model couples samples and <paramref name="policy"/> is
    /// <see cref="CouplingPolicy.Refuse"/>.</exception>
    public BatchNormHandling(Module<Tensor, Tensor> model, CouplingPolicy policy, BatchNormStatistics statistics, bool checkCoupling)
    {
        this.statistics = statistics;
        IReadOnlyList<string> coupling = checkCoupling ? CouplingInTrainingMode(model) : Array.Empty<string>();
        Coupled = coupling.Count > 0;
        if (Coupled && policy == CouplingPolicy.Refuse)
        {
            throw new InvalidOperationException(
                $"The model couples the samples of a batch in training mode ({Describe(coupling)}), so training the kept samples " +
                "as a smaller batch would not compute the same update as the masked loss. Replace BatchNorm with GroupNorm " +
                "(NormalizationSwapper.ReplaceBatchNorm(model)) or build the model with a GroupNorm norm_layer, " +
                "or set CouplingPolicy.Warn to train anyway.");
        }

        if (Coupled)
        {
            diagnostics.Add(
                $"The model couples samples in training mode ({Describe(coupling)}): a rebatched step trains the kept samples " +
                "with their own batch statistics, so its update differs from the masked loss's. " +
                (statistics == BatchNormStatistics.WholeBatch
                    ? "Running statistics are estimated from the whole batch by a training-mode scoring pass (where one runs). "
                    : "Scoring runs in eval mode, so running statistics are estimated from the trained samples. ") +
                "Swap BatchNorm for GroupNorm to make the step exact.");
        }

        // Every BatchNorm, coupled or not checked (masked execution): their running statistics are what a rolled-back
        // step puts back.
        norms = model.modules().OfType<BatchNorm>().ToList();
    }

    /// <summary>Gets a value indicating whether the model couples samples in training mode (checked once).</summary>
    public bool Coupled { get; }

    /// <summary>Gets the messages about exactness, each given once.</summary>
    public IReadOnlyList<string> Diagnostics => diagnostics;

    /// <summary>
    /// Gets a value indicating whether training losses may be remembered as scores next to scoring-pass losses: only
    /// when the model does not couple samples (a coupled model's training forward normalises with the kept samples'
    /// own statistics, its scoring passes with running statistics).
    /// </summary>
    public bool TrainingLossesAreScores => !Coupled;

    /// <summary>Whether a scoring pass over <paramref name="wholeBatch"/> (every sample of the batch) runs in training
    /// mode: only on a coupled model whose running statistics come from the whole batch, for a fresh full pass.</summary>
    public bool ScoresInTrainingMode(bool wholeBatch, ScoreSource source) =>
        Coupled && wholeBatch && source == ScoreSource.Fresh && statistics == BatchNormStatistics.WholeBatch;

    /// <summary>Warns once through the trace that the model couples samples.</summary>
    public void WarnOnce()
    {
        if (Coupled && !warned)
        {
            warned = true;
            Trace.TraceWarning(diagnostics[0]);
        }
    }

    /// <summary>Holds the running statistics as they are until <see cref="Release"/>: the next training forward
    /// normalises with its own batch but does not move them.</summary>
    public void Hold()
    {
        Release();
        if (norms.Count == 0)
        {
            return;
        }

        held = new (double?, Tensor?)[norms.Count];
        for (int i = 0; i < norms.Count; i++)
        {
            BatchNorm norm = norms[i];
            held[i] = (norm.momentum, norm.num_batches_tracked?.detach().clone().DetachFromDisposeScope());
            norm.momentum = 0.0;
        }
    }

    /// <summary>Ends a <see cref="Hold"/>: momentum and <c>num_batches_tracked</c> as they were. Does nothing when
    /// nothing is held; safe to call more than once.</summary>
    public void Release()
    {
        if (held is null)
        {
            return;
        }

        using (no_grad())
        {
            for (int i = 0; i < norms.Count; i++)
            {
                norms[i].momentum = held[i].Momentum;
                if (held[i].Tracked is { } tracked)
                {
                    norms[i].num_batches_tracked?.copy_(tracked);
                    tracked.Dispose();
                }
            }
        }

        held = null;
    }

    /// <summary>Copies of every BatchNorm's running statistics (empty on a model that does not couple samples), for
    /// <see cref="Restore"/> when a step is rolled back.</summary>
    public List<Tensor> Snapshot()
    {
        var saved = new List<Tensor>(norms.Count * 3);
        foreach (BatchNorm norm in norms)
        {
            foreach (Tensor? buffer in new[] { norm.running_mean, norm.running_var, norm.num_batches_tracked })
            {
                if (buffer is not null)
                {
                    saved.Add(buffer.detach().clone().DetachFromDisposeScope());
                }
            }
        }

        return saved;
    }

    /// <summary>Puts back what <see cref="Snapshot"/> copied (and ends any hold).</summary>
    public void Restore(List<Tensor> saved)
    {
        Release();
        int i = 0;
        using var noGrad = no_grad();
        foreach (BatchNorm norm in norms)
        {
            foreach (Tensor? buffer in new[] { norm.running_mean, norm.running_var, norm.num_batches_tracked })
            {
                if (buffer is not null)
                {
                    buffer.copy_(saved[i++]);
                }
            }
        }
    }

    private static IReadOnlyList<string> CouplingInTrainingMode(Module<Tensor, Tensor> model)
    {
        bool wasTraining = model.training;
        model.train();
        try
        {
            return BatchCoupling.Find(model);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private static string Describe(IReadOnlyList<string> paths) =>
        string.Join(", ", paths.Take(5).Select(p => p.Length == 0 ? "<root>" : p)) + (paths.Count > 5 ? $" and {paths.Count - 5} more" : string.Empty);
}
