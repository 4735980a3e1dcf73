using static TorchSharp.torch;

namespace SelectiveLoss.Internal;

/// <summary>Moves a tensor to a device only when it is elsewhere.</summary>
internal static class DeviceTensors
{
    public static bool IsOn(this Tensor tensor, Device device) =>
        tensor.device_type == device.type && (tensor.device_index == device.index || (device.index < 0 && tensor.device_index <= 0));

    public static Tensor On(this Tensor tensor, Device device) => tensor.IsOn(device) ? tensor : tensor.to(device);
}
