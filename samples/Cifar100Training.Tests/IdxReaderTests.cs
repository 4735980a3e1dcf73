using System;
using System.IO;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

public sealed class IdxReaderTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void ReadFolder_GzippedFiles_PadsTo32x32WithZerosAndRepeatsTheGreyToThreeChannels()
    {
        IdxFiles.WriteFolder(temp.Path);

        var (train, test) = IdxReader.ReadFolder(temp.Path);

        train.Count.Should().Be(3);
        train.Labels.Should().Equal(7, 0, 9);
        train.ClassCount.Should().Be(10);
        test.Labels.Should().Equal(1, 2);
        byte[] source = IdxFiles.Images(3);
        int image = 1, y = 5, x = 9;
        byte grey = source[16 + (image * 784) + (y * 28) + x];
        for (int c = 0; c < 3; c++)
        {
            int plane = (image * CifarData.PixelsPerImage) + (c * 1024);
            train.Pixels[plane + ((y + 2) * 32) + x + 2].Should().Be(grey, $"channel {c} repeats the grey value, shifted by the 2-pixel border");
            train.Pixels[plane + (0 * 32) + 5].Should().Be(0, "the top border is zero");
            train.Pixels[plane + (31 * 32) + 31].Should().Be(0, "the bottom-right corner is zero");
            train.Pixels[plane + (10 * 32) + 1].Should().Be(0, "the left border is zero");
        }
    }

    [Fact]
    public void ReadFolder_PlainFiles_SameAsGzipped()
    {
        IdxFiles.WriteFolder(temp.Path);
        var gz = IdxReader.ReadFolder(temp.Path);
        using var plainDir = new TempDirectory();
        foreach (string name in IdxReader.FileNames)
        {
            File.WriteAllBytes(Path.Combine(plainDir.Path, name), IdxReader.Load(Path.Combine(temp.Path, name + ".gz")));
        }

        var plain = IdxReader.ReadFolder(plainDir.Path);

        plain.Train.Pixels.Should().Equal(gz.Train.Pixels);
        plain.Test.Labels.Should().Equal(gz.Test.Labels);
    }

    [Fact]
    public void ReadFolder_MissingLabelsFile_NamesThePlainAndTheGzName()
    {
        IdxFiles.WriteFolder(temp.Path);
        File.Delete(Path.Combine(temp.Path, "t10k-labels-idx1-ubyte.gz"));

        Action read = () => IdxReader.ReadFolder(temp.Path);

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(Path.Combine(temp.Path, "t10k-labels-idx1-ubyte")).And.Contain("t10k-labels-idx1-ubyte.gz").And.Contain("not found");
    }

    [Fact]
    public void Load_GzNameButNotGzip_NamesFileAndSaysNotGzip()
    {
        string path = Write("train-images-idx3-ubyte.gz", IdxFiles.Images(1));

        Action read = () => IdxReader.Load(path);

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(path).And.Contain("not a gzip file").And.Contain("00 00").And.Contain("remove the .gz");
    }

    [Fact]
    public void Load_GzipCutShort_NamesFile()
    {
        byte[] gz = IdxFiles.Gzip(IdxFiles.Images(20));
        string images = Write("train-images-idx3-ubyte.gz", gz.AsSpan(0, gz.Length / 2).ToArray());
        string labels = Write("train-labels-idx1-ubyte", IdxFiles.Labels(new byte[20]));

        Action read = () => IdxReader.Read(images, labels, "train");

        read.Should().Throw<DataFormatException>().Which.Message.Should().Contain(images);
    }

    [Fact]
    public void Read_LabelsFileWhereImagesBelong_NamesWrongMagicAndSuggestsSwappedNames()
    {
        string images = Write("train-images-idx3-ubyte", IdxFiles.Labels(1, 2));
        string labels = Write("train-labels-idx1-ubyte", IdxFiles.Labels(1, 2));

        Action read = () => IdxReader.Read(images, labels, "train");

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(images).And.Contain("wrong magic number 0x00000801").And.Contain("0x00000803").And.Contain("swapped");
    }

    [Fact]
    public void Read_ImagesWithTwoDimensions_NamesMagicAndTheThreeDimensionsExpected()
    {
        string images = Write("train-images-idx3-ubyte", IdxFiles.Images(1, magic: 0x00000802));
        string labels = Write("train-labels-idx1-ubyte", IdxFiles.Labels(1));

        Action read = () => IdxReader.Read(images, labels, "train");

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(images).And.Contain("0x00000802").And.Contain("3 dimensions");
    }

    [Fact]
    public void Read_ImagesNot28x28_NamesFileAndSize()
    {
        string images = Write("train-images-idx3-ubyte", IdxFiles.Images(2, rows: 32, columns: 32));
        string labels = Write("train-labels-idx1-ubyte", IdxFiles.Labels(1, 2));

        Action read = () => IdxReader.Read(images, labels, "train");

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(images).And.Contain("32x32").And.Contain("28x28");
    }

    [Fact]
    public void Read_CountsDisagree_NamesBothFilesAndCounts()
    {
        string images = Write("train-images-idx3-ubyte", IdxFiles.Images(3));
        string labels = Write("train-labels-idx1-ubyte", IdxFiles.Labels(1, 2));

        Action read = () => IdxReader.Read(images, labels, "train");

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(images).And.Contain("3 images").And.Contain(labels).And.Contain("2 labels");
    }

    [Fact]
    public void Read_TruncatedImages_NamesFileAndTheRecordCut()
    {
        byte[] full = IdxFiles.Images(3);
        string images = Write("train-images-idx3-ubyte", full.AsSpan(0, full.Length - 100).ToArray());
        string labels = Write("train-labels-idx1-ubyte", IdxFiles.Labels(1, 2, 3));

        Action read = () => IdxReader.Read(images, labels, "train");

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(images).And.Contain("truncated at image 2").And.Contain("cut short");
    }

    [Fact]
    public void Read_BytesAfterTheLastRecord_NamesFileAndCountMismatch()
    {
        string images = Write("train-images-idx3-ubyte", IdxFiles.Images(2));
        byte[] labelBytes = IdxFiles.Labels(1, 2);
        string labels = Write("train-labels-idx1-ubyte", [.. labelBytes, 5, 5]);

        Action read = () => IdxReader.Read(images, labels, "train");

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(labels).And.Contain("2 bytes after the last of the 2 records");
    }

    [Fact]
    public void Read_LabelOutOfRange_NamesFileRecordAndLabel()
    {
        string images = Write("train-images-idx3-ubyte", IdxFiles.Images(3));
        string labels = Write("train-labels-idx1-ubyte", IdxFiles.Labels(1, 12, 3));

        Action read = () => IdxReader.Read(images, labels, "train");

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(labels).And.Contain("record 1 has label 12").And.Contain("0 to 9");
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(temp.Path, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
