using System;
using System.Collections.Generic;
using System.Globalization;

namespace Cifar100Training;

/// <summary>How many images decoding brought to RGB or to the model's size, with the first of each (a relative path) for the log.</summary>
internal sealed record ConversionCounts(int Grey, int Alpha, int Resized, string? GreyExample, string? AlphaExample, string? ResizedExample)
{
    public static readonly ConversionCounts None = new(0, 0, 0, null, null, null);

    /// <summary>The log lines that say what was converted; none when every image was colour and of the model's size.</summary>
    public IEnumerable<string> Describe(int side)
    {
        if (Grey > 0 || Alpha > 0)
        {
            var parts = new List<string>();
            if (Grey > 0)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{Grey:N0} grey (the grey repeated to R, G and B; e.g. {GreyExample})"));
            }

            if (Alpha > 0)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{Alpha:N0} with an alpha channel (alpha dropped, colour kept, as Pillow's convert(\"RGB\"); e.g. {AlphaExample})"));
            }

            yield return $"Converted to RGB: {string.Join(", ", parts)}; every other image is colour.";
        }

        if (Resized > 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture,
                $"Resized {Plural.Of(Resized, "image that is", "images that are")} not {side}x{side} (e.g. {ResizedExample}): shorter side to {side} with Pillow's antialiased " +
                $"bilinear filter, the other in proportion, then the centre {side}x{side} (torchvision's Resize({side}) + CenterCrop({side})).");
        }
    }

    /// <summary>Adds one decoded image; keeps the first example of each kind (the caller adds in file order).</summary>
    public ConversionCounts Add(DecodedImage image, string relativePath, int side)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        bool resized = image.Width != side || image.Height != side;
        return new ConversionCounts(
            Grey + (image.Channels == SourceChannels.Grey ? 1 : 0),
            Alpha + (image.Channels == SourceChannels.Alpha ? 1 : 0),
            Resized + (resized ? 1 : 0),
            GreyExample ?? (image.Channels == SourceChannels.Grey ? relativePath : null),
            AlphaExample ?? (image.Channels == SourceChannels.Alpha ? relativePath : null),
            ResizedExample ?? (resized ? string.Create(CultureInfo.InvariantCulture, $"{relativePath}, {image.Width}x{image.Height}") : null));
    }
}
