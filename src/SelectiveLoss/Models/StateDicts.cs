using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Models;

/// <summary>
/// Loads a PyTorch state_dict file into any TorchSharp module by name, the way PyTorch's
/// <c>model.load_state_dict(torch.load(path), strict=...)</c> does: <c>.pth</c>/<c>.pt</c>/<c>.bin</c> files written
/// by <c>torch.save(model.state_dict(), path)</c> (the zip format of PyTorch 1.6 and later, and the legacy format of
/// earlier versions, in which torchvision's published DenseNet weights are) and <c>.safetensors</c>. Saving needs
/// nothing of ours: TorchSharp.PyBridge's <c>model.save_py(path)</c> writes a file that PyTorch's <c>torch.load</c> reads,
/// and <c>model.save_safetensors(path)</c> a safetensors file.
/// </summary>
/// <remarks>
/// <para>
/// The files are read by TorchSharp.PyBridge (zip and safetensors). This class adds what PyBridge's
/// <c>load_py</c>/<c>load_safetensors</c> lack: every key, shape and dtype is checked before any tensor of the model is
/// written, so a failed load leaves the model exactly as it was (PyBridge writes each tensor as it reads it, and reads
/// a smaller tensor into a larger parameter without complaint); errors and the returned report name the file and
/// every key; a shape mismatch can be skipped and reported instead of failing (<c>ignore_mismatched_sizes</c>, as in
/// Hugging Face's <c>from_pretrained</c>), for loading 1,000-class ImageNet weights into a 100-class model; the old
/// key names of torchvision's published DenseNet checkpoints (<c>denselayer1.norm.1.weight</c>) are renamed as
/// torchvision's own loader renames them; and PyTorch's legacy format is read.
/// </para>
/// <para>
/// Dtypes: a floating-point tensor loads into a floating-point parameter or buffer of another precision (float16 or
/// float64 into float32), converted as PyTorch's <c>load_state_dict</c> converts it, and is listed in
/// <see cref="StateDictLoadReport.ConvertedKeys"/>; an integer tensor loads into an integer buffer
/// (<c>num_batches_tracked</c>). Any other pairing (integers or booleans into a float parameter, floats into an
/// integer buffer, complex numbers) is refused. The file is read whole into temporary CPU tensors first, so a load
/// needs the file's size in free memory once more.
/// </para>
/// </remarks>
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores",
    Justification = "Names are PyTorch's (load_state_dict, strict) and Hugging Face's (ignore_mismatched_sizes).")]
public static class StateDicts
{
    /// <summary>
    /// Loads the state_dict in <paramref name="path"/> into <paramref name="module"/> by name, after checking every key,
    /// shape and dtype, and reports what it did.
    /// </summary>
    /// <param name="module">The module to load into; its parameters and buffers are overwritten in place (under
    /// <c>no_grad</c>), on whatever device they are.</param>
    /// <param name="path">A <c>.pth</c>/<c>.pt</c>/<c>.bin</c> file written by <c>torch.save</c>, or a <c>.safetensors</c>
    /// file; the format is recognised from the file's first bytes.</param>
    /// <param name="strict">If true (PyTorch's default), a key of the model missing from the file, or a key of the file
    /// the model does not have, is an error. If false, those are skipped and listed in the report.</param>
    /// <param name="ignore_mismatched_sizes">If true, a key whose shape differs between the file and the model is
    /// skipped (the model keeps its value) and listed in <see cref="StateDictLoadReport.ShapeMismatches"/>; if false,
    /// it is an error.</param>
    /// <returns>What was loaded, skipped, renamed and converted.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="module"/> or <paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty; or the file does not fit the model: a shape
    /// differs (without <paramref name="ignore_mismatched_sizes"/>), a dtype cannot be loaded, or (strict) keys are
    /// missing or unexpected. The message names the file and every such key, and says how to load the rest; the model
    /// is unchanged.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist; the model is unchanged.</exception>
    /// <exception cref="InvalidDataException">The file is not a PyTorch state_dict or safetensors file, or it is
    /// truncated; the message names the file and says what is wrong; the model is unchanged.</exception>
    /// <example>
    /// torchvision's ImageNet weights into a DenseNet-121 for 100 classes: everything loads except the classifier,
    /// which keeps its fresh initialisation and is reported.
    /// <code language="csharp">
    /// var model = DenseNets.densenet121(num_classes: 100);
    /// StateDictLoadReport report = model.load_state_dict("densenet121-a639ec97.pth", ignore_mismatched_sizes: true);
    /// Console.WriteLine(report);   // ... Skipped, shapes differ (2): classifier.weight: the file has [1000, 1024], ...
    /// </code>
    /// </example>
    public static StateDictLoadReport load_state_dict(this nn.Module module, string path, bool strict = true,
        bool ignore_mismatched_sizes = false)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new ArgumentException("path is empty; pass the path of a .pth, .pt, .bin or .safetensors file.", nameof(path));
        }

        Dictionary<string, Tensor> file = StateDictFile.Read(path);
        try
        {
            var plan = Plan(module.state_dict(), file, path, strict, ignore_mismatched_sizes, module.GetType().Name);
            Apply(plan);
            return plan.Report;
        }
        finally
        {
            foreach (var t in file.Values)
            {
                t.Dispose();
            }
        }
    }

    private static LoadPlan Plan(Dictionary<string, Tensor> model, Dictionary<string, Tensor> read, string path, bool strict,
        bool ignoreMismatchedSizes, string modelType)
    {
        // torchvision's old DenseNet names, renamed as torchvision renames them, unless the model itself uses the old
        // name or the file also has the new one.
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var file = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in read)
        {
            string? newKey = DenseNet.RenameTorchvisionKey(key);
            if (newKey is not null && !model.ContainsKey(key) && !read.ContainsKey(newKey))
            {
                renamed[key] = newKey;
                file[newKey] = tensor;
            }
            else
            {
                file[key] = tensor;
            }
        }

        var defaulted = model.Keys.Where(k => !file.ContainsKey(k) && IsPre041Counter(k, file, model)).ToList();
        var missing = model.Keys.Where(k => !file.ContainsKey(k)).Except(defaulted).ToList();
        var unexpected = file.Keys.Where(k => !model.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var shapes = new List<StateDictShapeMismatch>();
        var dtypes = new List<string>();
        var copies = new List<(Tensor target, Tensor source)>();
        var loaded = new List<string>();
        var converted = new List<string>();
        foreach (var (key, target) in model)
        {
            if (!file.TryGetValue(key, out var source))
            {
                continue;
            }

            if (!source.shape.SequenceEqual(target.shape))
            {
                shapes.Add(new StateDictShapeMismatch(key, source.shape, target.shape));
            }
            else if (source.dtype != target.dtype && !Convertible(source.dtype, target.dtype))
            {
                dtypes.Add($"{key}: the file has {source.dtype}, the model {target.dtype}");
            }
            else
            {
                if (source.dtype != target.dtype)
                {
                    converted.Add(key);
                }

                copies.Add((target, source));
                loaded.Add(key);
            }
        }

        var problems = new List<string>();
        if (dtypes.Count > 0)
        {
            problems.Add($"dtypes that do not load ({dtypes.Count}; a floating-point tensor loads into any floating-point " +
                $"parameter, an integer one into an integer buffer): {StateDictLoadReport.List(dtypes)}");
        }

        if (shapes.Count > 0 && !ignoreMismatchedSizes)
        {
            problems.Add($"shapes differ ({shapes.Count}; pass ignore_mismatched_sizes: true to skip them and load the rest): " +
                StateDictLoadReport.List(shapes.Select(s => s.ToString())));
        }

        if (strict && missing.Count > 0)
        {
            problems.Add($"missing keys ({missing.Count}), in the model but not in the file (pass strict: false to load the rest): " +
                StateDictLoadReport.List(missing));
        }

        if (strict && unexpected.Count > 0)
        {
            problems.Add($"unexpected keys ({unexpected.Count}), in the file but not in the model (pass strict: false to ignore them): " +
                StateDictLoadReport.List(unexpected));
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(
                $"'{path}' does not fit the {modelType}, so nothing was loaded: " + string.Join("; ", problems) + ".", nameof(path));
        }

        var report = new StateDictLoadReport(path, loaded, missing, unexpected, ignoreMismatchedSizes ? shapes : Array.Empty<StateDictShapeMismatch>(),
            renamed, converted, defaulted);
        return new LoadPlan(copies, defaulted.Select(k => model[k]).ToList(), report);
    }

    private static void Apply(LoadPlan plan)
    {
        using var noGrad = torch.no_grad();
        foreach (var (target, source) in plan.Copies)
        {
            target.copy_(source);
        }

        foreach (var counter in plan.Counters)
        {
            counter.zero_();
        }
    }

    // PyTorch's BatchNorm fills in a num_batches_tracked that a checkpoint from before PyTorch 0.4.1 lacks (it has the
    // running statistics but not the counter): with 0.
    private static bool IsPre041Counter(string key, Dictionary<string, Tensor> file, Dictionary<string, Tensor> model)
    {
        const string Counter = "num_batches_tracked";
        if (!key.EndsWith("." + Counter, StringComparison.Ordinal) && key != Counter)
        {
            return false;
        }

        string prefix = key[..^Counter.Length];
        return file.ContainsKey(prefix + "running_mean") && model.ContainsKey(prefix + "running_mean");
    }

    private static bool Convertible(ScalarType from, ScalarType to) =>
        (IsFloat(from) && IsFloat(to)) || (IsInteger(from) && IsInteger(to));

    private static bool IsFloat(ScalarType type) =>
        type is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;

    private static bool IsInteger(ScalarType type) =>
        type is ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte;

    private sealed record LoadPlan(List<(Tensor target, Tensor source)> Copies, List<Tensor> Counters, StateDictLoadReport Report);
}
