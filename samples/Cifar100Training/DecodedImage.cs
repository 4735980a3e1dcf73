namespace Cifar100Training;

/// <summary>What <see cref="ImageDecoder.Decode"/> found in a file: its channels and its size before any resize.</summary>
internal readonly record struct DecodedImage(SourceChannels Channels, int Width, int Height);
