using System.Linq;
using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Cifar100Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class BatchBuilderTests
{
    private const int Images = 32;

    [Fact]
    public void Build_None_NormalisedImagesUnchanged()
    {
        var data = Gradient();
        float[] values = Rows(data, Augmentation.None);

        // Pixel x of every row holds 8x + 1 (never the mean, so never 0 after normalisation): every row rises.
        RisingRows(values).Should().Be(Images * 3 * 32);
    }

    [Fact]
    public void Build_Crop_ShiftsButNeverMirrors()
    {
        float[] values = Rows(Gradient(), Augmentation.Crop);

        RisingRows(values).Should().Be(Images * 3 * 32, "a crop shifts the image; it never reverses a row");
    }

    [Fact]
    public void Build_CropFlip_MirrorsSomeImages()
    {
        float[] values = Rows(Gradient(), Augmentation.CropFlip);

        RisingRows(values).Should().BeLessThan(Images * 3 * 32, "about half of the images are flipped");
    }

    /// <summary>A data set whose every row rises from left to right: pixel (x, y) of every channel is 8x + 1.</summary>
    private static CifarData Gradient()
    {
        var pixels = new byte[Images * CifarData.PixelsPerImage];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)((8 * (i % 32)) + 1);
        }

        return new CifarData(pixels, new int[Images], 10, "gradient");
    }

    private static float[] Rows(CifarData data, Augmentation augment)
    {
        using var scope = NewDisposeScope();
        var builder = new BatchBuilder(data);
        int[] all = Enumerable.Range(0, Images).ToArray();
        var (x, _) = builder.Build(data, all, augment, seed: 4, epoch: 0, CPU);
        return x.data<float>().ToArray();
    }

    /// <summary>Rows whose pixels that are not padding never fall from left to right (padding is 0, the mean).</summary>
    private static int RisingRows(float[] values)
    {
        int rising = 0;
        for (int row = 0; row < values.Length / 32; row++)
        {
            float[] inside = values.Skip(row * 32).Take(32).Where(v => v != 0f).ToArray();
            if (inside.Zip(inside.Skip(1)).All(p => p.Second > p.First))
            {
                rising++;
            }
        }

        return rising;
    }
}
