using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace SelectiveLoss.Numerics;

/// <summary>The processor as the operating system names it, for messages and for remembering faults per CPU.</summary>
internal static class CpuInfo
{
    private static readonly Lazy<string> Text = new(Read);

    /// <summary>For example <c>AMD EPYC (AuthenticAMD, family 26, model 2, stepping 1), 2 logical CPUs</c>.</summary>
    public static string Describe() => Text.Value;

    /// <summary>Reads the fields of the first processor in /proc/cpuinfo's format.</summary>
    internal static string Parse(IEnumerable<string> lines, int logicalCpus)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in lines)
        {
            if (line.Trim().Length == 0 && fields.Count > 0)
            {
                break;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
            }
        }

        string name = fields.GetValueOrDefault("model name") ?? fields.GetValueOrDefault("Processor") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var details = new[] { ("vendor_id", ""), ("cpu family", "family "), ("model", "model "), ("stepping", "stepping "), ("microcode", "microcode ") }
            .Where(f => fields.ContainsKey(f.Item1))
            .Select(f => f.Item2 + fields[f.Item1])
            .ToList();
        return name + (details.Count > 0 ? " (" + string.Join(", ", details) + ")" : string.Empty) + $", {logicalCpus} logical CPUs";
    }

    private static string Read()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                return Parse(File.ReadLines("/proc/cpuinfo"), Environment.ProcessorCount);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return $"{RuntimeInformation.ProcessArchitecture} ({RuntimeInformation.OSDescription}), {Environment.ProcessorCount} logical CPUs";
    }
}
