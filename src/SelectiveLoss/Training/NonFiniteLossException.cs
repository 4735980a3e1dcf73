using System;
using SelectiveLoss.Numerics;

namespace SelectiveLoss.Training;

/// <summary>
/// Thrown when a step's loss or gradients are NaN or infinite, before the optimiser uses them: by
/// <see cref="SelectiveStep.Step"/> (loss and gradients; the optimiser step is skipped, and the model, the optimiser and
/// the selection state are left as they were) and by <see cref="BatchSelector.Loss"/> (the kept samples' losses; call
/// <see cref="BatchSelector.Rollback"/> to retry or skip the batch). A NaN is never trained on silently.
/// </summary>
/// <remarks>Usual causes: the run diverged (a learning rate too high), the batch holds NaN or infinity, or the CPU's
/// arithmetic is wrong. Before it is thrown the numerics check runs again (<see cref="NumericsCheck.Recheck"/>), and the
/// message says what it found: <see cref="NumericsMitigated"/> is true when the CPU was the cause and is now mitigated.</remarks>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public NonFiniteLossException()
        : base("The loss is not finite.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was not finite.</param>
    public NonFiniteLossException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">What was not finite.</param>
    /// <param name="innerException">The cause.</param>
    public NonFiniteLossException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a NaN seen by a loop of your own, with what the numerics check found when it ran
    /// again (<see cref="NumericsCheck.Recheck"/>); its finding is appended to the message.</summary>
    /// <param name="what">What was not finite, for example <c>the training loss is NaN at epoch 3.</c></param>
    /// <param name="recheck">The result of <see cref="NumericsCheck.Recheck"/>, or null when it did not run.</param>
    public NonFiniteLossException(string what, NumericsCheckResult? recheck)
        : this(double.NaN, 0, 0, what, recheck)
    {
    }

    internal NonFiniteLossException(double loss, int nonFiniteGradients, int nonFiniteSamples, string what, NumericsCheckResult? recheck)
        : base(what + " " + Cause(recheck))
    {
        Loss = loss;
        NonFiniteGradients = nonFiniteGradients;
        NonFiniteSamples = nonFiniteSamples;
        Recheck = recheck;
    }

    /// <summary>Gets what the numerics check found when it ran again on this NaN (<see cref="NumericsCheck.Recheck"/>), or
    /// null when it did not run (switched off).</summary>
    public NumericsCheckResult? Recheck { get; }

    /// <summary>Gets a value indicating whether the check, run again, found LibTorch's convolutions wrong and made them
    /// right: the NaN came from this CPU, and retrying the step (or the run from its last checkpoint) is worth it.</summary>
    public bool NumericsMitigated => Recheck is { Passed: true, Faults.Count: > 0 };

    /// <summary>Gets the loss that was checked (NaN or infinite when the loss itself was the problem), or NaN when unknown.</summary>
    public double Loss { get; } = double.NaN;

    /// <summary>Gets how many parameter tensors had a NaN or infinite gradient (0 when only the loss was checked).</summary>
    public int NonFiniteGradients { get; }

    /// <summary>Gets how many kept samples had a NaN or infinite loss (0 when not counted).</summary>
    public int NonFiniteSamples { get; }

    private static string Cause(NumericsCheckResult? recheck) => recheck switch
    {
        null => "Usual causes: the run diverged (a learning rate too high), the batch holds NaN or infinity, or this CPU's " +
            "arithmetic is wrong (SelectiveLoss.Numerics.NumericsCheck is switched off; docs/numerics.md).",
        { Passed: true, Faults.Count: > 0 } => "The numerics check, run again, found LibTorch's convolutions wrong on this CPU and " +
            $"made them right ({recheck}): retry the step.",
        { Passed: true } => "The numerics check, run again, found LibTorch's convolutions right, so the likely cause is elsewhere: " +
            "the run diverged (a learning rate too high) or the batch holds NaN or infinity.",
        _ => "The numerics check, run again, found LibTorch's convolutions wrong on this CPU and nothing made them right: " +
            $"training is refused from now on ({recheck}). Start the process with DNNL_MAX_CPU_ISA=AVX (docs/numerics.md).",
    };
}
