using System;
using System.Collections.Generic;
using System.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Cifar100Training;

/// <summary>
/// The trainer's command line through Spectre.Console.Cli: help, unknown options and missing values come from the
/// library; values are checked by <see cref="TrainingOptions.From"/>. Exit codes: 0 done (or --help), 2 bad option,
/// 3 bad data file, 4 nothing to resume or a resume with other options.
/// </summary>
internal static class CommandLine
{
    public const string Description = """
        Trains a CIFAR DenseNet with SelectiveLoss and compares selection strategies on the same data and seed.
        Run it with: dotnet run -c Release --project samples/Cifar100Training -- [[OPTIONS]]
        Exit codes: 0 done, 2 bad option, 3 bad data file, 4 resume refused (no checkpoint, or other options).
        """;

    /// <summary>The app, strict and propagating exceptions, whose command calls <paramref name="run"/>.</summary>
    public static CommandApp<TrainCommand> Create(Func<TrainingOptions, int> run)
    {
        var app = new CommandApp<TrainCommand>();
        app.WithDescription(Description).WithData(run);
        app.Configure(c =>
        {
            c.SetApplicationName("Cifar100Training");
            c.UseStrictParsing();
            c.PropagateExceptions();
            c.AddExample("--compare", "full,rebatched,random", "--epochs", "8");
            c.AddExample("--compare", "full:batch,lowest:group,infobatch:group-ws,random", "--target-accuracy", "0.9");
            c.AddExample("--strategy", "rebatched", "--keep", "0.6", "--schedule", "ramp:3", "--output", "runs/a");
            c.AddExample("--output", "runs/a", "--resume");
        });
        return app;
    }

    /// <summary>Parses, runs, and turns each kind of failure into its exit code and a one-paragraph message on stderr.</summary>
    public static int Run(IEnumerable<string> args, Func<TrainingOptions, int> run)
    {
        try
        {
            return Create(run).Run(args);
        }
        catch (CommandParseException e)
        {
            // Spectre's pretty form quotes the command line and points at the offending token.
            return Fail(2, e.Pretty is null ? e.Message : null, e.Pretty, "See --help for the options.");
        }
        catch (CommandRuntimeException e)
        {
            return Fail(2, e.Message, null, "See --help for the options.");
        }
        catch (UsageException e)
        {
            return Fail(2, e.Message);
        }
        catch (DataFormatException e)
        {
            return Fail(3, e.Message);
        }
        catch (ResumeException e)
        {
            return Fail(4, e.Message);
        }
    }

    private static int Fail(int code, string? message, Spectre.Console.Rendering.IRenderable? pretty = null, string? hint = null)
    {
        var error = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (message is not null)
        {
            Console.Error.WriteLine($"error: {message}");
        }

        if (pretty is not null)
        {
            error.Write(pretty);
        }

        if (hint is not null)
        {
            Console.Error.WriteLine(hint);
        }

        return code;
    }
}
