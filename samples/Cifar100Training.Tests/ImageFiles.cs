using System;
using System.IO;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace Cifar100Training.Tests;

/// <summary>Writes tiny image files for the image-folder tests with SkiaSharp's encoders (no image is committed).</summary>
internal static class ImageFiles
{
    /// <summary>A colour image of width x height whose pixel (x, y) is <paramref name="pixel"/>(x, y), as PNG (RGB) or JPEG by the file's extension.</summary>
    public static string Write(string path, int width, int height, Func<int, int, SKColor> pixel)
    {
        bool jpeg = path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Fill(bitmap, pixel);
        return Save(path, bitmap, jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png);
    }

    /// <summary>A uniform colour image.</summary>
    public static string Write(string path, SKColor colour, int side = 32) => Write(path, side, side, (_, _) => colour);

    /// <summary>A one-channel grey PNG whose pixel (x, y) is <paramref name="grey"/>(x, y).</summary>
    public static string WriteGrey(string path, int side, Func<int, int, byte> grey)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Gray8, SKAlphaType.Opaque));
        Fill(bitmap, (x, y) => new SKColor(grey(x, y), grey(x, y), grey(x, y)));
        return Save(path, bitmap, SKEncodedImageFormat.Png);
    }

    /// <summary>An RGBA PNG, unpremultiplied: every pixel <paramref name="colour"/> with its alpha.</summary>
    public static string WriteRgba(string path, SKColor colour, int side = 32)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Fill(bitmap, (_, _) => colour);
        return Save(path, bitmap, SKEncodedImageFormat.Png);
    }

    /// <summary>A WebP image (under whatever name the test gives it).</summary>
    public static string WriteWebp(string path, SKColor colour)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(32, 32, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Fill(bitmap, (_, _) => colour);
        return Save(path, bitmap, SKEncodedImageFormat.Webp);
    }

    /// <summary>The PNG colour type in a PNG file's header (0 grey, 2 RGB, 6 RGBA), to check what a fixture really holds.</summary>
    public static int PngColourType(string path) => File.ReadAllBytes(path)[25];

    /// <summary>A distinct colour per number, for telling images apart after a shuffle.</summary>
    public static SKColor Colour(int n) => new((byte)(10 + (n * 37 % 240)), (byte)(n * 11 % 256), (byte)(255 - (n * 5 % 256)));

    /// <summary>Writes the pixels' bytes themselves (SetPixel would premultiply: a transparent pixel would lose its colour).</summary>
    private static void Fill(SKBitmap bitmap, Func<int, int, SKColor> pixel)
    {
        bool grey = bitmap.ColorType == SKColorType.Gray8;
        var bytes = new byte[bitmap.Width * bitmap.Height * (grey ? 1 : 4)];
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                SKColor c = pixel(x, y);
                int i = (y * bitmap.Width) + x;
                if (grey)
                {
                    bytes[i] = c.Red;
                }
                else
                {
                    (bytes[4 * i], bytes[(4 * i) + 1], bytes[(4 * i) + 2], bytes[(4 * i) + 3]) = (c.Red, c.Green, c.Blue, c.Alpha);
                }
            }
        }

        Marshal.Copy(bytes, 0, bitmap.GetPixels(), bytes.Length);
    }

    private static string Save(string path, SKBitmap bitmap, SKEncodedImageFormat format)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using SKData data = bitmap.Encode(format, 95) ?? throw new InvalidOperationException($"SkiaSharp could not encode {format}.");
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}
