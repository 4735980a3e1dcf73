namespace Cifar100Training;

/// <summary>The norm layers of a run's model: an entry's norm part, or --norm.</summary>
internal enum NormKind
{
    /// <summary>batch: BatchNorm (converted to GroupNorm under --swap).</summary>
    Batch,

    /// <summary>group: GroupNorm through norm_layer.</summary>
    Group,

    /// <summary>group-ws: GroupNorm and weight-standardised convolutions.</summary>
    GroupWs,
}
