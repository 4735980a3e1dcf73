using System;

namespace Cifar100Training;

/// <summary>A data file is missing, truncated or malformed; the message names the file, the record (where there is one) and the problem. Exit code 3.</summary>
internal sealed class DataFormatException : Exception
{
    public DataFormatException(string message)
        : base(message)
    {
    }

    public DataFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public DataFormatException()
    {
    }
}
