using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace SelectiveLoss.Benchmarks;

/// <summary>
/// The leak check: every rule of <see cref="LeakRule"/> runs its warm-up steps, then the measured steps; resident
/// memory (VmRSS) and TorchSharp's live-tensor counts are sampled before and after, each after a full garbage
/// collection (a <see cref="Training.StepResult"/> nobody reads holds two small tensors until it is collected).
/// The whole check repeats, so the table shows the run-to-run noise beside the growth.
/// </summary>
internal static class LeakCheck
{
    public const string CsvHeader = "rule,repeat,steps,rss_before_mb,rss_after_mb,growth_mb,live_tensors_before,live_tensors_after,thread_live_before,thread_live_after,managed_growth_kb,verdict";

    /// <summary>
    /// Resident-memory growth below which a rule counts as flat: above the noise. Measured while building the check (100
    /// steps a rule, after glibc's free blocks were trimmed): the control, a plain step without the library, moved by
    /// up to 7.2 MB, every rule by -7.2 to +7.8 MB, in either direction. 10 MB over 500 steps is 20 KB a step; a leaked
    /// batch input (32 x 3 x 32 x 32 floats, 384 KiB) a step would add 188 MB. Smaller leaks hide in that noise, which
    /// is why the verdict also needs the live-tensor count unchanged (it is exact: one leaked tensor a step shows as 500)
    /// and the managed heap flat.
    /// </summary>
    public const double FlatThresholdMb = 10.0;

    /// <summary>
    /// Managed-heap growth below which a rule counts as flat. A history, journal or list that grew by one 8-byte entry
    /// per sample would add 125 KB over 500 steps of 32; the heap measured after a full collection moves by a few KB
    /// between samples.
    /// </summary>
    public const double FlatManagedThresholdKb = 64.0;

    public static IReadOnlyList<MemoryRow> Run(int warmup, int steps, int repeats)
    {
        var rows = new List<MemoryRow>();
        // Repeat 0 warms the process up (JIT, allocator, TorchSharp's first calls): every rule's warm-up, unrecorded.
        for (int repeat = 0; repeat <= repeats; repeat++)
        {
            foreach (string name in LeakRule.Names)
            {
                Console.Write(string.Create(CultureInfo.InvariantCulture, $"\rleak check {(repeat == 0 ? "warm-up" : $"{repeat}/{repeats}")}: {name,-18}"));
                using var rule = new LeakRule(name);
                for (int i = 0; i < warmup; i++)
                {
                    rule.Step();
                }

                if (repeat == 0)
                {
                    continue;
                }

                var before = Sample();
                for (int i = 0; i < steps; i++)
                {
                    rule.Step();
                }

                var after = Sample();
                rows.Add(new MemoryRow(name, repeat, steps, before.RssMb, after.RssMb, before.LiveTensors, after.LiveTensors,
                    before.ThreadLive, after.ThreadLive, before.ManagedBytes, after.ManagedBytes));
            }
        }

        Console.WriteLine();
        return rows;
    }

    public static void Print(IReadOnlyList<MemoryRow> rows, int warmup)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Leak check: tiny CIFAR DenseNet (BatchNorm), batch {LeakRule.Batch}, {warmup} warm-up steps, then the steps below; flat = RSS growth < {FlatThresholdMb:0.0} MB, managed-heap growth < {FlatManagedThresholdKb:0} KB and no more live tensors (all threads)"));
        Console.WriteLine($"{"rule",-18} {"repeat",6} {"steps",6} {"RSS before",11} {"RSS after",10} {"growth MB",10} {"live before",12} {"live after",11} {"thread live +/-",16} {"managed KB",11}  verdict");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Rule,-18} {r.Repeat,6} {r.Steps,6} {r.RssBeforeMb,11:0.0} {r.RssAfterMb,10:0.0} {r.GrowthMb,10:+0.0;-0.0;0.0} {r.LiveBefore,12} {r.LiveAfter,11} {r.ThreadLiveAfter - r.ThreadLiveBefore,16:+0;-0;0} {r.ManagedGrowthKb,11:+0.0;-0.0;0.0}  {Verdict(r)}"));
        }

        var control = rows.Where(r => r.Rule == "full").Select(r => Math.Abs(r.GrowthMb)).DefaultIfEmpty(double.NaN).Max();
        var spread = rows.GroupBy(r => r.Rule).Select(g => g.Max(r => r.GrowthMb) - g.Min(r => r.GrowthMb)).DefaultIfEmpty(double.NaN).Max();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"noise: the control (full) moved by at most {control:0.0} MB; a rule's growth differed between repeats by at most {spread:0.0} MB"));
        int flat = rows.Count(r => r.IsFlat(FlatThresholdMb, FlatManagedThresholdKb));
        Console.WriteLine($"verdict: {flat} of {rows.Count} runs flat{(flat == rows.Count ? string.Empty : "; see the rows marked GROWS")}");
    }

    public static void WriteCsv(string path, IReadOnlyList<MemoryRow> rows)
    {
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (var r in rows)
        {
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{r.Rule},{r.Repeat},{r.Steps},{r.RssBeforeMb:0.0},{r.RssAfterMb:0.0},{r.GrowthMb:0.0},{r.LiveBefore},{r.LiveAfter},{r.ThreadLiveBefore},{r.ThreadLiveAfter},{r.ManagedGrowthKb:0.0},{Verdict(r)}")).Append('\n');
        }

        Report.WriteText(path, text.ToString());
    }

    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallocTrim(nuint pad);

    private static string Verdict(MemoryRow r) => r.IsFlat(FlatThresholdMb, FlatManagedThresholdKb) ? "flat" : "GROWS";

    private static (double RssMb, long LiveTensors, long ThreadLive, long ManagedBytes) Sample()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        // glibc keeps freed blocks in its arenas; handing them back first makes the resident memory what is in use.
        _ = MallocTrim(0);
        return (Report.RssMb(), torch.Tensor.TotalCount, DisposeScopeManager.Statistics.ThreadTotalLiveCount, GC.GetTotalMemory(forceFullCollection: true));
    }
}
