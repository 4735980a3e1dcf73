using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using SelectiveLoss.Numerics;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Cifar100Training;

/// <summary>
/// The trainer's command line through Spectre.Console.Cli: help, unknown options and missing values come from the
/// library; values are checked by <see cref="TrainingOptions.From"/>. Exit codes: 0 done (or --help), 2 bad option,
/// 3 bad data file, 4 nothing to resume or a resume with other options, 5 a run failed after its restarts.
/// </summary>
internal static class CommandLine
{
    public const string Description = """
        Trains a CIFAR DenseNet with SelectiveLoss and compares selection strategies on the same data and seed.
        Run it with: dotnet run -c Release --project samples/Cifar100Training -- [[OPTIONS]]
        Exit codes: 0 done, 2 bad option, 3 bad data file, 4 resume refused (no checkpoint, or other options), 5 a run failed after its restarts (the others finished; summary.csv says which).
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
            c.AddExample("--compare", "full:batch,lowest,random", "--epochs", "8");
            c.AddExample("--compare", "full:batch,lowest:group,infobatch:group-ws,random", "--seeds", "1,2,3", "--eval-every", "0.25");
            c.AddExample("--strategy", "lowest:cached", "--keep", "0.6", "--schedule", "ramp:3", "--output", "runs/a");
            c.AddExample("--output", "runs/a", "--resume");
        });
        return app;
    }

    /// <summary>Parses, runs, and turns each kind of failure into its exit code and a one-paragraph message on stderr.</summary>
    public static int Run(IEnumerable<string> args, Func<TrainingOptions, int> run)
    {
        string[] arguments = args.ToArray();
        try
        {
            return Create(run).Run(arguments);
        }
        catch (CommandParseException e)
        {
            // Spectre's pretty form quotes the command line and points at the offending token.
            string explained = Explain(e, arguments);
            return Fail(2, e.Pretty is null || explained != e.Message ? explained : null, e.Pretty, "See --help for the options.");
        }
        catch (CommandRuntimeException e)
        {
            return Fail(2, Explain(e, arguments), null, "See --help for the options.");
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
        catch (NumericsFaultException e)
        {
            return Fail(6, e.Message);
        }
    }

    /// <summary>
    /// Spectre's message, or one that names the option where Spectre's does not: a value that does not convert to the
    /// option's type ("Failed to convert 'x' to Int32.") or an option given without its value.
    /// </summary>
    public static string Explain(Exception e, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(args);
        Match conversion = Regex.Match(e.Message, "^Failed to convert '(?<value>.*)' to ");
        if (conversion.Success && conversion.Groups["value"].Value == MissingValue)
        {
            // Spectre binds the default command's internal name to a typed option given without its value (at the end,
            // or followed by another option).
            string? bare = args.Where((a, i) => a.StartsWith("--", StringComparison.Ordinal) && TypeOf(a) is { } t && t != typeof(bool)
                && (i == args.Count - 1 || args[i + 1].StartsWith("--", StringComparison.Ordinal))).FirstOrDefault();
            if (bare is not null)
            {
                return $"{bare} needs a value.";
            }
        }

        if (conversion.Success)
        {
            string value = conversion.Groups["value"].Value;
            int at = Enumerable.Range(0, Math.Max(args.Count - 1, 0)).FirstOrDefault(i => args[i].StartsWith('-') && args[i + 1] == value, -1);
            string? option = at >= 0 ? args[at] : args.FirstOrDefault(a => a.StartsWith("--", StringComparison.Ordinal) && a.EndsWith("=" + value, StringComparison.Ordinal))?.Split('=')[0];
            if (option is not null && TypeOf(option) is { } type)
            {
                string what = (Nullable.GetUnderlyingType(type) ?? type) == typeof(int)
                    ? "is not a whole number"
                    : "must be a number (use a dot as decimal separator)";
                return $"{option}: '{value}' {what}.";
            }
        }

        Match missing = Regex.Match(e.Message, "Option '(?<name>[^']+)' is defined but no value has been provided");
        return missing.Success ? $"--{missing.Groups["name"].Value} needs a value." : e.Message;
    }

    /// <summary>What Spectre.Console.Cli 0.57.2 binds to an option whose value is missing: the default command's internal name.</summary>
    private const string MissingValue = "__default_command";

    /// <summary>The declared type of a long option of <see cref="TrainingSettings"/>, or null.</summary>
    private static Type? TypeOf(string option) => typeof(TrainingSettings).GetProperties()
        .FirstOrDefault(p => p.GetCustomAttribute<CommandOptionAttribute>()?.LongNames.Contains(option.TrimStart('-')) == true)?.PropertyType;

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
