using System.Collections.Generic;
using System.Linq;

namespace SelectiveLoss.Benchmarks;

/// <summary>The benchmark's one statistic.</summary>
internal static class Stats
{
    /// <summary>The median, NaN for no values.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        int n = sorted.Count;
        return n == 0 ? double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }
}
