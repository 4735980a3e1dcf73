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

    private static Functions? Resolve() =>
        NativeExports.Find("libc.so.6", "libSystem.dylib", near: null, "setenv", "getenv") is { } f
            ? new Functions(Marshal.GetDelegateForFunctionPointer<SetEnv>(f[0]), Marshal.GetDelegateForFunctionPointer<GetEnv>(f[1]))
            : null;

    private sealed record Functions(SetEnv Set, GetEnv Get);
}
