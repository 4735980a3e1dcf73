using System;
using System.Collections.Generic;
using System.IO;
using SelectiveLoss.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SelectiveLoss.Training;

/// <summary>
/// A <see cref="SelectiveStep"/>'s whole state as an in-memory record: how it executes, its selector's state, and the
/// samples waiting for a full batch. One versioned format (<see cref="StateFormat"/>, tensors in TorchSharp's own).
/// </summary>
internal sealed record StepState(StepExecution Execution, SelectorState Selector, IReadOnlyList<PendingSamples> Pending) : IDisposable
{
    private const int Magic = 0x50545353; // "SSTP"
    private const int Version = 2;

    public void Write(BinaryWriter writer)
    {
        StateFormat.WriteHeader(writer, Magic, Version);
        writer.Write((int)Execution);
        Selector.Write(writer);
        writer.Write(Pending.Count);
        foreach (PendingSamples p in Pending)
        {
            p.Input.Save(writer);
            p.Target.Save(writer);
            writer.Write(p.Weights is not null);
            p.Weights?.Save(writer);
            writer.Write(p.Ids is not null);
            p.Ids?.Save(writer);
        }
    }

    /// <summary>Reads a state whole; on any failure nothing read is left to the finalizer.</summary>
    /// <exception cref="InvalidDataException">The stream holds no step state, another version, or is truncated.</exception>
    public static StepState Read(BinaryReader reader, CachePolicy policy)
    {
        StateFormat.ReadHeader(reader, Magic, Version, "a step state written by SelectiveStep.Save");
        return StateFormat.Guard("step state", () =>
        {
            var execution = (StepExecution)reader.ReadInt32();
            if (!Enum.IsDefined(execution))
            {
                throw new InvalidDataException($"The saved step claims execution {(int)execution}.");
            }

            SelectorState selector = SelectorState.Read(reader, policy);
            var pending = new List<PendingSamples>();
            try
            {
                int count = reader.ReadInt32();
                if (count < 0)
                {
                    throw new InvalidDataException($"The saved step claims {count} waiting batches.");
                }

                for (int i = 0; i < count; i++)
                {
                    pending.Add(ReadPending(reader));
                }

                return new StepState(execution, selector, pending);
            }
            catch
            {
                selector.Dispose();
                pending.ForEach(p => p.Dispose());
                throw;
            }
        });
    }

    /// <summary>Disposes the selector's generator state; the pending samples are handed over on restore, or disposed by
    /// <see cref="DisposePending"/>.</summary>
    public void Dispose() => Selector.Dispose();

    public void DisposePending()
    {
        foreach (PendingSamples p in Pending)
        {
            p.Dispose();
        }
    }

    private static PendingSamples ReadPending(BinaryReader reader)
    {
        var read = new List<Tensor>();
        try
        {
            Tensor input = Keep(read, StateFormat.ReadTensor(reader, "waiting input"));
            Tensor target = Keep(read, StateFormat.ReadTensor(reader, "waiting target"));
            Tensor? weights = reader.ReadBoolean() ? Keep(read, StateFormat.ReadTensor(reader, "waiting weights")) : null;
            Tensor? ids = reader.ReadBoolean() ? Keep(read, StateFormat.ReadTensor(reader, "waiting ids")) : null;
            if (target.shape[0] != input.shape[0] || (weights is not null && weights.shape[0] != input.shape[0]) || (ids is not null && ids.shape[0] != input.shape[0]))
            {
                throw new InvalidDataException("The saved step's waiting samples have inputs, targets, weights and ids of different lengths.");
            }

            return new PendingSamples(input, target, weights, ids);
        }
        catch
        {
            read.ForEach(t => t.Dispose());
            throw;
        }
    }

    private static Tensor Keep(List<Tensor> read, Tensor t)
    {
        read.Add(t);
        return t;
    }
}
