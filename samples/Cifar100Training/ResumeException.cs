using System;

namespace Cifar100Training;

/// <summary>--resume cannot continue: no checkpoint where it looked, or one written with other options. Exit code 4.</summary>
internal sealed class ResumeException : Exception
{
    public ResumeException(string message)
        : base(message)
    {
    }

    public ResumeException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ResumeException()
    {
    }
}
