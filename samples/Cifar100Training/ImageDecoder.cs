using System;
using System.Globalization;
using System.Linq;
using System.Reflection;
using SkiaSharp;

namespace Cifar100Training;

/// <summary>
/// Decodes one JPEG or PNG file into CIFAR's layout (R, G, B planes of side x side) with SkiaSharp, whose codecs are
/// libjpeg-turbo and libpng, as Pillow's are. Like torchvision's <c>ImageFolder</c> loader (<c>Image.open(f).convert("RGB")</c>):
/// no colour management, no EXIF rotation, grey repeated to three channels, alpha dropped. An image of another size
/// is resized as torchvision's <c>Resize(side)</c> then <c>CenterCrop(side)</c> would: its shorter side to
/// <c>side</c> with Pillow's antialiased bilinear filter (<see cref="BilinearResize"/>), the other side in proportion
/// (rounded down), then the centre side x side (the aspect ratio is kept; what lies outside the centre square is cut).
/// </summary>
internal static class ImageDecoder
{
    /// <summary>Pillow's limit for one image (<c>2 * Image.MAX_IMAGE_PIXELS</c>, where it raises DecompressionBombError).</summary>
    public const long MaxPixels = 2L * 89_478_485;

    /// <summary>The package's version (3.119.4; the assembly version stays 3.119.0.0 across patches, which may update the codecs).</summary>
    private static readonly string SkiaVersion =
        typeof(SKCodec).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(SKCodec).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>What decides the decoded pixels, for the cache's fingerprint: a change here decodes again.</summary>
    public static string Settings(int side) => string.Create(CultureInfo.InvariantCulture,
        $"decoder=SkiaSharp {SkiaVersion} native {SkiaSharpVersion.Native};rgba-unpremul;no-colour-management;" +
        $"no-exif-rotation;alpha-dropped;grey-repeated;resize=torchvision Resize({side})+CenterCrop({side}), Pillow bilinear");

    /// <summary>
    /// Decodes <paramref name="bytes"/> (the file <paramref name="path"/>, named in errors) into
    /// <paramref name="destination"/> (3 x side x side bytes).
    /// </summary>
    /// <exception cref="DataFormatException">The bytes are not a JPEG or PNG image, or a damaged or oversized one.</exception>
    public static DecodedImage Decode(byte[] bytes, string path, int side, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (destination.Length != 3 * side * side)
        {
            throw new ArgumentException($"{destination.Length} bytes do not hold 3 planes of {side}x{side}.", nameof(destination));
        }

        if (bytes.Length == 0)
        {
            throw new DataFormatException($"{path}: the file is empty (0 bytes), not an image. Replace it with the image it should be, or remove it.");
        }

        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data) ?? throw new DataFormatException(Signature(bytes) is { } claimed
            ? $"{path}: a damaged {claimed} image: it starts like one, but its header cannot be read (it starts with {Start(bytes)}). " +
              "Replace it with a good copy, or remove it."
            : $"{path}: not a JPEG or PNG image: no decoder recognises its bytes (it starts with {Start(bytes)}). " +
              "Replace it with the image it should be, or remove it.");
        if (codec.EncodedFormat is not (SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Png))
        {
            throw new DataFormatException($"{path}: a {codec.EncodedFormat.ToString().ToUpperInvariant()} image; image folders are read as JPEG or PNG " +
                "(whatever the file name says). Convert it to PNG or JPEG, or remove it.");
        }

        SKImageInfo found = codec.Info;
        int width = found.Width;
        int height = found.Height;
        if ((long)width * height > MaxPixels)
        {
            throw new DataFormatException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: {width}x{height} pixels, more than the {MaxPixels:N0} Pillow accepts (a decompression bomb, or a photograph far too large " +
                $"for {side}x{side} training). Shrink it first, or remove it."));
        }

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        SKCodecResult result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            string problem = result switch
            {
                SKCodecResult.IncompleteInput => "its data ends early (a download or copy cut short)",
                SKCodecResult.ErrorInInput => "its data is corrupt",
                _ => $"the decoder says {result}",
            };
            throw new DataFormatException($"{path}: a damaged {codec.EncodedFormat.ToString().ToUpperInvariant()} image: {problem}. " +
                "Replace it with a good copy, or remove it.");
        }

        var channels = found.ColorType == SKColorType.Gray8 ? SourceChannels.Grey
            : found.AlphaType != SKAlphaType.Opaque ? SourceChannels.Alpha
            : SourceChannels.Colour;
        ToPlanes(bitmap.GetPixelSpan(), width, height, side, destination);
        return new DecodedImage(channels, width, height);
    }

    /// <summary>torchvision's <c>Resize(side)</c> output size: the shorter side to <paramref name="side"/>, the longer in proportion, rounded down.</summary>
    public static (int Width, int Height) ResizedSize(int width, int height, int side)
    {
        if (width <= height)
        {
            return (side, (int)((double)side * height / width));
        }

        return ((int)((double)side * width / height), side);
    }

    private static void ToPlanes(ReadOnlySpan<byte> rgba, int width, int height, int side, Span<byte> destination)
    {
        var (resizedWidth, resizedHeight) = ResizedSize(width, height, side);
        int top = (int)Math.Round((resizedHeight - side) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((resizedWidth - side) / 2.0, MidpointRounding.ToEven);
        var plane = new byte[width * height];
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < plane.Length; i++)
            {
                plane[i] = rgba[(4 * i) + c];
            }

            byte[] resized = resizedWidth == width && resizedHeight == height
                ? plane
                : BilinearResize.Resize(plane, width, height, resizedWidth, resizedHeight);
            for (int y = 0; y < side; y++)
            {
                resized.AsSpan(((top + y) * resizedWidth) + left, side).CopyTo(destination.Slice((c * side * side) + (y * side), side));
            }
        }
    }

    /// <summary>"PNG" or "JPEG" when the bytes start with that format's signature.</summary>
    private static string? Signature(byte[] bytes) =>
        bytes.AsSpan().StartsWith(PngSignature) ? "PNG" : bytes.AsSpan().StartsWith(JpegSignature) ? "JPEG" : null;

    private static ReadOnlySpan<byte> PngSignature => new byte[] { 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a };

    private static ReadOnlySpan<byte> JpegSignature => new byte[] { 0xff, 0xd8, 0xff };

    /// <summary>The first bytes in hex, and as text when they are printable (an HTML error page saved under an image name).</summary>
    private static string Start(byte[] bytes)
    {
        var head = bytes.Take(16).ToArray();
        string hex = string.Join(' ', head.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        return head.All(b => b is >= 0x20 and < 0x7f or (byte)'\n' or (byte)'\r' or (byte)'\t')
            ? $"{hex}, text \"{System.Text.Encoding.ASCII.GetString(head).ReplaceLineEndings(" ")}\""
            : hex;
    }
}
