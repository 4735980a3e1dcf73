namespace SelectiveLoss.Models;

/// <summary>Which first layers (the stem) a <see cref="DenseNet"/> puts in front of its dense blocks.</summary>
public enum DenseNetStem
{
    /// <summary>
    /// torchvision's stem for 224x224 images: <c>conv0</c> 7x7 stride 2 (no bias), <c>norm0</c>, <c>relu0</c> and a
    /// 3x3 stride 2 max pool <c>pool0</c>, so the first dense block sees a quarter of the input's resolution.
    /// </summary>
    ImageNet = 0,

    /// <summary>
    /// The stem of the widely used CIFAR DenseNet for 32x32 images: only <c>conv0</c>, 3x3 stride 1 (no bias), and
    /// no <c>norm0</c>, <c>relu0</c> or <c>pool0</c>, so the first dense block sees the full resolution.
    /// </summary>
    Cifar = 1,
}
