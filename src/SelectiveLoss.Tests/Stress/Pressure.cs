namespace SelectiveLoss.Tests.Stress;

/// <summary>How <see cref="FinalizerPressure"/> makes the garbage collector run beside the loop.</summary>
internal enum Pressure
{
    /// <summary>A thread forcing gen-0 collections (a full one in 16) and waiting for the finalizers after each: the most
    /// collections per second, so the race shows within seconds.</summary>
    Forced,

    /// <summary>A thread allocating garbage only: collections when the runtime decides, as in a training program whose
    /// other threads allocate. Mitigations that change when the runtime collects are measured under this.</summary>
    Allocation,
}
