using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>
/// Every trainer command written in a bash block of README.md, samples/README.md, docs/time-to-accuracy.md and docs/cifar10.md parses
/// with today's options, so the evidence's commands can be rerun as printed.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class DocumentedCommandsTests
{
    [Theory]
    [InlineData("README.md", 2)]
    [InlineData("samples/README.md", 2)]
    [InlineData("docs/time-to-accuracy.md", 6)]
    [InlineData("docs/cifar10.md", 3)]
    public void Parse_EveryDocumentedTrainerCommand_Succeeds(string document, int atLeast)
    {
        string text = File.ReadAllText(Path.Combine(RepositoryRoot(), document));

        List<string[]> commands = TrainerCommands(text).ToList();

        commands.Should().HaveCountGreaterThanOrEqualTo(atLeast, $"{document} documents trainer commands in ```bash blocks");
        foreach (string[] args in commands)
        {
            Action parse = () => TrainingOptions.Parse(args);
            parse.Should().NotThrow($"`{string.Join(' ', args)}` is documented in {document}");
        }
    }

    [Fact]
    public void TrainerCommands_ContinuationsVariablesAndComments_SplitIntoArguments()
    {
        const string Text = "```bash\nD=/data; T=\"dotnet run -c Release --project samples/Cifar100Training --\"\n" +
            "$T --data $D --epochs 3; $T --keep 0.5 \\\n   --seed 2   # one\n```\n";

        TrainerCommands(Text).Should().BeEquivalentTo(
            new[] { new[] { "--data", "/data", "--epochs", "3" }, new[] { "--keep", "0.5", "--seed", "2" } },
            o => o.WithStrictOrdering());
    }

    /// <summary>The arguments of each trainer command in the ```bash blocks of <paramref name="markdown"/>.</summary>
    private static IEnumerable<string[]> TrainerCommands(string markdown)
    {
        const string Project = "dotnet run -c Release --project samples/Cifar100Training";
        foreach (Match block in Regex.Matches(markdown, "```bash\n(.*?)```", RegexOptions.Singleline))
        {
            string body = Regex.Replace(block.Groups[1].Value, @"\\\n\s*", " ");
            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string rawLine in body.Split('\n'))
            {
                string line = Regex.Replace(rawLine, @"(^|\s)#.*$", string.Empty);
                foreach (string statement in line.Split(';').Select(s => s.Trim()).Where(s => s.Length > 0))
                {
                    Match assignment = Regex.Match(statement, "^([A-Z]+)=\"?([^\"]*)\"?$");
                    if (assignment.Success)
                    {
                        variables[assignment.Groups[1].Value] = assignment.Groups[2].Value;
                        continue;
                    }

                    string expanded = Regex.Replace(statement, @"\$([A-Z]+)", m => variables.GetValueOrDefault(m.Groups[1].Value, m.Value));
                    if (!expanded.StartsWith(Project, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    string rest = expanded[Project.Length..].Trim();
                    rest = rest.StartsWith("--", StringComparison.Ordinal) && (rest.Length == 2 || rest[2] == ' ') ? rest[2..] : rest;
                    yield return rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                }
            }
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SelectiveLoss.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No SelectiveLoss.sln above {AppContext.BaseDirectory}.");
    }
}
