using System;
using System.Collections.Generic;
using System.Linq;
using SelectiveLoss.Selection;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelectiveLoss.Training;

/// <summary>The argument checks of the selector and the step, made before any work.</summary>
internal static class BatchChecks
{
    /// <summary>The batch size of (input, target).</summary>
    /// <exception cref="ArgumentException">No batch dimension, an empty batch, or sizes that differ.</exception>
    public static long Batch(Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.dim() == 0 || target.dim() == 0)
        {
            throw new ArgumentException(
                $"input and target need a batch dimension, but have shapes [{string.Join(", ", input.shape)}] and " +
                $"[{string.Join(", ", target.shape)}].", input.dim() == 0 ? nameof(input) : nameof(target));
        }

        long n = input.shape[0];
        if (n == 0)
        {
            throw new ArgumentException("The batch is empty (input has 0 samples); a step needs at least one sample.", nameof(input));
        }

        if (target.shape[0] != n)
        {
            throw new ArgumentException(
                $"input has {n} samples but target has {target.shape[0]}; they must have the same size along dimension 0.",
                nameof(target));
        }

        return n;
    }

    /// <summary>The ids on the host, checked; null when none were given and none are needed.</summary>
    /// <exception cref="ArgumentException">Ids missing while <paramref name="needed"/>, of the wrong shape or type,
    /// duplicated, negative or not below the dataset size.</exception>
    public static long[]? Ids(Tensor? sampleIds, long n, long? datasetSize, bool needed, string rule, ScoreSource scores)
    {
        if (sampleIds is null)
        {
            return needed
                ? throw new ArgumentException(
                    $"Rule {rule} with {scores} scores needs sampleIds: the dataset index of each sample, so its score can be " +
                    "remembered across steps and epochs. Pass them, or use ScoreSource.Fresh.", nameof(sampleIds))
                : null;
        }

        if (sampleIds.dim() != 1 || sampleIds.shape[0] != n)
        {
            throw new ArgumentException(
                $"sampleIds must be 1-D with one id per sample ([{n}]), but has shape [{string.Join(", ", sampleIds.shape)}].",
                nameof(sampleIds));
        }

        if (sampleIds.is_floating_point() || sampleIds.is_complex() || sampleIds.dtype == ScalarType.Bool)
        {
            throw new ArgumentException($"sampleIds must be an integer tensor, but its dtype is {sampleIds.dtype}.", nameof(sampleIds));
        }

        long[] ids = ToArray(sampleIds);
        long limit = datasetSize ?? ScoreMemory.MaxId + 1;
        var seen = new HashSet<long>();
        foreach (long id in ids)
        {
            if (id < 0 || id >= limit)
            {
                string range = datasetSize is long s ? $"[0, {s})" : $"dataset indices in [0, {limit})";
                throw new ArgumentException($"sampleIds holds {id}, but ids must be {range}.", nameof(sampleIds));
            }

            if (!seen.Add(id))
            {
                throw new ArgumentException(
                    $"sampleIds holds {id} more than once; each sample of a batch needs its own dataset id.", nameof(sampleIds));
            }
        }

        return ids;
    }

    /// <exception cref="ArgumentException">A trainable parameter of the model is not in the optimiser.</exception>
    public static void OptimizerCoversModel(Module<Tensor, Tensor> model, optim.Optimizer optimizer)
    {
        // TorchSharp hands out the registered Parameter objects themselves, so identity is reference identity.
        var optimised = new HashSet<Tensor>(optimizer.parameters(), ReferenceEqualityComparer.Instance);
        var missing = model.named_parameters()
            .Where(p => p.parameter.requires_grad && !optimised.Contains(p.parameter))
            .Select(p => p.name)
            .ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"The optimiser does not update {missing.Count} trainable parameter(s) of the model: {string.Join(", ", missing.Take(8))}" +
                (missing.Count > 8 ? ", ..." : string.Empty) + ". Build the optimiser from model.parameters() after any " +
                "change to the model (such as NormalizationSwapper.ReplaceBatchNorm), or set requires_grad = false on " +
                "parameters you mean to freeze.", nameof(optimizer));
        }
    }

    /// <exception cref="ArgumentOutOfRangeException">An option is not defined or out of range.</exception>
    /// <exception cref="ArgumentException">The rule needs the epoch count and it is not set.</exception>
    public static void Options(BatchSelectorOptions options, ISelectionRule rule)
    {
        if (options.Scores is { } scores && !Enum.IsDefined(scores))
        {
            throw new ArgumentOutOfRangeException(nameof(options), scores, "options.Scores must be Fresh, Cached or LastTrainingLoss.");
        }

        if (options.Reduction is { } r && !Enum.IsDefined(r))
        {
            throw new ArgumentOutOfRangeException(nameof(options), r, "options.Reduction must be Mean or Sum.");
        }

        if (options.TotalEpochs is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.TotalEpochs, "options.TotalEpochs must be at least 1.");
        }

        if (options.DatasetSize is < 1 or > ScoreMemory.MaxId + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.DatasetSize, $"options.DatasetSize must be in [1, {ScoreMemory.MaxId + 1}].");
        }

        if (rule.NeedsTotalEpochs && options.TotalEpochs is null)
        {
            throw new ArgumentException(
                $"Rule {rule.Name} needs the number of epochs of the run (it anneals to full data at the end): set TotalEpochs in the options.",
                nameof(options));
        }

        if (options is SelectiveStepOptions step)
        {
            if (!Enum.IsDefined(step.Execution))
            {
                throw new ArgumentOutOfRangeException(nameof(options), step.Execution, "options.Execution must be Masked or Rebatched.");
            }

            if (step.AccumulateToBatchSize is { } accumulate)
            {
                if (accumulate < 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(options), accumulate, "options.AccumulateToBatchSize must be at least 1, or null to train on each batch's selection.");
                }

                if (step.Execution == StepExecution.Masked)
                {
                    throw new ArgumentOutOfRangeException(nameof(options), accumulate,
                        "options.AccumulateToBatchSize needs StepExecution.Rebatched: a masked step trains on the graph of the batch it was given.");
                }
            }
        }
    }

    /// <summary>Integer positions or ids on the host, in one small copy.</summary>
    public static long[] ToArray(Tensor indices)
    {
        using var scope = NewDisposeScope();
        return indices.to(ScalarType.Int64).cpu().data<long>().ToArray();
    }
}
