using System;
using System.Runtime.InteropServices;

namespace SelectiveLoss.Numerics;

/// <summary>
/// ATen's switch for oneDNN (<c>at::globalContext().setUserEnabledMkldnn</c>, what PyTorch's
/// <c>torch.backends.mkldnn.enabled</c> sets; TorchSharp 0.107.0 does not expose it). ATen reads it at every convolution,
/// so it works at any time, unlike oneDNN's instruction-set cap. Reached through the exported C++ symbols of
/// libtorch_cpu (Itanium ABI: Linux and macOS); elsewhere <see cref="Available"/> is false.
/// </summary>
internal static class AtenOneDnnSwitch
{
    private static readonly Lazy<Functions?> Resolved = new(Resolve);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GlobalContext();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    [return: MarshalAs(UnmanagedType.U1)]
    private delegate bool GetFlag(IntPtr context);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetFlag(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool value);

    public static bool Available => Resolved.Value is not null;

    /// <summary>Gets or sets whether ATen may use oneDNN; reads true where the switch is not available.</summary>
    public static bool Enabled
    {
        get => Resolved.Value is not { } f || f.Get(f.Context());
        set
        {
            var f = Resolved.Value ?? throw new PlatformNotSupportedException(
                "ATen's oneDNN switch (at::Context::setUserEnabledMkldnn) was not found in libtorch_cpu on this platform.");
            f.Set(f.Context(), value);
        }
    }

    private static Functions? Resolve() =>
        NativeExports.Find("libtorch_cpu.so", "libtorch_cpu.dylib", typeof(TorchSharp.torch).Assembly,
            "_ZN2at13globalContextEv", "_ZNK2at7Context17userEnabledMkldnnEv", "_ZN2at7Context20setUserEnabledMkldnnEb") is { } f
            ? new Functions(
                Marshal.GetDelegateForFunctionPointer<GlobalContext>(f[0]),
                Marshal.GetDelegateForFunctionPointer<GetFlag>(f[1]),
                Marshal.GetDelegateForFunctionPointer<SetFlag>(f[2]))
            : null;

    private sealed record Functions(GlobalContext Context, GetFlag Get, SetFlag Set);
}
