using System;
using System.IO;
using System.Linq;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

/// <summary>The trainer on an image folder: classes printed and written to the run folder, bad input exits 3 leaving nothing half-written.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ImageFolderMainTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Main_ImageFolder_TrainsAndWritesTheClassListInLabelOrder()
    {
        string data = Folder(("train", 8), ("test", 2));
        string output = Path.Combine(temp.Path, "out");

        var (code, error) = ConsoleCollection.RunMain(Arguments(data, output, "--train-per-class", "6"));

        code.Should().Be(0, error);
        File.ReadAllLines(Path.Combine(output, "classes.txt")).Should().Equal("cat", "dog", "frog");
        File.ReadAllLines(Path.Combine(output, "full", "metrics.csv")).Should().HaveCount(2);
    }

    [Fact]
    public void Main_ImageFolderWithACorruptImage_ExitsThreeNamingItAndWritesNothing()
    {
        string data = Folder(("train", 3), ("test", 2));
        string bad = Path.Combine(data, "train", "dog", "broken.png");
        File.WriteAllText(bad, "not a png at all");
        string output = Path.Combine(temp.Path, "out");

        var (code, error) = ConsoleCollection.RunMain(Arguments(data, output));

        code.Should().Be(3);
        error.Should().Contain(bad);
        Directory.Exists(output).Should().BeFalse("the data is read before anything is written");
        Directory.Exists(Path.Combine(temp.Path, "cache")).Should().BeFalse("nothing is cached when an image cannot be decoded");
    }

    private string[] Arguments(string data, string output, params string[] extra) => new[]
    {
        "--data", data, "--image-cache", Path.Combine(temp.Path, "cache"), "--model", "tiny", "--epochs", "1", "--batch-size", "8",
        "--threads", "1", "--strategy", "full", "--output", output,
    }.Concat(extra).ToArray();

    private string Folder(params (string Split, int PerClass)[] splits)
    {
        string root = Path.Combine(temp.Path, "images");
        string[] classes = { "frog", "cat", "dog" };
        foreach (var (split, perClass) in splits)
        {
            for (int c = 0; c < classes.Length; c++)
            {
                Directory.CreateDirectory(Path.Combine(root, split, classes[c]));
                for (int i = 0; i < perClass; i++)
                {
                    ImageFiles.Write(Path.Combine(root, split, classes[c], $"{i}.png"), ImageFiles.Colour((c * 10) + i));
                }
            }
        }

        return root;
    }
}
