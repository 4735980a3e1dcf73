using System;
using System.Collections.Generic;

namespace SelectiveLoss.Models;

/// <summary>
/// A key that both a state_dict file and the model have, with different shapes: for example <c>classifier.weight</c>
/// of 1,000-class ImageNet weights ([1000, 1024]) against a 100-class model ([100, 1024]).
/// </summary>
public sealed class StateDictShapeMismatch
{
    internal StateDictShapeMismatch(string key, long[] fileShape, long[] modelShape)
    {
        Key = key;
        FileShape = Array.AsReadOnly(fileShape);
        ModelShape = Array.AsReadOnly(modelShape);
    }

    /// <summary>Gets the model's key (after any renaming of torchvision's old DenseNet key names).</summary>
    public string Key { get; }

    /// <summary>Gets the shape of the tensor in the file.</summary>
    public IReadOnlyList<long> FileShape { get; }

    /// <summary>Gets the shape of the model's parameter or buffer.</summary>
    public IReadOnlyList<long> ModelShape { get; }

    /// <summary>Describes the mismatch, e.g. <c>classifier.weight: the file has [1000, 1024], the model [100, 1024]</c>.</summary>
    /// <returns>The key and both shapes.</returns>
    public override string ToString() =>
        $"{Key}: the file has {NormLayerSource.Format([.. FileShape])}, the model {NormLayerSource.Format([.. ModelShape])}";
}
