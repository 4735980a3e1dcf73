using Xunit;

namespace SelectiveLoss.Tests;

/// <summary>
/// TorchSharp's native library is process-wide state (thread settings, default dtype, the random generator), so every
/// test that touches torch joins this collection and runs on its own, never beside another torch test.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    /// <summary>The collection name to put in <c>[Collection(TorchCollection.Name)]</c>.</summary>
    public const string Name = "torch";
}
