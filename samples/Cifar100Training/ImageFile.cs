namespace Cifar100Training;

/// <summary>One image of an image folder: its path relative to the data folder ('/'-separated, <c>train/cat/0001.jpg</c>), what the cache's fingerprint records of it, and its label.</summary>
internal readonly record struct ImageFile(string RelativePath, string FullPath, long Length, long LastWriteTicks, int Label);
