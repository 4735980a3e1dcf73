using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FluentAssertions;
using SelectiveLoss.Native;

namespace SelectiveLoss.Tests.Native;

/// <summary>Simulated hosts and TorchSharp's original native library, for the loading-fix tests.</summary>
internal static class LibTorchSharpFixTestsHost
{
    /// <summary>The symbol versions of Debian 12's libstdc++ (GCC 12): up to GLIBCXX_3.4.30 and CXXABI_1.3.14.</summary>
    public static HashSet<string> Old()
    {
        var versions = new HashSet<string>(StringComparer.Ordinal) { "GLIBCXX_3.4", "CXXABI_1.3", "CXXABI_TM_1", "CXXABI_FLOAT128" };
        for (int i = 1; i <= 30; i++)
        {
            versions.Add("GLIBCXX_3.4." + i);
        }

        for (int i = 1; i <= 14; i++)
        {
            versions.Add("CXXABI_1.3." + i);
        }

        return versions;
    }

    /// <summary>The libLibTorchSharp.so in the test's build output.</summary>
    public static string OutputLibrary()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        File.Exists(path).Should().BeTrue($"the CPU backend puts the native library at {path}");
        return path;
    }

    /// <summary>A copy in <paramref name="dir"/> of the output library with the weak flag cleared: TorchSharp's original bytes.</summary>
    public static string UnpatchedLibrary(string dir)
    {
        string copy = Path.Combine(dir, "libLibTorchSharp.so");
        File.Copy(OutputLibrary(), copy, overwrite: true);
        var requirement = LibTorchSharpFix.ReadVersionRequirements(copy).Single(r => r.Version == "GLIBCXX_3.4.32");
        if (requirement.IsWeak)
        {
            using var stream = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite);
            stream.Position = requirement.FlagsOffset;
            ushort flags = (ushort)(requirement.Flags & ~LibTorchSharpFix.VerFlagWeak);
            stream.WriteByte((byte)(flags & 0xff));
            stream.WriteByte((byte)(flags >> 8));
        }

        return copy;
    }
}
