using System;
using System.Runtime.InteropServices;

namespace SelectiveLoss.Numerics;

/// <summary>
/// Reads and writes the C library's environment, which native code (oneDNN's <c>getenv</c>) sees. .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> changes only .NET's own copy on Linux and macOS.
/// </summary>
internal static class NativeEnvironment
{
    private static readonly Lazy<Functions?> Resolved = new(Resolve);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    /// <summary>The value native code sees, or null when unset (falls back to .NET's copy where libc is not reachable).</summary>
    public static string? Get(string name)
    {
        if (Resolved.Value is not { } f)
        {
            return Environment.GetEnvironmentVariable(name);
        }

        IntPtr value = f.Get(name);
        return value == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(value);
    }

    /// <summary>Sets the variable for native code and for .NET; returns whether native code will see it (false on Windows,
    /// where LibTorch's C runtime keeps its own copy of the environment).</summary>
    public static bool Set(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        return Resolved.Value is { } f && f.Set(name, value, 1) == 0;
    }

    private static Functions? Resolve()
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            return null;
        }

        string name = RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "libSystem.dylib" : "libc.so.6";
        if (NativeLibrary.TryLoad(name, out IntPtr libc)
            && NativeLibrary.TryGetExport(libc, "setenv", out IntPtr set)
            && NativeLibrary.TryGetExport(libc, "getenv", out IntPtr get))
        {
            return new Functions(Marshal.GetDelegateForFunctionPointer<SetEnv>(set), Marshal.GetDelegateForFunctionPointer<GetEnv>(get));
        }

        return null;
    }

    private sealed record Functions(SetEnv Set, GetEnv Get);
}
