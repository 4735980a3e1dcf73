using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using FluentAssertions;
using SkiaSharp;
using Xunit;

namespace Cifar100Training.Tests;

public sealed class ImageFolderReaderTests : IDisposable
{
    private const int Plane = 32 * 32;

    /// <summary>Pillow 9.4's BILINEAR resize of the 40-pixel ramp 0, 6, 12, ..., 234 to 32 pixels.</summary>
    private static readonly byte[] PillowRamp =
        { 2, 9, 15, 23, 31, 39, 45, 53, 61, 69, 75, 83, 91, 99, 105, 113, 121, 129, 135, 143, 151, 159, 165, 173, 181, 189, 195, 203, 211, 219, 225, 233 };
    private readonly TempDirectory temp = new();
    private readonly List<string> log = new();
    private int next;

    public ImageFolderReaderTests()
    {
        Data = Path.Combine(temp.Path, "data");
        Cache = Path.Combine(temp.Path, "cache");
    }

    private string Data { get; }

    private string Cache { get; }

    private string Log => string.Join("\n", log);

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Read_ClassFolders_ClassesSortedOrdinallyAndLabelsAreTheirIndices()
    {
        string[] names = { "b", "B", "a", "cat_2", "cat_10" };
        for (int c = 0; c < names.Length; c++)
        {
            ImageFiles.Write(Image("train", names[c], "0.png"), ImageFiles.Colour(c));
            ImageFiles.Write(Image("test", names[c], "0.png"), ImageFiles.Colour(c));
        }

        ImageFolderData data = Read();

        data.Classes.Should().Equal("B", "a", "b", "cat_10", "cat_2");
        data.Train.ClassCount.Should().Be(5);
        for (int i = 0; i < data.Train.Count; i++)
        {
            string name = data.Classes[data.Train.Labels[i]];
            data.TrainFiles[i].Should().Be($"train/{name}/0.png");
            Red(data.Train, i).Should().Be(ImageFiles.Colour(Array.IndexOf(names, name)).Red, "the pixels travel with their label");
        }

        Log.Should().Contain("5 classes: B, a, b, cat_10, cat_2");
    }

    [Fact]
    public void Read_Png_PixelsExactInCifarPlanes()
    {
        byte[] image = ReadAlone("g.png", 32, 32, (x, y) => new SKColor((byte)(x * 8), (byte)(y * 8), (byte)(x + y)));

        for (int y = 0; y < 32; y++)
        {
            for (int x = 0; x < 32; x++)
            {
                (image[(y * 32) + x], image[Plane + (y * 32) + x], image[(2 * Plane) + (y * 32) + x]).Should().Be(((byte)(x * 8), (byte)(y * 8), (byte)(x + y)));
            }
        }

        Log.Should().NotContain("Resized").And.NotContain("Converted");
    }

    [Fact]
    public void Read_40x40Png_ResizedAsPillowsBilinear()
    {
        byte[] image = ReadAlone("big.png", 40, 40, (x, y) => new SKColor((byte)(x * 6), (byte)(y * 6), (byte)((x + y) * 3)));

        // Pillow 9.4: Image.fromarray(a).resize((32, 32), Image.BILINEAR) of the same 40x40 image.
        byte[] pillowBlueRow5 = { 20, 23, 27, 31, 34, 38, 42, 46, 49, 53, 57, 61, 64, 68, 72, 76, 79, 83, 87, 91, 94, 98, 102, 106, 109, 113, 117, 121, 124, 128, 132, 135 };
        image[..32].Should().Equal(PillowRamp, "red row 0");
        Enumerable.Range(0, 32).Select(y => image[Plane + (y * 32)]).Should().Equal(PillowRamp, "green column 0");
        image.AsSpan((2 * Plane) + (5 * 32), 32).ToArray().Should().Equal(pillowBlueRow5);
        Log.Should().Contain("Resized 1 image that is not 32x32 (e.g. train/x/big.png, 40x40)");
    }

    [Fact]
    public void Read_40x50Png_ShorterSideTo32ThenCentreCropAsTorchvision()
    {
        byte[] image = ReadAlone("tall.png", 40, 50, (x, y) => new SKColor((byte)(x * 6), (byte)(y * 5), 77));

        // torchvision 0.14: Compose([Resize(32), CenterCrop(32)]) of the same PIL image (resized to 32x40, rows 4 to 35 kept).
        byte[] green = { 26, 32, 38, 44, 51, 57, 63, 69, 76, 82, 88, 94, 101, 107, 113, 119, 126, 132, 138, 144, 151, 157, 163, 169, 176, 182, 188, 194, 201, 207, 213, 219 };
        Enumerable.Range(0, 32).Select(y => image[Plane + (y * 32)]).Should().Equal(green);
        image[..32].Should().Equal(PillowRamp, "the width was 40 as in the square case");
        image.AsSpan(2 * Plane, Plane).ToArray().Should().OnlyContain(b => b == 77);
    }

    [Fact]
    public void Read_GreyAndRgbaAmongColour_ConvertsToRgbAndSaysHowMany()
    {
        string grey = ImageFiles.WriteGrey(Image("train", "x", "grey.png"), 32, (x, y) => (byte)((x * 7) + y));
        string rgba = ImageFiles.WriteRgba(Image("train", "x", "rgba.png"), new SKColor(10, 20, 30, 0));
        string rgb = ImageFiles.Write(Image("train", "y", "rgb.png"), new SKColor(1, 2, 3));
        (ImageFiles.PngColourType(grey), ImageFiles.PngColourType(rgba), ImageFiles.PngColourType(rgb)).Should().Be((0, 6, 2), "the fixtures hold what they say");
        WriteClasses("test", 0, 1, "x", "y");

        ImageFolderData data = Read();

        var g = ImageOf(data, "train/x/grey.png");
        for (int p = 0; p < Plane; p++)
        {
            byte expected = (byte)((p % 32 * 7) + (p / 32));
            (g[p], g[Plane + p], g[(2 * Plane) + p]).Should().Be((expected, expected, expected));
        }

        var a = ImageOf(data, "train/x/rgba.png");
        (a[0], a[Plane], a[2 * Plane]).Should().Be(((byte)10, (byte)20, (byte)30), "alpha is dropped and the colour kept, even where alpha is 0");
        Log.Should().Contain("Converted to RGB: 1 grey (the grey repeated to R, G and B; e.g. train/x/grey.png), " +
            "1 with an alpha channel (alpha dropped, colour kept, as Pillow's convert(\"RGB\"); e.g. train/x/rgba.png)");
    }

    [Fact]
    public void Read_JpegAnyCaseOfExtension_DecodedCloseToItsColour()
    {
        ImageFiles.Write(Image("train", "x", "a.JPG"), new SKColor(200, 100, 50));
        ImageFiles.Write(Image("train", "y", "b.jpeg"), new SKColor(20, 220, 120));
        WriteClasses("test", 0, 1, "x", "y");

        ImageFolderData data = Read();

        var a = ImageOf(data, "train/x/a.JPG");
        a[..Plane].Should().OnlyContain(v => Math.Abs(v - 200) <= 3);
        a.AsSpan(Plane, Plane).ToArray().Should().OnlyContain(v => Math.Abs(v - 100) <= 3);
        a.AsSpan(2 * Plane, Plane).ToArray().Should().OnlyContain(v => Math.Abs(v - 50) <= 3);
        data.TrainFiles.Should().Contain("train/y/b.jpeg");
    }

    [Fact]
    public void Read_SecondReadOfUnchangedFolder_LoadsTheCacheWithoutDecoding()
    {
        WriteClasses("train", 2, 2);
        WriteClasses("test", 2, 1);
        ImageFolderData first = Read();
        string image = Image("train", "c0", "1.png");
        var info = new FileInfo(image);
        DateTime time = info.LastWriteTimeUtc;
        File.WriteAllBytes(image, new byte[info.Length]);
        File.SetLastWriteTimeUtc(image, time);
        log.Clear();

        ImageFolderData second = Read();

        second.Train.Pixels.Should().Equal(first.Train.Pixels, "the cache was read; the image, now zeros of the same size and time, was not decoded");
        second.Test.Pixels.Should().Equal(first.Test.Pixels);
        Log.Should().Contain("Loaded the decoded images from the cache").And.NotContain("Decoding");
        Directory.GetFiles(Cache).Should().ContainSingle().Which.Should().EndWith(ImageCache.Extension, "one cache file per data folder, no temporary files");
    }

    [Fact]
    public void Read_ImageTouched_DecodesAgain()
    {
        WriteClasses("train", 2, 2);
        WriteClasses("test", 2, 1);
        Read();
        string image = Image("train", "c1", "0.png");
        File.SetLastWriteTimeUtc(image, File.GetLastWriteTimeUtc(image).AddSeconds(10));
        log.Clear();

        Read();

        Log.Should().Contain("Decoding 6 images: the folder's images changed since it was written").And.Contain("Wrote the cache");
    }

    [Fact]
    public void Read_ImageReplaced_NewPixelsFromTheRebuiltCache()
    {
        WriteClasses("train", 2, 2);
        WriteClasses("test", 2, 1);
        Read();
        string image = ImageFiles.Write(Image("train", "c1", "0.png"), new SKColor(1, 2, 3));
        File.SetLastWriteTimeUtc(image, DateTime.UtcNow.AddMinutes(1));

        ImageFolderData data = Read();

        ImageOf(data, "train/c1/0.png")[0].Should().Be(1);
        log.Clear();
        Read();
        Log.Should().Contain("Loaded the decoded images from the cache", "the rebuilt cache serves the next read");
    }

    [Fact]
    public void Read_DamagedCache_DecodesAgainAndReplacesIt()
    {
        WriteClasses("train", 2, 2);
        WriteClasses("test", 2, 1);
        ImageFolderData first = Read();
        string cache = Directory.GetFiles(Cache).Single();
        using (var stream = new FileStream(cache, FileMode.Open))
        {
            stream.SetLength(stream.Length - 100);
        }

        log.Clear();

        ImageFolderData second = Read();

        Log.Should().Contain("it is damaged").And.Contain("Wrote the cache");
        second.Train.Pixels.Should().Equal(first.Train.Pixels);
    }

    [Fact]
    public void Read_UnwritableCacheFolder_SaysSoAndStillReads()
    {
        WriteClasses("train", 2, 1);
        WriteClasses("test", 2, 1);
        File.WriteAllText(Cache, "a file where the cache folder should be");

        ImageFolderData data = Read();

        data.Train.Count.Should().Be(2);
        Log.Should().Contain("Could not write the cache").And.Contain("--image-cache");
    }

    [Fact]
    public void Read_TrainPerClass_BalancedAndDeterministicPerSeed()
    {
        WriteClasses("train", 3, 6);
        WriteClasses("test", 3, 2);

        ImageFolderData a = Read(new DataFolderOptions { TrainPerClass = 2, Seed = 1 });
        ImageFolderData again = Read(new DataFolderOptions { TrainPerClass = 2, Seed = 1 });
        ImageFolderData other = Read(new DataFolderOptions { TrainPerClass = 2, Seed = 2 });
        ImageFolderData larger = Read(new DataFolderOptions { TrainPerClass = 4, Seed = 1 });

        a.Train.Labels.GroupBy(l => l).Select(g => g.Count()).Should().Equal(2, 2, 2);
        a.TrainFiles.Should().Equal(again.TrainFiles, "the same seed gives the same subset in the same order");
        a.Train.Pixels.Should().Equal(again.Train.Pixels);
        other.TrainFiles.Should().NotBeEquivalentTo(a.TrainFiles, "another seed draws other images");
        larger.TrainFiles.Should().Contain(a.TrainFiles, "a larger count keeps what a smaller one kept");
        a.Test.Count.Should().Be(6, "--test-per-class was not given: every test image");
        Log.Should().Contain("Subset: image folder train/ (18 images in 3 classes").And.Contain("2 per class drawn by seed 1: 6 of 18 images");
        Log.Split('\n').Count(l => l.StartsWith("Decoding ", StringComparison.Ordinal)).Should().Be(1, "subsets are drawn from the cache");
    }

    [Fact]
    public void Read_WithoutCaps_EveryImageInAnOrderDrawnFromTheSeed()
    {
        WriteClasses("train", 3, 6);
        WriteClasses("test", 3, 2);

        ImageFolderData a = Read(new DataFolderOptions { Seed = 5 });
        ImageFolderData b = Read(new DataFolderOptions { Seed = 5 });

        a.TrainFiles.Should().HaveCount(18).And.OnlyHaveUniqueItems().And.Equal(b.TrainFiles);
        a.Train.Labels.Should().NotBeInAscendingOrder("the first N of a split are a random sample, not the first classes");
        a.Test.Count.Should().Be(6);
    }

    [Fact]
    public void Read_PerClassAboveAClassesImages_RefusesNamingTheClassAndItsCount()
    {
        WriteClasses("train", 2, 4);
        WriteClass("train", "cat", 3);
        WriteClasses("test", 2, 1);
        WriteClass("test", "cat", 1);

        Action read = () => Read(new DataFolderOptions { TrainPerClass = 4 });

        read.Should().Throw<UsageException>().Which.Message.Should()
            .Contain("--train-per-class 4: a class has fewer images ('cat' has 3 images)").And.Contain("Give at most 3");
    }

    [Fact]
    public void Read_NestedFoldersAndSkippedFiles_TorchvisionOrderAndEverySkipCounted()
    {
        WriteClass("train", "a", 1);
        ImageFiles.Write(Image("train", "b", "z.png"), ImageFiles.Colour(1));
        ImageFiles.Write(Path.Combine(Data, "train", "b", "sub", "a.png"), ImageFiles.Colour(2));
        File.WriteAllText(Image("train", "b", "notes.txt"), "not an image");
        File.WriteAllText(Image("train", "b", "photo.gif"), "GIF89a");
        File.WriteAllText(Image("train", "b", ".DS_Store"), "x");
        File.WriteAllText(Image("train", "b", "._z.png"), "AppleDouble");
        Directory.CreateDirectory(Path.Combine(Data, "train", ".ipynb_checkpoints"));
        File.WriteAllText(Path.Combine(Data, "train", "README.md"), "x");
        WriteClasses("test", 0, 1, "a", "b");

        ImageFolderLayout layout = ImageFolderLayout.Scan(Data);
        ImageFolderData data = Read();

        layout.Train.Select(f => f.RelativePath).Should().Equal("train/a/0.png", "train/b/z.png", "train/b/sub/a.png");
        data.Classes.Should().Equal("a", "b");
        Log.Should().Contain("Skipped 2 files in class folders that are not .jpg, .jpeg or .png (1 .gif, 1 .txt; such as train/b/notes.txt)")
            .And.Contain("Skipped 3 hidden files and folders (names starting with '.', such as train/.ipynb_checkpoints)")
            .And.Contain("Skipped files outside the class folders (1 in train/)");
    }

    [Fact]
    public void Read_ValInsteadOfTest_ReadsValAndWithBothSaysValIsNotRead()
    {
        WriteClasses("train", 2, 1);
        WriteClasses("val", 2, 3);

        Read().Test.Count.Should().Be(6);
        Log.Should().Contain("6 test images in val/");

        WriteClasses("test", 2, 1);
        Read().Test.Count.Should().Be(2);
        Log.Should().Contain($"{Path.Combine(Data, "val")} is not read: test/ is the test split.");
    }

    [Fact]
    public void Read_GarbageNamedPng_NamesTheFileAndWritesNothing()
    {
        WriteClasses("train", 2, 2);
        WriteClasses("test", 2, 1);
        string bad = Image("train", "c1", "bad.png");
        File.WriteAllBytes(bad, Enumerable.Range(0, 300).Select(i => (byte)(1 + (i * 7919 % 251))).ToArray());

        Action read = () => Read();

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .StartWith($"{bad}: not a JPEG or PNG image: no decoder recognises its bytes (it starts with 01 8b");
        Directory.Exists(Cache).Should().BeFalse("nothing is cached when an image cannot be decoded");
    }

    [Fact]
    public void Read_PngSignatureThenGarbage_SaysADamagedPng()
    {
        WriteClasses("train", 2, 1);
        WriteClasses("test", 2, 1);
        string bad = Image("test", "c0", "bad.png");
        File.WriteAllBytes(bad, new byte[] { 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a }.Concat(Enumerable.Repeat((byte)0x42, 50)).ToArray());

        Action read = () => Read();

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .StartWith($"{bad}: a damaged PNG image: it starts like one, but its header cannot be read (it starts with 89 50 4e 47");
        Directory.Exists(Cache).Should().BeFalse();
    }

    [Fact]
    public void Read_TruncatedPngAndHtmlNamedJpg_NamesBothInOneMessage()
    {
        WriteClasses("train", 2, 2);
        WriteClasses("test", 2, 1);
        byte[] png = File.ReadAllBytes(ImageFiles.Write(Image("train", "c0", "cut.png"), 32, 32, (x, y) => ImageFiles.Colour((x * y) + x)));
        File.WriteAllBytes(Image("train", "c0", "cut.png"), png[..(png.Length / 2)]);
        string html = Image("test", "c1", "page.jpg");
        File.WriteAllText(html, "<!DOCTYPE html><html>Not found</html>");

        Action read = () => Read();

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain("2 of 8 images cannot be used (nothing was cached)")
            .And.Contain($"{Image("train", "c0", "cut.png")}: a damaged PNG image: its data ends early")
            .And.Contain($"{html}: not a JPEG or PNG image").And.Contain("text \"<!DOCTYPE html><\"");
        Directory.Exists(Cache).Should().BeFalse();
    }

    [Fact]
    public void Read_WebpNamedPng_RefusesNamingItsRealFormat()
    {
        WriteClasses("train", 2, 1);
        WriteClasses("test", 2, 1);
        string webp = ImageFiles.WriteWebp(Image("train", "c0", "photo.png"), new SKColor(9, 9, 9));

        Action read = () => Read();

        read.Should().Throw<DataFormatException>().Which.Message.Should().Be(
            $"{webp}: a WEBP image; image folders are read as JPEG or PNG (whatever the file name says). Convert it to PNG or JPEG, or remove it.");
    }

    [Fact]
    public void Read_EmptyClassFolder_NamesItAndWhatItHolds()
    {
        WriteClasses("train", 2, 1);
        WriteClasses("test", 2, 1);
        Directory.CreateDirectory(Path.Combine(Data, "train", "empty"));
        Directory.CreateDirectory(Path.Combine(Data, "test", "empty"));
        File.WriteAllText(Image("test", "empty", "labels.csv"), "x");

        Action read = () => Read();

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain("class folders hold no .jpg, .jpeg or .png image")
            .And.Contain($"{Path.Combine(Data, "train", "empty")} (empty)")
            .And.Contain($"{Path.Combine(Data, "test", "empty")} (1 other file, such as labels.csv)");
        Directory.Exists(Cache).Should().BeFalse();
    }

    [Fact]
    public void Read_ClassListsDiffer_NamesTheClassesMissingOnEachSide()
    {
        WriteClasses("train", 0, 1, "cat", "dog", "emu");
        WriteClasses("test", 0, 1, "cat", "dog", "fox");

        Action read = () => Read();

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain("differ: only in train/: emu; only in test/: fox");
    }

    [Fact]
    public void Read_SplitWithoutClassFolders_SaysWhereTheImagesGo()
    {
        WriteClasses("train", 2, 1);
        ImageFiles.Write(Path.Combine(Data, "test", "0.png"), ImageFiles.Colour(0));

        Action read = () => Read();

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain($"'{Path.Combine(Data, "test")}' has no class folders: it holds 1 file directly inside (such as 0.png)")
            .And.Contain("<class>/<image>");
    }

    [Fact]
    public void Read_NoTestOrValFolder_SaysWhichIsMissing()
    {
        WriteClasses("train", 2, 1);

        Action read = () => Read();

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .Contain($"has {Path.Combine(Data, "train")} but neither a test/ nor a val/ folder");
    }

    [Fact]
    public void Read_FolderWithoutSplitsOrMissing_SaysSoWithTheLayout()
    {
        WriteClasses("training", 2, 1);

        Action read = () => Read();
        Action missing = () => ImageFolderReader.Read(Path.Combine(temp.Path, "nowhere"), new DataFolderOptions { CacheDirectory = Cache }, log.Add);

        read.Should().Throw<DataFormatException>().Which.Message.Should()
            .StartWith($"--data: '{Data}' has no train/, test/ or val/ folder. An image folder is DIR/train/<class>/<image>");
        missing.Should().Throw<DataFormatException>().Which.Message.Should().StartWith($"--data: '{Path.Combine(temp.Path, "nowhere")}' does not exist.");
    }

    [Fact]
    public void Read_OneClass_RefusesForAClassifierNeedsTwo()
    {
        WriteClasses("train", 1, 1);
        WriteClasses("test", 1, 1);

        Action read = () => Read();

        read.Should().Throw<DataFormatException>().Which.Message.Should().Contain("one class folder (c0); a classifier needs at least 2 classes");
    }

    [Fact]
    public void Read_ImageSizeOtherThan32_RefusedNamingTheOption()
    {
        Action read = () => Read(new DataFolderOptions { ImageSize = 64 });

        read.Should().Throw<UsageException>().Which.Message.Should().StartWith("--image-size 64: the trainer's models and data are 32x32");
    }

    [Fact]
    public void DataFolderRead_ImageFolder_DetectedWithClassNames()
    {
        WriteClasses("train", 2, 2);
        WriteClasses("test", 2, 1);

        DataFolder.Detect(Data).Should().Be(DataFormat.ImageFolder);
        LoadedData data = DataFolder.Read(Data, new DataFolderOptions { CacheDirectory = Cache }, log.Add);

        (data.Format, data.Train.Count, data.Test.Count).Should().Be((DataFormat.ImageFolder, 4, 2));
        data.ClassNames.Should().Equal("c0", "c1");
    }

    [Fact]
    public void DataFolderRead_Cifar10WithPerClassCounts_BalancedSubsetsOfABinaryFormat()
    {
        Directory.CreateDirectory(Data);
        byte[] Batch(int records) => Enumerable.Range(0, records)
            .SelectMany(r => new[] { (byte)(r % 10) }.Concat(Enumerable.Repeat((byte)r, CifarData.PixelsPerImage))).ToArray();
        foreach (string name in CifarBinaryReader.Cifar10TrainFiles)
        {
            File.WriteAllBytes(Path.Combine(Data, name), Batch(10));
        }

        File.WriteAllBytes(Path.Combine(Data, CifarBinaryReader.Cifar10TestFile), Batch(30));

        LoadedData data = DataFolder.Read(Data, new DataFolderOptions { TrainPerClass = 3, TestPerClass = 2 }, log.Add);

        data.Train.Labels.GroupBy(l => l).Select(g => g.Count()).Should().HaveCount(10).And.OnlyContain(n => n == 3);
        data.Test.Labels.GroupBy(l => l).Select(g => g.Count()).Should().HaveCount(10).And.OnlyContain(n => n == 2);
        data.ClassNames.Should().BeNull("the binary formats carry no class names");
        Log.Should().Contain("3 per class drawn by seed 1: 30 of 50 images").And.Contain("2 per class drawn by seed 1: 20 of 30 images");
    }

    private ImageFolderData Read(DataFolderOptions? options = null) =>
        ImageFolderReader.Read(Data, (options ?? new DataFolderOptions()) with { CacheDirectory = Cache }, log.Add);

    /// <summary>Writes train/x/<paramref name="file"/> beside one image of class y and a test image of each, reads the folder, and returns that image's pixels.</summary>
    private byte[] ReadAlone(string file, int width, int height, Func<int, int, SKColor> pixel)
    {
        ImageFiles.Write(Image("train", "x", file), width, height, pixel);
        WriteClass("train", "y", 1);
        WriteClasses("test", 0, 1, "x", "y");
        return ImageOf(Read(), $"train/x/{file}");
    }

    private string Image(string split, string className, string file)
    {
        string folder = Path.Combine(Data, split, className);
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, file);
    }

    /// <summary>Classes c0..c(n-1) (or the names given), each with <paramref name="perClass"/> uniform PNGs 0.png, 1.png, ... of distinct colours.</summary>
    private void WriteClasses(string split, int classes, int perClass, params string[] names)
    {
        foreach (string name in names.Length > 0 ? names : Enumerable.Range(0, classes).Select(c => $"c{c}"))
        {
            WriteClass(split, name, perClass);
        }
    }

    private void WriteClass(string split, string name, int count)
    {
        for (int i = 0; i < count; i++)
        {
            ImageFiles.Write(Image(split, name, $"{i}.png"), ImageFiles.Colour(next++));
        }
    }

    private static byte Red(CifarData data, int i) => data.Pixels[i * CifarData.PixelsPerImage];

    private static byte[] ImageOf(ImageFolderData data, string file)
    {
        int i = data.TrainFiles.ToList().IndexOf(file);
        i.Should().BeGreaterThanOrEqualTo(0, $"{file} is in the training set");
        return data.Train.Pixels.AsSpan(i * CifarData.PixelsPerImage, CifarData.PixelsPerImage).ToArray();
    }
}
