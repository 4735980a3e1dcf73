// QuickStart: trains a small classifier on generated data with 40% wrong labels, once on the plain mean loss and once
// keeping the 60% lowest per-sample losses (the small-loss trick), and prints clean test accuracy for both.
using System;
using System.Diagnostics;
using System.Globalization;
using SelectiveLoss.Models;
using SelectiveLoss.Selection;
using SelectiveLoss.Training;
using TorchSharp;
using static TorchSharp.torch;

const int Classes = 10, Features = 32, TrainSize = 2048, TestSize = 2048, BatchSize = 128, Epochs = 40;
torch.set_num_threads(Math.Max(1, Environment.ProcessorCount));
Console.WriteLine($"SelectiveLoss quick start: {Classes}-class generated data, {TrainSize} training samples with 40% wrong labels.");

var (trainX, trainY, noisyY) = MakeData(TrainSize, seed: 1, labelNoise: 0.4);
var (testX, testY, _) = MakeData(TestSize, seed: 2, labelNoise: 0);

foreach (var (name, keep, useStep) in new[] { ("keep 1.0", 1.0, false), ("keep 0.6", 0.6, false), ("keep 0.6, SelectiveStep", 0.6, true) })
{
    torch.manual_seed(42);
    var model = nn.Sequential(nn.Linear(Features, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, Classes));
    var optimizer = optim.SGD(model.parameters(), learningRate: 0.1, momentum: 0.9);
    // <selectivestep>
    using var step = new SelectiveStep(model, optimizer, new SelectiveLossReducer(keepRatio: keep));
    // </selectivestep>
    var clock = Stopwatch.StartNew();
    double lastLoss = 0;
    for (int epoch = 1; epoch <= Epochs; epoch++)
    {
        model.train();
        using var order = randperm(TrainSize);
        for (long start = 0; start < TrainSize; start += BatchSize)
        {
            using var scope = NewDisposeScope();
            var idx = order.narrow(0, start, Math.Min(BatchSize, TrainSize - start));
            var x = trainX.index_select(0, idx);
            var y = noisyY.index_select(0, idx);
            if (useStep)
            {
                // <selectivestep-call>
                StepResult result = step.Step(x, y);   // no-grad scoring, then forward+backward on the kept 60% only
                // </selectivestep-call>
                lastLoss = result.Loss;
                continue;
            }

            // <quickstart>
            var reducer = new SelectiveLossReducer(keepRatio: keep);      // keep = 0.6: the 60% lowest losses
            var logits = model.forward(x);
            var perSample = nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.None);
            var loss = reducer.Reduce(perSample);                          // mean over the kept samples
            optimizer.zero_grad();
            loss.backward();                                               // dropped samples get exactly zero gradient
            optimizer.step();
            // </quickstart>
            lastLoss = loss.item<float>();
        }

        Console.Write(string.Create(CultureInfo.InvariantCulture, $"\r{name}: epoch {epoch}/{Epochs}, loss {lastLoss:0.000}   "));
    }

    model.eval();
    double accuracy;
    using (no_grad())
    using (var scope = NewDisposeScope())
    {
        accuracy = model.forward(testX).argmax(1).eq(testY).to(ScalarType.Float64).mean().item<double>();
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"\r{name}: clean test accuracy {accuracy:P1} after {Epochs} epochs, {clock.Elapsed.TotalSeconds:0.0} s"));
    model.Dispose();
    optimizer.Dispose();
}

Console.WriteLine("All runs saw the same batches. 'keep 0.6' averages the loss over the 60% lowest-loss samples of each batch");
Console.WriteLine("(the original topk snippet); 'SelectiveStep' computes the same update but backpropagates only the kept samples.");
Console.WriteLine("Times on a model this small are mostly overhead, and the first run also pays for warm-up; speed is measured");
Console.WriteLine("on DenseNet-121 by samples/SelectiveLoss.Benchmarks.");

static (Tensor X, Tensor Y, Tensor NoisyY) MakeData(int n, int seed, double labelNoise)
{
    using var generator = new Generator((ulong)seed);
    var centres = randn(Classes, Features, generator: new Generator(1234)) * 0.45;
    var y = randint(0, Classes, new long[] { n }, generator: generator);
    var x = centres.index_select(0, y) + randn(n, Features, generator: generator);
    var flip = rand(n, generator: generator) < labelNoise;
    var wrong = (y + randint(1, Classes, new long[] { n }, generator: generator)) % Classes;
    return (x, y, where(flip, wrong, y));
}
