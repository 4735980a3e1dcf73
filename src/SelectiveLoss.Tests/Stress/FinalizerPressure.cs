using System;
using System.Diagnostics;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using static TorchSharp.torch;

namespace SelectiveLoss.Tests.Stress;

/// <summary>
/// Runs a call in a loop while another thread makes the garbage collector run, and its finalizers with it: the
/// conditions in which TorchSharp's implicitly converted <c>Scalar</c>s are freed while a native call still reads them.
/// </summary>
/// <remarks>
/// <para>
/// The race: an implicit <c>Scalar</c> (from <c>add_(1)</c>, <c>mul_(momentum)</c>, the default <c>alpha</c> of an
/// add) is unreachable as soon as TorchSharp has read its handle to pass it to LibTorch. A collection that starts then
/// finds it dead and queues its finalizer, which frees the native scalar; when the finalizer thread gets there before
/// LibTorch has read the value, LibTorch reads freed memory: <c>ExternalException</c> "Expected false to be true ...
/// toLong at c10/core/Scalar.h", "Unknown scalar type", "alpha must not be a floating point number", or, where
/// TorchSharp reads a Scalar without catching LibTorch's error (<c>Scalar.ToDouble</c>), an abort of the process.
/// </para>
/// <para>
/// Only optimised code has the race: tier-0 code keeps every temporary alive to the end of its method. So each loop
/// first warms up without pressure until TorchSharp's methods have been recompiled (tiered compilation needs 30 calls
/// and a quiet 100 ms, which a process just started does not have: measured, the first trial of a fresh process held
/// while every later one failed, so a young process warms up for longer).
/// </para>
/// </remarks>
internal static class FinalizerPressure
{
    /// <summary>
    /// Calls <paramref name="call"/> for <paramref name="warmup"/> (and up to twice as long for 64 calls) without pressure, then for
    /// <paramref name="duration"/> (at least once) under <paramref name="pressure"/>, each call in its own dispose scope;
    /// counts the calls that threw and those that returned false (a wrong state). With
    /// <paramref name="stopAtFirstFailure"/> it returns at the first failure.
    /// </summary>
    public static StressOutcome Run(string site, Func<bool> call, TimeSpan warmup, TimeSpan duration,
        Pressure pressure = Pressure.Forced, bool stopAtFirstFailure = false)
    {
        ArgumentNullException.ThrowIfNull(call);

        // A young process is still compiling at tier 0 and puts tier-1 compilation off: warm up until it is 4 s old.
        TimeSpan age = DateTime.Now - Process.GetCurrentProcess().StartTime;
        if (age < TimeSpan.FromSeconds(4) - warmup)
        {
            warmup = TimeSpan.FromSeconds(4) - age;
        }

        var clock = Stopwatch.StartNew();
        for (long i = 0; i == 0 || clock.Elapsed < warmup || (i < 64 && clock.Elapsed < 2 * warmup); i++)
        {
            using var scope = NewDisposeScope();
            _ = call();
        }

        Thread.Sleep(150);

        long calls = 0, failures = 0, wrong = 0;
        int collectionsBefore = GC.CollectionCount(0);
        string? firstError = null;
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() => Press(pressure, stop.Token)) { IsBackground = true, Name = "finalizer pressure" };
        clock.Restart();
        collector.Start();
        try
        {
            while ((calls == 0 || clock.Elapsed < duration) && !(stopAtFirstFailure && failures + wrong > 0))
            {
                calls++;
                using var scope = NewDisposeScope();
                try
                {
                    if (!call())
                    {
                        wrong++;
                        firstError ??= "wrong result (no exception)";
                    }
                }
                catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException)
                {
                    failures++;
                    firstError ??= e.GetType().Name + ": " + FirstLines(e.Message);
                }
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }

        return new StressOutcome(site, calls, failures, wrong, GC.CollectionCount(0) - collectionsBefore, clock.Elapsed, firstError);
    }

    private static void Press(Pressure pressure, CancellationToken stop)
    {
        long count = 0;
        object?[] kept = new object?[64];
        while (!stop.IsCancellationRequested)
        {
            if (pressure == Pressure.Forced)
            {
                // Gen-0 collections (tens of microseconds, the kind allocation triggers during training), each followed
                // at once by the finalizers it queued, and a full collection every so often.
                _ = new byte[256];
                GC.Collect(count % 16 == 15 ? GC.MaxGeneration : 0, GCCollectionMode.Forced, blocking: true);
                GC.WaitForPendingFinalizers();
            }
            else
            {
                // Garbage only, as a data loader or a progress bar makes it: the collections come when the runtime
                // decides, and the finalizer thread runs when it is woken.
                for (int i = 0; i < 256; i++)
                {
                    kept[i % kept.Length] = new byte[1024];
                }
            }

            count++;
        }
    }

    // LibTorch's messages run over several lines (message, "Exception raised from ...", a stack): keep the first two.
    private static string FirstLines(string message)
    {
        string[] lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" / ", lines.Take(2));
    }
}
