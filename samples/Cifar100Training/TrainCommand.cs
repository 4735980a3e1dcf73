using System;
using System.Threading;
using Spectre.Console.Cli;

namespace Cifar100Training;

/// <summary>The program's one command: resolves the settings and hands them to the function given as the app's data.</summary>
internal sealed class TrainCommand : Command<TrainingSettings>
{
    public override int Execute(CommandContext context, TrainingSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var run = (Func<TrainingOptions, int>)context.Data!;
        return run(TrainingOptions.From(settings));
    }
}
