using System;
using System.IO;

namespace SelectiveLoss.Tests;

/// <summary>Finds files of the repository (README, samples) from the test's output folder.</summary>
internal static class RepositoryFiles
{
    /// <summary>The repository root: the nearest folder above the test output that holds SelectiveLoss.sln.</summary>
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "SelectiveLoss.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("SelectiveLoss.sln was not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The text of a file given relative to the repository root.</summary>
    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath));
}
