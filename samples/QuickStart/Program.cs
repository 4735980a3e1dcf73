// QuickStart: trains a small classifier on generated data with 40% wrong labels, once on the plain mean loss and once
// keeping the 60% lowest per-sample losses (the small-loss trick), and prints clean test accuracy for both.
using System;
using System.Diagnostics;
using System.Globalization;
using SelectiveLoss;
using TorchSharp;
using static TorchSharp.torch;

const int Classes = 10, Features = 32, TrainSize = 2048, TestSize = 2048, BatchSize = 128, Epochs = 40;
torch.set_num_threads(Math.Max(1, Environment.ProcessorCount));
Console.WriteLine($"SelectiveLoss quick start: {Classes}-class generated data, {TrainSize} training samples with 40% wrong labels.");

var (trainX, trainY, noisyY) = MakeData(TrainSize, seed: 1, labelNoise: 0.4);
var (testX, testY, _) = MakeData(TestSize, seed: 2, labelNoise: 0);

foreach (double keep in new[] { 1.0, 0.6 })
{
    torch.manual_seed(42);
    var model = nn.Sequential(nn.Linear(Features, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, Classes));
    var optimizer = optim.SGD(model.parameters(), learningRate: 0.1, momentum: 0.9);
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

        Console.Write(string.Create(CultureInfo.InvariantCulture, $"\rkeep {keep:0.0}: epoch {epoch}/{Epochs}, loss {lastLoss:0.000}   "));
    }

    model.eval();
    double accuracy;
    using (no_grad())
    using (var scope = NewDisposeScope())
    {
        accuracy = model.forward(testX).argmax(1).eq(testY).to(ScalarType.Float64).mean().item<double>();
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"\rkeep {keep:0.0}: clean test accuracy {accuracy:P1} after {Epochs} epochs, {clock.Elapsed.TotalSeconds:0.0} s"));
    model.Dispose();
    optimizer.Dispose();
}

Console.WriteLine("Both runs saw the same batches; keep 0.6 averaged the loss over the 60% lowest-loss samples of each, which");
Console.WriteLine("skips most mislabelled ones. Selection alone saves no time: see the training step and the benchmark for that.");

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
