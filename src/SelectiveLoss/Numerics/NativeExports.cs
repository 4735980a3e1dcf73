using System;
using System.Reflection;
using System.Runtime.InteropServices;

namespace SelectiveLoss.Numerics;

/// <summary>Finds exported functions of a native library on Linux and macOS (Itanium C++ names, libc), for the
/// numerics check's switches that TorchSharp does not expose.</summary>
internal static class NativeExports
{
    /// <summary>The addresses of <paramref name="symbols"/>, in order, or null when the platform is Windows, the library
    /// cannot be loaded (an already loaded one is found by its name) or any symbol is missing.</summary>
    /// <param name="linuxName">The library's file name on Linux.</param>
    /// <param name="macName">The library's file name on macOS.</param>
    /// <param name="near">An assembly whose folder is searched first, or null.</param>
    /// <param name="symbols">The exported names.</param>
    public static IntPtr[]? Find(string linuxName, string macName, Assembly? near, params string[] symbols)
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            return null;
        }

        string name = RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? macName : linuxName;
        IntPtr library = IntPtr.Zero;
        bool loaded = (near is not null && NativeLibrary.TryLoad(name, near, DllImportSearchPath.AssemblyDirectory | DllImportSearchPath.SafeDirectories, out library))
            || NativeLibrary.TryLoad(name, out library);
        if (!loaded)
        {
            return null;
        }

        var addresses = new IntPtr[symbols.Length];
        for (int i = 0; i < symbols.Length; i++)
        {
            if (!NativeLibrary.TryGetExport(library, symbols[i], out addresses[i]))
            {
                return null;
            }
        }

        return addresses;
    }
}
