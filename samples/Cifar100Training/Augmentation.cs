namespace Cifar100Training;

/// <summary>What <see cref="BatchBuilder"/> does to training images (test images are never augmented).</summary>
internal enum Augmentation
{
    /// <summary>The images as they are.</summary>
    None,

    /// <summary>A random 32x32 crop of the image padded by 4 pixels.</summary>
    Crop,

    /// <summary>The crop, and a horizontal flip with probability 0.5 (not for digits: a flipped digit is another symbol).</summary>
    CropFlip,
}
