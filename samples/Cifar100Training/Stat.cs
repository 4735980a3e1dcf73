using System;
using System.Collections.Generic;
using System.Linq;

namespace Cifar100Training;

/// <summary>The mean and sample standard deviation of the values that exist (NaN when none; standard deviation 0 for one).</summary>
internal readonly record struct Stat(double Mean, double Std, int Count)
{
    public static Stat Of(IEnumerable<double?> values)
    {
        double[] v = values.Where(x => x is { } d && !double.IsNaN(d)).Select(x => x!.Value).ToArray();
        if (v.Length == 0)
        {
            return new Stat(double.NaN, double.NaN, 0);
        }

        double mean = v.Average();
        double std = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return new Stat(mean, std, v.Length);
    }
}
