using System;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Cifar100Training;

/// <summary>
/// Failures on purpose, for the trainer's tests. <c>CIFAR_TRAINER_INJECT_FAULT=RUN@EPOCH:BATCH[xCOUNT]</c> (for example
/// <c>random@2:3x1</c>, 1-based epoch, 0-based batch, COUNT times, default once per process) makes that batch of that
/// run throw the <see cref="ExternalException"/> TorchSharp's native errors arrive as; <c>CIFAR_TRAINER_INJECT_NAN</c>,
/// of the same form, fills that batch's images with NaN, as wrong arithmetic would. Unset, they do nothing.
/// </summary>
internal sealed class FaultInjection
{
    public const string Variable = "CIFAR_TRAINER_INJECT_FAULT";
    public const string NanVariable = "CIFAR_TRAINER_INJECT_NAN";
    private readonly string variable;
    private readonly string? run;
    private readonly int epoch;
    private readonly int batch;
    private int left;

    private FaultInjection(string variable, string? run, int epoch, int batch, int count)
    {
        this.variable = variable;
        this.run = run;
        this.epoch = epoch;
        this.batch = batch;
        left = count;
    }

    /// <summary>Reads the variable once (a malformed value is refused with a message naming it).</summary>
    /// <exception cref="UsageException">The variable is set but malformed.</exception>
    public static FaultInjection FromEnvironment(string variable)
    {
        string? value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(value))
        {
            return new FaultInjection(variable, null, 0, 0, 0);
        }

        Match m = Regex.Match(value, @"^(?<run>[^@]+)@(?<epoch>\d+):(?<batch>\d+)(x(?<count>\d+))?$");
        if (!m.Success)
        {
            throw new UsageException($"{variable}='{value}' is not RUN@EPOCH:BATCH[xCOUNT] (e.g. random@2:3x1); unset it to train normally.");
        }

        int Number(string group, int fallback) => m.Groups[group].Success ? int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture) : fallback;
        return new FaultInjection(variable, m.Groups["run"].Value, Number("epoch", 1), Number("batch", 0), Number("count", 1));
    }

    /// <summary>Whether this batch is the one to fail (counted: true at most COUNT times).</summary>
    public bool Fires(string runName, int epochIndex, int batchIndex)
    {
        if (left > 0 && runName == run && epochIndex + 1 == epoch && batchIndex == batch)
        {
            left--;
            return true;
        }

        return false;
    }

    /// <summary>Throws if this batch is the one to fail.</summary>
    /// <exception cref="ExternalException">The injected failure.</exception>
    public void At(string runName, int epochIndex, int batchIndex)
    {
        if (Fires(runName, epochIndex, batchIndex))
        {
#pragma warning disable CA2201 // the very type TorchSharp's native errors arrive as
            throw new ExternalException($"Injected by {variable}: Expected false to be true ... Exception raised from toLong at c10/core/Scalar.h:140");
#pragma warning restore CA2201
        }
    }
}
