using Microsoft.ML;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace Gureum.ML.Training;

/// <summary>One tunable setting: a range, its default, and whether it is searched on a log scale or as an integer.</summary>
internal sealed record Hyperparameter(string Name, double Min, double Max, double Default, bool Log = false, bool Integer = false)
{
    public double Clamp(double value)
    {
        var v = Math.Clamp(value, Min, Max);
        return Integer ? Math.Round(v) : v;
    }

    /// <summary>Position in [0, 1] on the search scale.</summary>
    public double ToUnit(double value) => Log
        ? (Math.Log(value) - Math.Log(Min)) / (Math.Log(Max) - Math.Log(Min))
        : (value - Min) / (Max - Min);

    public double FromUnit(double unit)
    {
        unit = Math.Clamp(unit, 0, 1);
        return Clamp(Log ? Math.Exp(Math.Log(Min) + unit * (Math.Log(Max) - Math.Log(Min))) : Min + unit * (Max - Min));
    }
}

/// <summary>A trainer the search may use: the tasks it fits, its hyperparameters and how to build it.</summary>
internal sealed record TrainerSpec(
    string Name,
    IReadOnlyList<TrainingTask> Tasks,
    bool NeedsNormalization,
    IReadOnlyList<Hyperparameter> Space,
    Func<MLContext, TrainingTask, IReadOnlyDictionary<string, double>, TrainerRun, IEstimator<ITransformer>> Create)
{
    public Dictionary<string, double> Defaults(TrainingTask task) =>
        SpaceFor(task).ToDictionary(h => h.Name, h => h.Default);

    /// <summary>Classification adds the class-weighting switch (0: as is, 1: balanced).</summary>
    public IReadOnlyList<Hyperparameter> SpaceFor(TrainingTask task) => task == TrainingTask.Regression
        ? Space
        : [.. Space, new Hyperparameter(Trainers.BalancedClasses, 0, 1, 0, Integer: true)];
}

/// <summary>How one fit runs: its seed, the weight column (balanced classes) or none, and how many threads it may use.</summary>
internal sealed record TrainerRun(int Seed, string? WeightColumn, int Threads);

internal static class Trainers
{
    public const string BalancedClasses = "balancedClasses";


    public static readonly IReadOnlyList<TrainerSpec> All =
    [
        new("lightGbm", [TrainingTask.Binary, TrainingTask.Multiclass, TrainingTask.Regression], false,
        [
            new("numberOfLeaves", 4, 256, 31, Log: true, Integer: true),
            new("minimumExampleCountPerLeaf", 2, 128, 20, Log: true, Integer: true),
            new("learningRate", 0.01, 0.3, 0.1, Log: true),
            new("numberOfIterations", 50, 1000, 100, Log: true, Integer: true),
            new("featureFraction", 0.4, 1, 1),
            new("subsampleFraction", 0.5, 1, 1),
            new("l2Regularization", 1e-3, 10, 0.01, Log: true),
        ], LightGbm),
        new("fastTree", [TrainingTask.Binary, TrainingTask.Multiclass, TrainingTask.Regression], false,
        [
            new("numberOfLeaves", 4, 128, 20, Log: true, Integer: true),
            new("minimumExampleCountPerLeaf", 2, 100, 10, Log: true, Integer: true),
            new("learningRate", 0.02, 0.4, 0.2, Log: true),
            new("numberOfTrees", 50, 600, 100, Log: true, Integer: true),
            new("featureFraction", 0.4, 1, 1),
        ], FastTree),
        new("fastForest", [TrainingTask.Binary, TrainingTask.Regression], false,
        [
            new("numberOfLeaves", 4, 128, 20, Log: true, Integer: true),
            new("minimumExampleCountPerLeaf", 1, 50, 10, Log: true, Integer: true),
            new("numberOfTrees", 50, 400, 100, Log: true, Integer: true),
            new("featureFraction", 0.3, 1, 0.7),
        ], FastForest),
        new("sdca", [TrainingTask.Binary, TrainingTask.Multiclass, TrainingTask.Regression], true,
        [
            new("l2Regularization", 1e-6, 1, 1e-4, Log: true),
            new("l1Regularization", 1e-6, 1, 1e-6, Log: true),
            new("maximumNumberOfIterations", 10, 200, 50, Log: true, Integer: true),
        ], Sdca),
        new("lbfgs", [TrainingTask.Binary, TrainingTask.Multiclass], true,
        [
            new("l2Regularization", 1e-4, 10, 1, Log: true),
            new("l1Regularization", 1e-4, 10, 1, Log: true),
        ], Lbfgs),
    ];

    public static IReadOnlyList<TrainerSpec> For(TrainingTask task) => [.. All.Where(t => t.Tasks.Contains(task))];

    public static TrainerSpec? Find(TrainingTask task, string name) =>
        For(task).FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

    private static int I(IReadOnlyDictionary<string, double> h, string name) => (int)Math.Round(h[name]);

    private static float F(IReadOnlyDictionary<string, double> h, string name) => (float)h[name];

    // The option classes of each family share no settable base, so each task's options are filled alike by hand.
    private static IEstimator<ITransformer> LightGbm(MLContext ml, TrainingTask task, IReadOnlyDictionary<string, double> h, TrainerRun run)
    {
        // One fit at a time in the process (see OneFitAtATime), so each may use every core; a single thread count for
        // every fit also keeps LightGBM's process-wide OpenMP setting from changing under a fit.
        var (seed, weight, threads) = (run.Seed, run.WeightColumn, Environment.ProcessorCount);
        GradientBooster.Options Booster() => new()
        {
            FeatureFraction = h["featureFraction"],
            SubsampleFraction = h["subsampleFraction"],
            SubsampleFrequency = h["subsampleFraction"] < 1 ? 1 : 0,
            L2Regularization = h["l2Regularization"],
        };
        var (leaves, minLeaf, rate, iterations) = (I(h, "numberOfLeaves"), I(h, "minimumExampleCountPerLeaf"), h["learningRate"], I(h, "numberOfIterations"));
        return new OneFitAtATime(task switch
        {
            TrainingTask.Binary => ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
            {
                NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, LearningRate = rate, NumberOfIterations = iterations,
                Booster = Booster(), Seed = seed, Deterministic = true, NumberOfThreads = threads, Silent = true, ExampleWeightColumnName = weight,
            }),
            TrainingTask.Multiclass => ml.MulticlassClassification.Trainers.LightGbm(new LightGbmMulticlassTrainer.Options
            {
                NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, LearningRate = rate, NumberOfIterations = iterations,
                Booster = Booster(), Seed = seed, Deterministic = true, NumberOfThreads = threads, Silent = true, ExampleWeightColumnName = weight,
            }),
            _ => ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
            {
                NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, LearningRate = rate, NumberOfIterations = iterations,
                Booster = Booster(), Seed = seed, Deterministic = true, NumberOfThreads = threads, Silent = true,
            }),
        });
    }

    /// <summary>
    /// Fits one LightGBM model at a time in the process: native lib_lightgbm crashed the process (SIGSEGV on a
    /// thread-pool worker, twice in one day of test runs) when fits with different thread counts ran at once — it sets
    /// OpenMP's thread count process-wide. Its models predict in managed code (ML.NET converts the trees), so only
    /// fitting waits.
    /// </summary>
    private sealed class OneFitAtATime(IEstimator<ITransformer> inner) : IEstimator<ITransformer>
    {
        private static readonly Lock Gate = new();

        public ITransformer Fit(IDataView input)
        {
            lock (Gate) return inner.Fit(input);
        }

        public SchemaShape GetOutputSchema(SchemaShape inputSchema) => inner.GetOutputSchema(inputSchema);
    }

    private static IEstimator<ITransformer> FastTree(MLContext ml, TrainingTask task, IReadOnlyDictionary<string, double> h, TrainerRun run)
    {
        var (seed, weight, threads) = (run.Seed, run.WeightColumn, run.Threads);
        var (leaves, minLeaf, rate, trees, fraction) = (I(h, "numberOfLeaves"), I(h, "minimumExampleCountPerLeaf"), h["learningRate"], I(h, "numberOfTrees"), h["featureFraction"]);
        FastTreeBinaryTrainer.Options BinaryOptions(string? w) => new()
        {
            NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, LearningRate = rate, NumberOfTrees = trees, FeatureFraction = fraction,
            Seed = seed, NumberOfThreads = threads, ExampleWeightColumnName = w,
        };
        return task switch
        {
            TrainingTask.Binary => ml.BinaryClassification.Trainers.FastTree(BinaryOptions(weight)),
            // One binary model per class; the weights balance each one-vs-rest problem as the data's classes.
            TrainingTask.Multiclass => ml.MulticlassClassification.Trainers.OneVersusAll(ml.BinaryClassification.Trainers.FastTree(BinaryOptions(weight))),
            _ => ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
            {
                NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, LearningRate = rate, NumberOfTrees = trees, FeatureFraction = fraction,
                Seed = seed, NumberOfThreads = threads,
            }),
        };
    }

    private static IEstimator<ITransformer> FastForest(MLContext ml, TrainingTask task, IReadOnlyDictionary<string, double> h, TrainerRun run)
    {
        var (seed, weight, threads) = (run.Seed, run.WeightColumn, run.Threads);
        var (leaves, minLeaf, trees, fraction) = (I(h, "numberOfLeaves"), I(h, "minimumExampleCountPerLeaf"), I(h, "numberOfTrees"), h["featureFraction"]);
        return task switch
        {
            // Calibrated (Platt) so that its answers are probabilities, comparable with the other trainers' in an ensemble.
            TrainingTask.Binary => ml.BinaryClassification.Trainers.FastForest(new FastForestBinaryTrainer.Options
            {
                NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, NumberOfTrees = trees, FeatureFraction = fraction,
                Seed = seed, NumberOfThreads = threads, ExampleWeightColumnName = weight,
            }).Append(ml.BinaryClassification.Calibrators.Platt()),
            _ => ml.Regression.Trainers.FastForest(new FastForestRegressionTrainer.Options
            {
                NumberOfLeaves = leaves, MinimumExampleCountPerLeaf = minLeaf, NumberOfTrees = trees, FeatureFraction = fraction,
                Seed = seed, NumberOfThreads = threads,
            }),
        };
    }

    // One thread: SDCA and L-BFGS are not reproducible with several.
    private static IEstimator<ITransformer> Sdca(MLContext ml, TrainingTask task, IReadOnlyDictionary<string, double> h, TrainerRun run)
    {
        var (seed, weight, threads) = (run.Seed, run.WeightColumn, run.Threads);
        var (l2, l1, iterations) = (F(h, "l2Regularization"), F(h, "l1Regularization"), I(h, "maximumNumberOfIterations"));
        return task switch
        {
            TrainingTask.Binary => ml.BinaryClassification.Trainers.SdcaLogisticRegression(new SdcaLogisticRegressionBinaryTrainer.Options
            {
                L2Regularization = l2, L1Regularization = l1, MaximumNumberOfIterations = iterations, NumberOfThreads = 1, ExampleWeightColumnName = weight,
            }),
            TrainingTask.Multiclass => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(new SdcaMaximumEntropyMulticlassTrainer.Options
            {
                L2Regularization = l2, L1Regularization = l1, MaximumNumberOfIterations = iterations, NumberOfThreads = 1, ExampleWeightColumnName = weight,
            }),
            _ => ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options
            {
                L2Regularization = l2, L1Regularization = l1, MaximumNumberOfIterations = iterations, NumberOfThreads = 1,
            }),
        };
    }

    private static IEstimator<ITransformer> Lbfgs(MLContext ml, TrainingTask task, IReadOnlyDictionary<string, double> h, TrainerRun run)
    {
        var (seed, weight, threads) = (run.Seed, run.WeightColumn, run.Threads);
        var (l2, l1) = (F(h, "l2Regularization"), F(h, "l1Regularization"));
        return task switch
        {
            TrainingTask.Binary => ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
            {
                L2Regularization = l2, L1Regularization = l1, NumberOfThreads = 1, ExampleWeightColumnName = weight,
            }),
            _ => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
            {
                L2Regularization = l2, L1Regularization = l1, NumberOfThreads = 1, ExampleWeightColumnName = weight,
            }),
        };
    }
}
