namespace Cifar100Training;

/// <summary>What a decoded image held before it was brought to RGB.</summary>
internal enum SourceChannels
{
    /// <summary>Colour without transparency (RGB, YCbCr JPEG, an opaque palette): taken as it is.</summary>
    Colour,

    /// <summary>Grey (one channel): the grey repeated to R, G and B.</summary>
    Grey,

    /// <summary>An alpha channel (RGBA, grey with alpha, a palette with transparency): the alpha dropped, the colour kept unpremultiplied, as Pillow's <c>convert("RGB")</c> does.</summary>
    Alpha,
}
