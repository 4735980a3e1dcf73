using System;

namespace Cifar100Training;

/// <summary>--resume found a checkpoint written with other options; exit code 4.</summary>
internal sealed class ResumeMismatchException : Exception
{
    public ResumeMismatchException(string message)
        : base(message)
    {
    }

    public ResumeMismatchException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ResumeMismatchException()
    {
    }
}
