using System;
using System.Linq;
using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace SelectiveLoss.Tests.Docs;

/// <summary>
/// README's C# snippets are copies of regions of compiled sample files (marked <c>// &lt;name&gt;</c> ...
/// <c>// &lt;/name&gt;</c>). These tests keep each copy identical to the code the build compiles.
/// </summary>
public sealed class ReadmeSnippetTests
{
    [Theory]
    [InlineData("quickstart", "samples/QuickStart/Program.cs")]
    [InlineData("selectivestep", "samples/QuickStart/Program.cs")]
    [InlineData("densenet-oneliner", "src/SelectiveLoss.Tests/Models/DenseNetsTests.cs")]
    [InlineData("normalization", "src/SelectiveLoss.Tests/Normalization/ReadmeExampleTests.cs")]
    [InlineData("selectivestep-call", "samples/QuickStart/Program.cs")]
    public void Readme_Snippet_IsVerbatimCopyOfCompiledRegion(string name, string source)
    {
        string readme = RepositoryFiles.Read("README.md").ReplaceLineEndings("\n");
        Match block = Regex.Match(readme, "<!-- snippet: " + Regex.Escape(name) + "(?:\\s[^>]*)?-->\\s*```csharp\\n(?<code>.*?)```", RegexOptions.Singleline);
        block.Success.Should().BeTrue($"README.md has a snippet marked '<!-- snippet: {name} ... -->'");

        string file = RepositoryFiles.Read(source).ReplaceLineEndings("\n");
        Match region = Regex.Match(file, "// <" + Regex.Escape(name) + ">\\n(?<code>.*?)\\n\\s*// </" + Regex.Escape(name) + ">", RegexOptions.Singleline);
        region.Success.Should().BeTrue($"{source} has a region '// <{name}>' ... '// </{name}>'");

        Normalise(block.Groups["code"].Value).Should().Be(Normalise(region.Groups["code"].Value),
            $"README's '{name}' snippet must be the code that {source} compiles");
    }

    private static string Normalise(string code)
    {
        var lines = code.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        int indent = lines.Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", lines.Select(l => l[indent..]));
    }
}
