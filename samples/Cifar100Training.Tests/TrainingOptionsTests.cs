using System;
using FluentAssertions;
using Xunit;

namespace Cifar100Training.Tests;

public sealed class TrainingOptionsTests
{
    [Fact]
    public void Parse_NoArguments_ComparesFullRebatchedRandomAtKeep06WithTwentyPercentNoise()
    {
        TrainingOptions o = TrainingOptions.Parse(Array.Empty<string>());

        o.Runs.Should().Equal("full", "rebatched", "random");
        o.Keep.Should().Be(0.6);
        o.LabelNoise.Should().Be(0.2);
        o.DataDirectory.Should().BeNull();
    }

    [Theory]
    [InlineData(new[] { "--bogus" }, "Unknown option '--bogus'")]
    [InlineData(new[] { "--keep", "1.5" }, "--keep: '1.5' must be a number in (0, 1]")]
    [InlineData(new[] { "--strategy", "topk" }, "--strategy: 'topk' is not one of full, masked, rebatched, cached, random")]
    [InlineData(new[] { "--schedule", "ramp:x" }, "--schedule: 'ramp:x'")]
    [InlineData(new[] { "--epochs" }, "--epochs needs a value")]
    [InlineData(new[] { "--resume" }, "--resume needs --output DIR")]
    [InlineData(new[] { "--swap", "--norm", "group" }, "--swap builds the model with BatchNorm")]
    public void Parse_BadInput_MessageNamesOptionAndFix(string[] args, string expected)
    {
        Action parse = () => TrainingOptions.Parse(args);

        parse.Should().Throw<UsageException>().Which.Message.Should().Contain(expected);
    }

    [Fact]
    public void Parse_RampWithoutEpochs_RampsOverHalfTheEpochs()
    {
        TrainingOptions.Parse(new[] { "--schedule", "ramp", "--epochs", "10" }).RampEpochs.Should().Be(5);
        TrainingOptions.Parse(new[] { "--schedule", "ramp:3" }).RampEpochs.Should().Be(3);
    }

    [Fact]
    public void Main_UnknownOption_ExitsWithCode2()
    {
        Program.Main(new[] { "--batchsize", "32" }).Should().Be(2);
    }
}
