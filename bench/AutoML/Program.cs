// The AutoML benchmark's .NET side: one dataset, one JSON line on stdout.
//   AutoMLBench --train FILE --test FILE --target COL [--task binary|multiclass|regression] [--metric M]
//               [--budget SECONDS] [--seed N] [--ignore a,b] [--trials] [--trainer NAME --params k=v,...]
// Both files are read as the server reads an upload (format, schema, typed rows). "seconds" is the wall time of
// AutoML.RunAsync (search, refit, test evaluation, permutation importance); reading the files is reported apart.
using System.Diagnostics;
using System.Text.Json;
using Gureum.ML.Data;
using Gureum.ML.Training;

var options = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
if (!options.ContainsKey("train") || !options.ContainsKey("test") || !options.ContainsKey("target"))
{
    Console.Error.WriteLine("usage: AutoMLBench --train FILE --test FILE --target COL [--task T] [--metric M] [--budget S] [--seed N] [--ignore a,b] [--trials 1] [--trainer NAME --params k=v,k=v]");
    return 2;
}
var ct = CancellationToken.None;
var read = Stopwatch.StartNew();
var training = new TrainingOptions
{
    Target = options["target"],
    Task = options.TryGetValue("task", out var task) ? Enum.Parse<TrainingTask>(task, ignoreCase: true) : null,
    Metric = options.GetValueOrDefault("metric"),
    BudgetSeconds = int.Parse(options.GetValueOrDefault("budget", "60")),
    Seed = int.Parse(options.GetValueOrDefault("seed", "1")),
    IgnoreColumns = options.TryGetValue("ignore", out var ignore) ? ignore.Split(',') : [],
    Trainer = options.GetValueOrDefault("trainer"),
    Hyperparameters = options.TryGetValue("params", out var hp)
        ? hp.Split(',').Select(p => p.Split('=')).ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture))
        : null,
};
var train = await AnalyzeAsync(options["train"]);
var test = await AnalyzeAsync(options["test"]);
var plan = TrainingPlan.Create(train.Schema, train.Profile, training);
await using var trainStream = File.OpenRead(options["train"]);
await using var testStream = File.OpenRead(options["test"]);
var data = await TrainingData.LoadAsync(plan,
    DatasetReader.ReadRowsAsync(trainStream, train.Format, train.Schema, ct),
    DatasetReader.ReadRowsAsync(testStream, test.Format, train.Schema, ct), ct);
var readSeconds = read.Elapsed.TotalSeconds;
var trials = new List<TrialResult>();
var clock = Stopwatch.StartNew();
var outcome = await AutoML.RunAsync(plan, training, data, [], 0, new TrainingCallbacks
{
    OnTrial = t =>
    {
        trials.Add(t);
        if (options.ContainsKey("trials")) Console.Error.WriteLine($"{t.Number,3} {t.Stage,-8} {t.Trainer,-11} {t.Score,10:F5} {t.DurationSeconds,6:F2}s {t.Error}");
        return Task.CompletedTask;
    },
}, ct);
var report = outcome.Report;
Console.WriteLine(JsonSerializer.Serialize(new
{
    task = report.Task.ToString().ToLowerInvariant(),
    metric = report.Metric,
    test = report.TestMetrics,
    best = new { report.Best.Trainer, report.Best.Hyperparameters, validation = report.Best.Score },
    model = outcome.Model.Trainer,
    validationScore = report.ValidationScore,
    trials = report.Trials,
    stop = report.StopReason,
    validationKind = report.Validation,
    seconds = clock.Elapsed.TotalSeconds,
    readSeconds,
    trainRows = report.TrainRows,
    testRows = report.TestRows,
    importance = report.FeatureImportance.Take(5).Select(f => $"{f.Column}:{f.Importance:G3}"),
}));
return 0;

static async Task<DatasetAnalysis> AnalyzeAsync(string path)
{
    await using var s = File.OpenRead(path);
    return await DatasetReader.AnalyzeAsync(s, new ReadOptions(), CancellationToken.None);
}
