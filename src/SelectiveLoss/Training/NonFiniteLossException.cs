using System;

namespace SelectiveLoss.Training;

/// <summary>
/// Thrown when a step's loss or gradients are NaN or infinite, before the optimiser uses them: by
/// <see cref="SelectiveStep.Step"/> (loss and gradients; the optimiser step is skipped, and the model, the optimiser and
/// the selection state are left as they were) and by <see cref="BatchSelector.Loss"/> (the kept samples' losses; call
/// <see cref="BatchSelector.Rollback"/> to retry or skip the batch). A NaN is never trained on silently.
/// </summary>
/// <remarks>Usual causes: the run diverged (a learning rate too high), the batch holds NaN or infinity, or the CPU's
/// arithmetic is wrong (see <see cref="Numerics.NumericsCheck"/>).</remarks>
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

    internal NonFiniteLossException(double loss, int nonFiniteGradients, int nonFiniteSamples, string what)
        : base(what + " Usual causes: the run diverged (a learning rate too high), the batch holds NaN or infinity, or this " +
            "CPU's arithmetic is wrong (SelectiveLoss.Numerics.NumericsCheck; docs/numerics.md).")
    {
        Loss = loss;
        NonFiniteGradients = nonFiniteGradients;
        NonFiniteSamples = nonFiniteSamples;
    }

    /// <summary>Gets the loss that was checked (NaN or infinite when the loss itself was the problem), or NaN when unknown.</summary>
    public double Loss { get; } = double.NaN;

    /// <summary>Gets how many parameter tensors had a NaN or infinite gradient (0 when only the loss was checked).</summary>
    public int NonFiniteGradients { get; }

    /// <summary>Gets how many kept samples had a NaN or infinite loss (0 when not counted).</summary>
    public int NonFiniteSamples { get; }
}
