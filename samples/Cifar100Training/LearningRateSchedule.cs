using System;

namespace Cifar100Training;

/// <summary>
/// The trainer's learning rate: a linear warm-up from lr / (W x S) to lr over the first W epochs, counted per step
/// (S steps per epoch), then the cosine decay the trainer always used, per epoch, from lr towards 0 over the epochs
/// left. With W = 0 it is exactly the earlier schedule, lr x (1 + cos(pi x epoch / epochs)) / 2. A pure function of
/// (epoch, step), so a resumed run gets the same rates.
/// </summary>
internal static class LearningRateSchedule
{
    public static double At(double learningRate, int epoch, int step, int stepsPerEpoch, int warmupEpochs, int epochs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepsPerEpoch);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupEpochs);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(warmupEpochs, epochs);
        long warmupSteps = (long)warmupEpochs * stepsPerEpoch;
        long global = ((long)epoch * stepsPerEpoch) + step;
        if (global < warmupSteps)
        {
            return learningRate * (global + 1) / warmupSteps;
        }

        int decayEpochs = epochs - warmupEpochs;
        return learningRate * 0.5 * (1 + Math.Cos(Math.PI * (epoch - warmupEpochs) / decayEpochs));
    }
}
