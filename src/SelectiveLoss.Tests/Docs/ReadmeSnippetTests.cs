using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace SelectiveLoss.Tests.Docs;

/// <summary>
/// Every C# snippet in README.md and docs/*.md is a copy of a region of a compiled file: the snippet is marked
/// <c>&lt;!-- snippet: name (kept in sync with path/to/File.cs by a test) --&gt;</c> and the file holds the region between
/// <c>// &lt;name&gt;</c> and <c>// &lt;/name&gt;</c>. These tests find every snippet and keep each copy identical to the
/// code the build compiles (and, where the file is a test or a sample, runs).
/// </summary>
public sealed class ReadmeSnippetTests
{
    private static readonly Regex CSharpBlock = new("```csharp\\n(?<code>.*?)```", RegexOptions.Singleline);
    private static readonly Regex Marker = new("<!-- snippet: (?<name>[\\w-]+) \\(kept in sync with (?<source>[\\w./-]+) by a test\\) -->\\s*$");

    public static TheoryData<string> Documents()
    {
        var data = new TheoryData<string> { "README.md" };
        foreach (string file in Directory.GetFiles(Path.Combine(RepositoryFiles.Root, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            data.Add("docs/" + Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Document_EveryCSharpSnippet_IsVerbatimCopyOfCompiledRegion(string document)
    {
        string text = RepositoryFiles.Read(document).ReplaceLineEndings("\n");
        foreach (Match block in CSharpBlock.Matches(text))
        {
            string before = text[..block.Index].TrimEnd('\n');
            string markerLine = before[(before.LastIndexOf('\n') + 1)..];
            Match marker = Marker.Match(markerLine);
            marker.Success.Should().BeTrue(
                $"every C# block in {document} is preceded by '<!-- snippet: name (kept in sync with path by a test) -->', " +
                $"but the block at offset {block.Index} follows '{markerLine}'");

            string name = marker.Groups["name"].Value;
            string source = marker.Groups["source"].Value;
            string file = RepositoryFiles.Read(source).ReplaceLineEndings("\n");
            Match region = Regex.Match(file, "// <" + Regex.Escape(name) + ">\\n(?<code>.*?)\\n\\s*// </" + Regex.Escape(name) + ">", RegexOptions.Singleline);
            region.Success.Should().BeTrue($"{source} has a region '// <{name}>' ... '// </{name}>' for {document}");
            Normalise(block.Groups["code"].Value).Should().Be(Normalise(region.Groups["code"].Value),
                $"{document}'s '{name}' snippet must be the code that {source} compiles");
        }
    }

    [Fact]
    public void Readme_Snippets_CoverTheMainEntryPoints()
    {
        string readme = RepositoryFiles.Read("README.md");
        foreach (string name in new[] { "quickstart", "selectivestep", "caller-loop", "custom-rule-test", "three-choices", "normalization", "densenet-oneliner", "finetune" })
        {
            readme.Should().Contain($"<!-- snippet: {name} ", "README shows each main entry point with compiled code");
        }
    }

    private static string Normalise(string code)
    {
        var lines = code.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        int indent = lines.Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", lines.Select(l => l[indent..]));
    }
}
