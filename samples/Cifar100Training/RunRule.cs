namespace Cifar100Training;

/// <summary>Which samples a run trains on: the first part of a --compare entry.</summary>
internal enum RunRule
{
    /// <summary>full: every sample, a plain step (the baseline).</summary>
    Full,

    /// <summary>lowest: the lowest losses at --keep (the user's rule; co-teaching's small-loss trick with a ramp).</summary>
    Lowest,

    /// <summary>highest: the highest losses at --keep.</summary>
    Highest,

    /// <summary>random: a random subset at --keep, no scoring (the control).</summary>
    Random,

    /// <summary>sb: Selective-Backprop.</summary>
    SelectiveBackprop,

    /// <summary>infobatch: InfoBatch as a sampler (pruned samples are never read).</summary>
    InfoBatch,
}
