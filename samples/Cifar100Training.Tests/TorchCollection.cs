using Xunit;

namespace Cifar100Training.Tests;

/// <summary>Tests that run TorchSharp in this process: one at a time (torch's global seed and thread pool are shared).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    public const string Name = "Torch";
}
