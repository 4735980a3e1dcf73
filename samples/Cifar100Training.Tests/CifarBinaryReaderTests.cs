using System;
using System.IO;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class CifarBinaryReaderTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Read_GoodFile_ReturnsFineLabelsAndPixelPlanes()
    {
        string path = Write("good.bin", Record(coarse: 3, fine: 42, fill: 7), Record(coarse: 19, fine: 99, fill: 200));

        CifarData data = CifarBinaryReader.Read(path);

        data.Count.Should().Be(2);
        data.Labels.Should().Equal(42, 99);
        data.Pixels.Length.Should().Be(2 * 3072);
        data.Pixels[0].Should().Be(7);
        data.Pixels[3072 + 1024].Should().Be(201, "the green plane of record 1 starts 1024 bytes into its pixels");
    }

    [Fact]
    public void Read_TruncatedFile_NamesFileRecordAndMissingBytes()
    {
        byte[] partial = Record(1, 1, 1).AsSpan(0, 100).ToArray();
        string path = Write("cut.bin", Record(1, 2, 3), partial);

        Action read = () => CifarBinaryReader.Read(path);

        read.Should().Throw<DataFormatException>()
            .Which.Message.Should().Contain(path).And.Contain("record 1 is truncated").And.Contain("100 of 3074 bytes");
    }

    [Fact]
    public void Read_FineLabelOutOfRange_NamesFileRecordAndLabel()
    {
        string path = Write("bad.bin", Record(0, 5, 0), Record(0, 150, 0));

        Action read = () => CifarBinaryReader.Read(path);

        read.Should().Throw<DataFormatException>()
            .Which.Message.Should().Contain(path).And.Contain("record 1").And.Contain("fine label 150");
    }

    [Fact]
    public void Read_CoarseLabelOutOfRange_NamesFileRecordAndLabel()
    {
        string path = Write("coarse.bin", Record(20, 5, 0));

        Action read = () => CifarBinaryReader.Read(path);

        read.Should().Throw<DataFormatException>()
            .Which.Message.Should().Contain("record 0").And.Contain("coarse label 20");
    }

    [Fact]
    public void ReadFolder_MissingTestFile_NamesTheFile()
    {
        Write("train.bin", Record(0, 1, 2));

        Action read = () => CifarBinaryReader.ReadFolder(temp.Path);

        read.Should().Throw<DataFormatException>()
            .Which.Message.Should().Contain(Path.Combine(temp.Path, "test.bin")).And.Contain("not found");
    }

    [Fact]
    public void Read_Cifar10FileUnderCifar100Name_SaysItLooksLikeCifar10()
    {
        string path = Write("train.bin", Cifar10Record(3, 1), Cifar10Record(9, 2), Cifar10Record(0, 3));

        Action read = () => CifarBinaryReader.Read(path);

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(path).And.Contain("looks like the CIFAR-10 binary version (3,073-byte records").And.Contain("3,074-byte records")
            .And.NotContain("truncated");
    }

    [Fact]
    public void ReadCifar10Folder_FiveBatchesAndTestBatch_TenClassesInFileOrder()
    {
        for (int i = 1; i <= 5; i++)
        {
            Write($"data_batch_{i}.bin", Cifar10Record((byte)i, (byte)i), Cifar10Record((byte)(i + 4), 0));
        }

        Write("test_batch.bin", Cifar10Record(0, 50));

        var (train, test) = CifarBinaryReader.ReadCifar10Folder(temp.Path);

        train.Labels.Should().Equal(1, 5, 2, 6, 3, 7, 4, 8, 5, 9);
        train.ClassCount.Should().Be(10);
        train.Pixels[2 * 3072].Should().Be(2, "record 0 of data_batch_2.bin follows the two records of data_batch_1.bin");
        test.Labels.Should().Equal(0);
        test.Pixels[1024].Should().Be(51);
    }

    [Fact]
    public void ReadCifar10_LabelOutOfRange_NamesFileRecordAndLabel()
    {
        string path = Write("test_batch.bin", Cifar10Record(4, 0), Cifar10Record(10, 0));

        Action read = () => CifarBinaryReader.ReadCifar10(path);

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain(path).And.Contain("record 1").And.Contain("label 10").And.Contain("0 to 9");
    }

    [Fact]
    public void ReadCifar10_Cifar100File_SaysItLooksLikeCifar100()
    {
        string path = Write("test_batch.bin", Record(1, 2, 3), Record(1, 2, 3), Record(1, 2, 3));

        Action read = () => CifarBinaryReader.ReadCifar10(path);

        read.Should().Throw<DataFormatException>().Which.Message.Should().Contain(path).And.Contain("looks like the CIFAR-100 binary version");
    }

    [Fact]
    public void Main_DataFolderMissing_ExitsWithCode3()
    {
        var (code, error) = ConsoleCollection.RunMain("--data", Path.Combine(temp.Path, "nope"), "--output", Path.Combine(temp.Path, "out"));

        code.Should().Be(3);
        error.Should().Contain(Path.Combine(temp.Path, "nope")).And.Contain("does not exist");
    }

    [Fact]
    public void Main_Cifar10FileAsTrainBin_ExitsWithCode3NamingCifar10()
    {
        Write("train.bin", Cifar10Record(3, 1));
        Write("test.bin", Record(1, 2, 3));

        var (code, error) = ConsoleCollection.RunMain("--data", temp.Path, "--output", Path.Combine(temp.Path, "out"));

        code.Should().Be(3);
        error.Should().Contain("train.bin").And.Contain("looks like the CIFAR-10 binary version");
    }

    private static byte[] Cifar10Record(byte label, byte fill)
    {
        var record = new byte[CifarBinaryReader.Cifar10RecordSize];
        record[0] = label;
        for (int i = 1; i < record.Length; i++)
        {
            record[i] = (byte)(fill + ((i - 1) / 1024));
        }

        return record;
    }

    private static byte[] Record(byte coarse, byte fine, byte fill)
    {
        var record = new byte[CifarBinaryReader.RecordSize];
        record[0] = coarse;
        record[1] = fine;
        for (int i = 2; i < record.Length; i++)
        {
            record[i] = (byte)(fill + ((i - 2) / 1024));
        }

        return record;
    }

    private string Write(string name, params byte[][] records)
    {
        string path = Path.Combine(temp.Path, name);
        using var stream = File.Create(path);
        foreach (var r in records)
        {
            stream.Write(r);
        }

        return path;
    }
}
