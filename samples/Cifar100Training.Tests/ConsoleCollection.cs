using System;
using System.IO;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>Tests that call <see cref="Program.Main"/> and swap <see cref="Console.Error"/>: one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "Console";

    /// <summary>Runs the trainer's entry point in this process and returns its exit code and what it wrote to stderr.</summary>
    public static (int Code, string Error) RunMain(params string[] args)
    {
        TextWriter saved = Console.Error;
        using var error = new StringWriter();
        Console.SetError(error);
        try
        {
            return (Program.Main(args), error.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }
}
