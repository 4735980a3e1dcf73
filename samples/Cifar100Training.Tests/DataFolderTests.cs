using System;
using System.IO;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class DataFolderTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Read_MnistFormatFolder_DetectsIdxWithTenClasses()
    {
        IdxFiles.WriteFolder(temp.Path);

        var (train, test, format) = DataFolder.Read(temp.Path);

        format.Should().Be(DataFormat.Idx);
        (train.Count, test.Count, train.ClassCount, test.ClassCount).Should().Be((3, 2, 10, 10));
    }

    [Fact]
    public void Read_FolderWithoutKnownFiles_ListsTheLayoutsAndPointsAtTheInnerDataFolder()
    {
        string inner = Directory.CreateDirectory(Path.Combine(temp.Path, "mnist")).FullName;
        IdxFiles.WriteFolder(inner);

        Action read = () => DataFolder.Read(temp.Path);

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain("holds none of the files").And.Contain("train.bin").And.Contain("data_batch_1.bin")
            .And.Contain("train-images-idx3-ubyte").And.Contain($"'{inner}' does: give that one");
    }

    [Fact]
    public void Main_TruncatedIdxImages_ExitsWithCode3NamingTheFile()
    {
        IdxFiles.WriteFolder(temp.Path);
        byte[] images = IdxFiles.Images(3);
        File.WriteAllBytes(Path.Combine(temp.Path, "train-images-idx3-ubyte.gz"), IdxFiles.Gzip(images.AsSpan(0, images.Length - 1).ToArray()));

        var (code, error) = ConsoleCollection.RunMain("--data", temp.Path, "--output", Path.Combine(temp.Path, "out"));

        code.Should().Be(3);
        error.Should().Contain("train-images-idx3-ubyte.gz").And.Contain("truncated at image 2");
        Directory.Exists(Path.Combine(temp.Path, "out")).Should().BeFalse("nothing is written before the data is read");
    }

    [Fact]
    public void Main_ResumeWithoutCheckpoint_ExitsWithCode4NamingTheCheckpointsItLookedFor()
    {
        string output = Path.Combine(temp.Path, "run");
        Directory.CreateDirectory(output);

        var (code, error) = ConsoleCollection.RunMain("--compare", "full,random", "--output", output, "--resume");

        code.Should().Be(4);
        error.Should().Contain("--resume: nothing to continue")
            .And.Contain(Path.Combine(output, "full", "checkpoint", "checkpoint.txt"))
            .And.Contain(Path.Combine(output, "random", "checkpoint", "checkpoint.txt"));
        Directory.GetFileSystemEntries(output).Should().BeEmpty("a refused resume writes nothing");
    }
}
