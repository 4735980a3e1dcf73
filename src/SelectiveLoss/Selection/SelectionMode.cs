namespace SelectiveLoss.Selection;

/// <summary>Which samples of a minibatch a <see cref="SelectiveLossReducer"/> keeps.</summary>
public enum SelectionMode
{
    /// <summary>
    /// The samples with the lowest per-sample loss, as the original <c>topk(loss, r, largest=False)</c>: the
    /// small-loss trick against noisy labels (co-teaching). A NaN loss ranks as the worst and is kept last.
    /// </summary>
    Lowest = 0,

    /// <summary>
    /// The samples with the highest per-sample loss, as in Selective-Backprop: spend the backward pass where the model
    /// is most wrong. A NaN loss is refused, since it would poison the step.
    /// </summary>
    Highest = 1,
}
