namespace Cifar100Training;

/// <summary>How --label-noise replaces a label (the two kinds of Co-teaching, Han et al. 2018).</summary>
internal enum NoiseType
{
    /// <summary>By one of the other K - 1 classes, drawn uniformly: never the true class.</summary>
    Symmetric,

    /// <summary>Class c by class (c + 1) mod K.</summary>
    Pair,
}
