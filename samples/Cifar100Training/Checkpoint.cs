using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using SelectiveLoss.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Cifar100Training;

/// <summary>
/// A run's checkpoint: <c>epoch-NNNN.model</c> (weights and buffers), <c>epoch-NNNN.optim</c> (SGD momentum buffers),
/// <c>epoch-NNNN.step</c> (a selecting run's state: a <see cref="SelectiveStep"/>'s generator, rule state, score memory
/// and waiting samples, or InfoBatch's sampler scores; <see cref="IRunDriver.Save"/>), and <c>checkpoint.txt</c>,
/// written last and atomically, which names the finished epoch and holds the metrics so far, the restarts and the
/// run's options fingerprint. Shuffle and augmentation are pure functions of (seed, epoch), so nothing else needs
/// saving. Every file is written atomically, so a kill at any moment leaves the previous complete checkpoint in force.
/// </summary>
internal static class Checkpoint
{
    private const string Manifest = "checkpoint.txt";

    public static void Save(string directory, int epoch, string fingerprint, IReadOnlyList<EpochMetrics> metrics, int restarts, nn.Module model,
        TorchSharp.Modules.OptimizerHelper optimizer, IRunDriver driver)
    {
        Directory.CreateDirectory(directory);
        string stem = Stem(directory, epoch);
        AtomicFile.Write(stem + ".model", temp => model.save(temp));
        AtomicFile.Write(stem + ".optim", temp => optimizer.save_state_dict(temp));
        if (driver.HasState)
        {
            AtomicFile.Write(stem + ".step", temp =>
            {
                using var file = File.Create(temp);
                driver.Save(file);
            });
        }

        string manifest = string.Create(CultureInfo.InvariantCulture, $"epoch={epoch}\nfingerprint={fingerprint}\nrestarts={restarts}\n") + EpochMetrics.ToCsv(metrics);
        AtomicFile.WriteText(Path.Combine(directory, Manifest), manifest);
        foreach (string old in Directory.GetFiles(directory, "epoch-*.*").Where(f => !Path.GetFileName(f).StartsWith(Path.GetFileName(stem), StringComparison.Ordinal)))
        {
            File.Delete(old);
        }
    }

    /// <summary>The manifest that marks a complete checkpoint in <paramref name="directory"/>: what --resume looks for.</summary>
    public static string ManifestPath(string directory) => Path.Combine(directory, Manifest);

    /// <summary>The selection state saved with the checkpoint of <paramref name="epoch"/>.</summary>
    public static string StepPath(string directory, int epoch) => Stem(directory, epoch) + ".step";

    /// <summary>
    /// Loads the last complete checkpoint into the model, the optimiser and (for a selecting run) the driver's selection
    /// state; returns null when there is none.
    /// </summary>
    /// <exception cref="ResumeException">The checkpoint was written with other options, or its selection state is
    /// missing or unreadable.</exception>
    public static (int Epoch, List<EpochMetrics> Metrics, int Restarts)? Load(string directory, string fingerprint, nn.Module model,
        TorchSharp.Modules.OptimizerHelper optimizer, IRunDriver driver)
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

        string stem = Stem(directory, epoch);
        if (driver.HasState)
        {
            // Checked before the model and optimiser change, so a refusal leaves them as built.
            string stepPath = stem + ".step";
            if (!File.Exists(stepPath))
            {
                throw new ResumeException(
                    $"{stepPath} is missing: the checkpoint of epoch {epoch} has no selection state, so the run cannot continue as it would have. " +
                    "Start a new --output folder.");
            }

            try
            {
                using var file = File.OpenRead(stepPath);
                driver.Load(file);
            }
            catch (InvalidDataException e)
            {
                throw new ResumeException($"{stepPath}: {e.Message} Start a new --output folder.", e);
            }
        }

        model.load(stem + ".model");
        optimizer.load_state_dict(stem + ".optim");
        bool counted = lines.Length > 2 && lines[2].StartsWith("restarts=", StringComparison.Ordinal);
        int restarts = counted ? int.Parse(lines[2]["restarts=".Length..], CultureInfo.InvariantCulture) : 0;
        return (epoch, EpochMetrics.ParseCsv(string.Join('\n', lines.Skip(counted ? 3 : 2))), restarts);
    }

    private static string Stem(string directory, int epoch) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"epoch-{epoch:0000}"));
}
