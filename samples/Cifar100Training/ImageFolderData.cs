using System.Collections.Generic;

namespace Cifar100Training;

/// <summary>
/// An image folder as read: both splits in an order drawn from the seed, the class names (label i is Classes[i]) and
/// each image's file (relative to the data folder) in the same order as the split.
/// </summary>
internal sealed record ImageFolderData(CifarData Train, CifarData Test, IReadOnlyList<string> Classes, IReadOnlyList<string> TrainFiles, IReadOnlyList<string> TestFiles);
