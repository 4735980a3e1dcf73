using System;

namespace Cifar100Training;

/// <summary>A CIFAR-100 binary file is missing, truncated or malformed; the message names the file and the record.</summary>
internal sealed class CifarFormatException : Exception
{
    public CifarFormatException(string message)
        : base(message)
    {
    }

    public CifarFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public CifarFormatException()
    {
    }
}
