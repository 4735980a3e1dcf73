using System;
using System.IO;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

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

        read.Should().Throw<CifarFormatException>()
            .Which.Message.Should().Contain(path).And.Contain("record 1 is truncated").And.Contain("100 of 3074 bytes");
    }

    [Fact]
    public void Read_FineLabelOutOfRange_NamesFileRecordAndLabel()
    {
        string path = Write("bad.bin", Record(0, 5, 0), Record(0, 150, 0));

        Action read = () => CifarBinaryReader.Read(path);

        read.Should().Throw<CifarFormatException>()
            .Which.Message.Should().Contain(path).And.Contain("record 1").And.Contain("fine label 150");
    }

    [Fact]
    public void Read_CoarseLabelOutOfRange_NamesFileRecordAndLabel()
    {
        string path = Write("coarse.bin", Record(20, 5, 0));

        Action read = () => CifarBinaryReader.Read(path);

        read.Should().Throw<CifarFormatException>()
            .Which.Message.Should().Contain("record 0").And.Contain("coarse label 20");
    }

    [Fact]
    public void ReadFolder_MissingTestFile_NamesTheFile()
    {
        Write("train.bin", Record(0, 1, 2));

        Action read = () => CifarBinaryReader.ReadFolder(temp.Path);

        read.Should().Throw<CifarFormatException>()
            .Which.Message.Should().Contain(Path.Combine(temp.Path, "test.bin")).And.Contain("not found");
    }

    [Fact]
    public void Main_DataFolderMissing_ExitsWithCode3()
    {
        Program.Main(new[] { "--data", Path.Combine(temp.Path, "nope"), "--output", Path.Combine(temp.Path, "out") }).Should().Be(3);
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
