using FluentAssertions;
using Xunit;
using static TorchSharp.torch;

namespace Cifar100Training.Tests;

[Collection(TorchCollection.Name)]
public sealed class ModelFactoryTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(100)]
    public void Build_ClassCountOfTheData_OneLogitPerClass(int classes)
    {
        var options = TrainingOptions.Parse(new[] { "--model", "tiny", "--norm", "batch" });
        using var model = ModelFactory.Build(options, classes, _ => { });
        model.eval();
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            model.forward(zeros(2, 3, 32, 32)).shape.Should().Equal(2L, classes);
        }
    }
}
