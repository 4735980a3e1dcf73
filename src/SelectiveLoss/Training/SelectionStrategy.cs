using SelectiveLoss.Selection;

namespace SelectiveLoss.Training;

/// <summary>How a <see cref="SelectiveStep"/> turns a selection of samples into a parameter update.</summary>
public enum SelectionStrategy
{
    /// <summary>
    /// The original semantics: one forward pass with gradients over the whole batch, per-sample losses,
    /// <see cref="SelectiveLossReducer.Reduce"/>, backward, optimiser step. It is the reference for exactness and saves
    /// nothing: backward still runs over every sample and computes zeros for the dropped ones.
    /// </summary>
    Masked = 0,

    /// <summary>
    /// A scoring forward pass without gradients (no_grad, model in eval mode), selection with the reducer, then
    /// forward and backward on the kept samples only, as a smaller batch. Without batch coupling its update equals
    /// <see cref="Masked"/>'s up to floating-point round-off; with BatchNorm in training mode it does not (the kept
    /// samples are normalised with their own statistics).
    /// </summary>
    Rebatched = 1,

    /// <summary>
    /// Like <see cref="Rebatched"/>, but scores come from a per-sample memory keyed by dataset ids (after
    /// Selective-Backprop's stale variant): samples with a fresh enough score skip the scoring pass, and the training
    /// forward refreshes the kept samples' scores for free. Requires sample ids.
    /// </summary>
    Cached = 2,
}
