namespace Cifar100Training;

/// <summary>Every image of an image folder, decoded: the training and the test split in file order (<see cref="CifarData.PixelsPerImage"/> bytes each), and what was converted. What the cache holds.</summary>
internal sealed record DecodedImages(byte[] Train, byte[] Test, ConversionCounts Conversions);
