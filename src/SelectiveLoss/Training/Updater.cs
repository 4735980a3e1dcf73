using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>The one update of the library's own step (zero_grad, backward, a finiteness check, step), and whether the
/// optimiser step began: until it does, a failed step can be rolled back and retried.</summary>
internal sealed class Updater(optim.Optimizer optimizer)
{
    /// <summary>Gets a value indicating whether <c>optimizer.step()</c> began since <see cref="Reset"/>.</summary>
    public bool Stepped { get; private set; }

    public void Reset() => Stepped = false;

    public void Run(Tensor loss)
    {
        optimizer.zero_grad();
        loss.backward();
        try
        {
            FiniteChecks.LossAndGradients(loss, optimizer.parameters());
        }
        catch (NonFiniteLossException)
        {
            optimizer.zero_grad();
            throw;
        }

        Stepped = true;
        optimizer.step();
    }
}
