using System;

namespace SelectiveLoss.Native;

/// <summary>
/// Thrown when TorchSharp's native library cannot be loaded, by <see cref="TorchSharpNative.EnsureLoaded"/> and by the
/// SelectiveLoss entry points that create tensors or modules from nothing (the <see cref="Models.DenseNet"/> and
/// <see cref="Normalization.ChannelGroupNorm"/> constructors, the <see cref="Models.DenseNets"/> builders). Unlike TorchSharp's own message (which blames a missing libtorch package
/// reference on every failure), it names the cause SelectiveLoss found and the fix, and what the run-time fix did.
/// The original exception is kept in <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class TorchSharpLoadException : Exception
{
    /// <summary>Creates the exception with a message and no inner exception.</summary>
    public TorchSharpLoadException()
        : base("TorchSharp's native library could not be loaded.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed, the cause and the fix.</param>
    public TorchSharpLoadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the original exception.</summary>
    /// <param name="message">What failed, the cause and the fix.</param>
    /// <param name="innerException">TorchSharp's own exception.</param>
    public TorchSharpLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
