using System.Globalization;

namespace Cifar100Training;

/// <summary>A count with its noun, for messages: "1 image", "3 images", "5,000 images".</summary>
internal static class Plural
{
    public static string Of(long count, string singular, string? plural = null) =>
        string.Create(CultureInfo.InvariantCulture, $"{count:N0} {(count == 1 ? singular : plural ?? singular + "s")}");
}
