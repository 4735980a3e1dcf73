using System;
using System.IO;
using FluentAssertions;
using PublicApiGenerator;
using SelectiveLoss.Selection;
using Xunit;

namespace SelectiveLoss.Tests.PublicApi;

/// <summary>
/// The public surface of SelectiveLoss is checked in as text (PublicApi/SelectiveLoss.approved.txt, written by
/// PublicApiGenerator with nullability), so a change to it is a visible decision in review. When this test fails, it
/// writes SelectiveLoss.received.txt beside the approved file: compare the two, and if the change is intended, copy
/// received over approved.
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void PublicApi_MatchesApprovedText()
    {
        string approvedPath = Path.Combine(RepositoryFiles.Root, "src", "SelectiveLoss.Tests", "PublicApi", "SelectiveLoss.approved.txt");
        string receivedPath = Path.Combine(Path.GetDirectoryName(approvedPath)!, "SelectiveLoss.received.txt");
        string actual = typeof(SelectiveLossReducer).Assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            // Assembly attributes carry build-specific values (the commit in the informational version).
            ExcludeAttributes = new[]
            {
                "System.Reflection.AssemblyInformationalVersionAttribute",
                "System.Reflection.AssemblyMetadataAttribute",
            },
        }).ReplaceLineEndings("\n") + "\n";
        string approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : string.Empty;
        if (actual != approved)
        {
            File.WriteAllText(receivedPath, actual);
        }
        else if (File.Exists(receivedPath))
        {
            File.Delete(receivedPath);
        }

        actual.Should().Be(approved, $"the public API changed: compare {receivedPath} with {approvedPath}, and copy it over if intended");
    }

    [Fact]
    public void PublicApi_NullableMembers_ShownAsNullable()
    {
        string api = typeof(SelectiveLossReducer).Assembly.GeneratePublicApi();

        api.Should().Contain("TorchSharp.Modules.Parameter? bias { get; }", "ChannelGroupNorm.bias is null when not affine");
        api.Should().Contain("SelectiveLoss.Training.ScoreMemory? Memory { get; }", "SelectiveStep.Memory is null with fresh scores");
    }
}
