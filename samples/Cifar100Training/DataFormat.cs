namespace Cifar100Training;

/// <summary>Where the images come from; decides the class count and the default augmentation.</summary>
internal enum DataFormat
{
    /// <summary>Generated CIFAR-shaped data, 100 classes (no --data).</summary>
    Synthetic,

    /// <summary>The CIFAR-100 binary version: train.bin, test.bin; 100 fine classes.</summary>
    Cifar100,

    /// <summary>The CIFAR-10 binary version: data_batch_1.bin to data_batch_5.bin, test_batch.bin; 10 classes.</summary>
    Cifar10,

    /// <summary>MNIST-format IDX files (28x28 grey, labels 0 to 9), padded to 32x32 and repeated to 3 channels; 10 classes.</summary>
    Idx,

    /// <summary>Class folders of JPEG and PNG images (train/&lt;class&gt;/*, test/&lt;class&gt;/* or val/&lt;class&gt;/*), decoded to 32x32 RGB; as many classes as folders.</summary>
    ImageFolder,
}
