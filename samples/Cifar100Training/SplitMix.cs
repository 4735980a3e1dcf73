using System;

namespace Cifar100Training;

/// <summary>
/// A small counter-based random source (SplitMix64): every draw is a pure function of its keys, so the data, the
/// shuffle and the augmentation of any epoch can be recomputed after a restart without saving generator state.
/// </summary>
internal struct SplitMix
{
    private ulong state;

    public SplitMix(ulong seed, ulong a = 0, ulong b = 0, ulong c = 0)
    {
        state = Mix(Mix(Mix(seed ^ 0x9E3779B97F4A7C15UL) ^ a) ^ (b * 0xBF58476D1CE4E5B9UL)) ^ (c * 0x94D049BB133111EBUL);
    }

    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong Next()
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n).</summary>
    public int NextInt(int n) => (int)(NextDouble() * n);

    /// <summary>Standard normal (Box-Muller).</summary>
    public double NextGaussian()
    {
        double u = 1.0 - NextDouble();
        double v = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * v);
    }

    /// <summary>A permutation of 0..n-1 (Fisher-Yates).</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++)
        {
            p[i] = i;
        }

        for (int i = n - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }

        return p;
    }
}
