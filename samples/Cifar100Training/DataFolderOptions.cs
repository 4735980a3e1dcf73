using System;
using System.Globalization;

namespace Cifar100Training;

/// <summary>
/// How <see cref="DataFolder.Read(string, DataFolderOptions, Action{string})"/> reads a --data folder beyond its
/// format: the image size and cache of image folders, and class-balanced subsets (any format). The messages name the
/// trainer's options (--image-size, --train-per-class, --test-per-class, --image-cache).
/// </summary>
internal sealed record DataFolderOptions
{
    /// <summary>The side of the square images the model takes. Only 32 for now: <see cref="CifarData"/> and the CIFAR-stem models are 32x32.</summary>
    public int ImageSize { get; init; } = CifarData.Side;

    /// <summary>Training images per class, drawn by <see cref="Seed"/>; null: every image.</summary>
    public int? TrainPerClass { get; init; }

    /// <summary>Test images per class, drawn by <see cref="Seed"/>; null: every image.</summary>
    public int? TestPerClass { get; init; }

    /// <summary>Seeds the subsets and the order of an image folder's images.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Where image folders' decoded caches go; null: <see cref="ImageCache.DefaultDirectory"/>.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Refuses values no data can satisfy, naming the option.</summary>
    /// <exception cref="UsageException">An image size other than 32, or a per-class count below 1.</exception>
    public void Validate()
    {
        if (ImageSize != CifarData.Side)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--image-size {ImageSize}: the trainer's models and data are {CifarData.Side}x{CifarData.Side}; images of other sizes are resized " +
                $"to {CifarData.Side}x{CifarData.Side} (shorter side to {CifarData.Side}, then the centre). Leave --image-size out or give {CifarData.Side}."));
        }

        foreach (var (option, value) in new[] { ("--train-per-class", TrainPerClass), ("--test-per-class", TestPerClass) })
        {
            if (value is <= 0)
            {
                throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{option} {value}: it must be at least 1 (or left out for every image)."));
            }
        }
    }
}
