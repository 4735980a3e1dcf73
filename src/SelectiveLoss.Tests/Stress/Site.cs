using System;

namespace SelectiveLoss.Tests.Stress;

/// <summary>One call site ready to loop: the call (true when it left the right state) and what to dispose after.</summary>
internal sealed class Site : IDisposable
{
    private readonly IDisposable[] resources;

    public Site(Func<bool> call, params IDisposable[] resources)
    {
        Call = call;
        this.resources = resources;
    }

    /// <summary>Gets the call; it returns false when it returned but left a wrong state.</summary>
    public Func<bool> Call { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (IDisposable resource in resources)
        {
            resource.Dispose();
        }
    }
}
