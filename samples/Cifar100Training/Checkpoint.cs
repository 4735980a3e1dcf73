using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Cifar100Training;

/// <summary>
/// A run's checkpoint: <c>epoch-NNNN.model</c> (weights and buffers), <c>epoch-NNNN.optim</c> (SGD momentum buffers),
/// <c>epoch-NNNN.scores</c> (the cached strategy's score memory), and <c>checkpoint.txt</c>, written last and atomically, which names the finished epoch and holds the metrics so far
/// and the options fingerprint. Shuffle and augmentation are pure functions of (seed, epoch), so no generator state
/// needs saving. A kill at any moment leaves the previous complete checkpoint in force.
/// </summary>
internal static class Checkpoint
{
    private const string Manifest = "checkpoint.txt";

    public static void Save(string directory, int epoch, string fingerprint, IReadOnlyList<EpochMetrics> metrics, nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer, SelectiveLoss.Training.ScoreCache? scores = null)
    {
        Directory.CreateDirectory(directory);
        string stem = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"epoch-{epoch:0000}"));
        AtomicFile.Write(stem + ".model", temp => model.save(temp));
        AtomicFile.Write(stem + ".optim", temp => optimizer.save_state_dict(temp));
        if (scores is not null)
        {
            AtomicFile.Write(stem + ".scores", temp =>
            {
                using var file = File.Create(temp);
                scores.Save(file);
            });
        }
        string manifest = string.Create(CultureInfo.InvariantCulture, $"epoch={epoch}\nfingerprint={fingerprint}\n") + EpochMetrics.ToCsv(metrics);
        AtomicFile.WriteText(Path.Combine(directory, Manifest), manifest);
        foreach (string old in Directory.GetFiles(directory, "epoch-*.*").Where(f => !Path.GetFileName(f).StartsWith(Path.GetFileName(stem), StringComparison.Ordinal)))
        {
            File.Delete(old);
        }
    }

    /// <summary>The manifest that marks a complete checkpoint in <paramref name="directory"/>: what --resume looks for.</summary>
    public static string ManifestPath(string directory) => Path.Combine(directory, Manifest);

    /// <summary>The cached strategy's score memory saved with the checkpoint of <paramref name="epoch"/>.</summary>
    public static string ScoresPath(string directory, int epoch) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"epoch-{epoch:0000}.scores"));

    /// <summary>Loads the last complete checkpoint into the model and optimiser; returns null when there is none.</summary>
    public static (int Epoch, List<EpochMetrics> Metrics)? Load(string directory, string fingerprint, nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer)
    {
        string path = Path.Combine(directory, Manifest);
        if (!File.Exists(path))
        {
            return null;
        }

        string[] lines = File.ReadAllText(path).Split('\n');
        int epoch = int.Parse(lines[0]["epoch=".Length..], CultureInfo.InvariantCulture);
        string saved = lines[1]["fingerprint=".Length..];
        if (saved != fingerprint)
        {
            throw new ResumeException(
                $"{path} was written with different options ({saved}) than this command ({fingerprint}). " +
                "Resume with the same options as the run you continue, or start a new --output folder.");
        }

        string stem = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"epoch-{epoch:0000}"));
        model.load(stem + ".model");
        optimizer.load_state_dict(stem + ".optim");
        return (epoch, EpochMetrics.ParseCsv(string.Join('\n', lines.Skip(2))));
    }
}
