using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>What training a selection did: the loss backpropagated (null when the samples were set aside), how many
/// samples it trained, and whether they were an accumulated batch.</summary>
internal sealed record TrainingOutcome(Tensor? Loss, int TrainedCount, bool Accumulated)
{
    /// <summary>The samples were set aside to accumulate a full batch; nothing trained.</summary>
    public static TrainingOutcome SetAside { get; } = new(null, 0, Accumulated: true);
}
