using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Gureum.ML.Data;
using Microsoft.ML;

namespace Gureum.ML.Training;

/// <summary>Rows loaded for one training run: the training rows, and optionally separate test rows.</summary>
public sealed class TrainingData
{
    internal FeatureTable Train { get; }
    internal FeatureTable? Test { get; }

    private TrainingData(FeatureTable train, FeatureTable? test)
    {
        Train = train;
        Test = test;
    }

    public static async Task<TrainingData> LoadAsync(TrainingPlan plan, IAsyncEnumerable<IReadOnlyDictionary<string, object?>> rows,
        IAsyncEnumerable<IReadOnlyDictionary<string, object?>>? testRows, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(rows);
        var train = new FeatureTable(plan.Inputs);
        await foreach (var row in rows.WithCancellation(ct)) train.Add(row, plan.Target);
        FeatureTable? test = null;
        if (testRows is not null)
        {
            test = new FeatureTable(plan.Inputs);
            await foreach (var row in testRows.WithCancellation(ct)) test.Add(row, plan.Target);
        }
        return new TrainingData(train, test);
    }
}

/// <summary>What a finished run hands back: the report and the model.</summary>
public sealed record TrainingOutcome(TrainingReport Report, TrainedModel Model);

/// <summary>Hooks through which a run reports as it goes (a job records trials and progress through them).</summary>
public sealed class TrainingCallbacks
{
    public Func<TrialResult, Task>? OnTrial { get; init; }
    public Func<double, string, Task>? OnProgress { get; init; }
}

/// <summary>
/// Gureum's AutoML. Every trainer that fits the task is first tried with its defaults (cheapest first); the rest of
/// the budget goes mostly to the leaders: a trainer is drawn with weight ½^rank, and its next configuration is either a
/// perturbation of its best one (refine, 60%) or a uniform draw from its space (explore). The search stops when the
/// next trial would not fit in the budget (keeping time for the final fit), or after <c>patience</c> trials without
/// improvement. Validation is 5-fold cross-validation up to 10 000 training rows, a 20% holdout above; the best
/// configuration is then refit on all training rows and evaluated once on the test split. Every draw comes from one
/// generator seeded by the request, so the same data, seed and budget give the same sequence of configurations.
/// </summary>
public static class AutoML
{
    /// <summary>The rows of <paramref name="table"/> a run holds out as its test split (stratified by class for classification).</summary>
    internal static HashSet<long> TestSplit(FeatureTable table, TrainingTask task, TrainingOptions options) => task == TrainingTask.Regression
        ? [.. Enumerable.Range(0, table.RowCount).Where(i => DeterministicSplit.IsTest(options.Seed, i, options.TestFraction)).Select(i => (long)i)]
        : DeterministicSplit.StratifiedTestRows([.. Enumerable.Range(0, table.RowCount).Select(table.Target)], options.Seed, options.TestFraction);

    private const int CrossValidationRowLimit = 10_000;
    private const int Folds = 5;
    private const int ImportanceRowLimit = 5_000;
    private const int EnsembleCandidatesPerTrainer = 3;
    private const int EnsembleRounds = 15;

    public static async Task<TrainingOutcome> RunAsync(TrainingPlan plan, TrainingOptions options, TrainingData data,
        IReadOnlyList<TrialResult> priorTrials, double priorSeconds, TrainingCallbacks callbacks, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        var clock = Stopwatch.StartNew();
        double Elapsed() => priorSeconds + clock.Elapsed.TotalSeconds;
        var task = plan.Task;
        var table = data.Train;
        if (table.RowCount < TrainingPlan.MinimumRows)
        {
            throw new TrainingInputException("target", $"Only {table.RowCount} row(s) have a target value; training needs at least {TrainingPlan.MinimumRows}.");
        }

        // Labels and the test split.
        IReadOnlyList<string>? classes = null;
        if (task != TrainingTask.Regression)
        {
            classes = table.DistinctClasses();
            CheckClasses(task, plan.Target, classes);
        }
        table.AssignLabels(task, classes);
        if (task == TrainingTask.Regression && table.Labels.Any(float.IsNaN))
        {
            throw new TrainingInputException("target", $"Target '{plan.Target}' has values that are not numbers; regression needs a numeric target.");
        }
        int[] trainRows, testRows;
        FeatureTable testTable;
        if (data.Test is { } test)
        {
            test.AssignLabels(task, classes);
            trainRows = [.. Enumerable.Range(0, table.RowCount)];
            testRows = [.. Enumerable.Range(0, test.RowCount).Where(i => !float.IsNaN(test.Labels[i]) && test.Labels[i] >= 0)];
            if (testRows.Length == 0)
            {
                throw new TrainingInputException("testVersion", $"No row of the test data has a target value the training data knows ({Preview(classes)}).");
            }
            testTable = test;
        }
        else
        {
            var isTest = TestSplit(table, task, options);
            trainRows = [.. Enumerable.Range(0, table.RowCount).Where(i => !isTest.Contains(i))];
            testRows = [.. Enumerable.Range(0, table.RowCount).Where(i => isTest.Contains(i))];
            testTable = table;
        }
        var state = FeatureState.Fit(table, trainRows, task, plan.Target, classes);
        var folds = MakeFolds(table, trainRows, task, options.Seed);
        var validation = folds.Count > 1 ? $"{folds.Count}-fold cross-validation" : "20% holdout";

        // The search.
        var specs = options.Trainer is { } manual ? [TrainingPlan.ManualTrainer(task, manual)] : Trainers.For(task);
        var metric = plan.Metric;
        var history = priorTrials.ToList();
        var rng = new Random(options.Seed);
        foreach (var _ in history) rng.Next(); // resume: do not replay the draws the earlier attempt used
        var patience = options.Patience > 0 ? options.Patience : Math.Max(20, 4 * specs.Count);
        var budget = options.BudgetSeconds;
        var stopReason = "all trainers tried";
        // Out-of-fold answers of each successful trial (rows in validRows order), for the ensemble.
        var validRows = folds.SelectMany(f => f.Valid).ToArray();
        var validLabels = validRows.Select(r => table.Labels[r]).ToArray();
        var outOfFold = new Dictionary<int, float[]>();

        async Task<TrialResult> Run(TrainerSpec spec, Dictionary<string, double> hp, string stage)
        {
            var number = history.Count + 1;
            await Report(callbacks, Elapsed() / budget * 90, $"trial {number}: {spec.Name} ({stage})");
            var watch = Stopwatch.StartNew();
            TrialResult result;
            try
            {
                var (metrics, answers) = await Task.Run(() => CrossValidate(spec, hp, table, state, folds, options.Seed, task, ct), ct);
                outOfFold[number] = answers;
                result = new TrialResult(number, spec.Name, hp, metrics, metrics[metric], watch.Elapsed.TotalSeconds, "succeeded", null, stage);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                result = new TrialResult(number, spec.Name, hp, new Dictionary<string, double>(), null, watch.Elapsed.TotalSeconds, "failed",
                    $"{e.GetType().Name}: {e.Message}", stage);
            }
            history.Add(result);
            if (callbacks.OnTrial is { } onTrial) await onTrial(result);
            return result;
        }

        TrialResult? Best() => BestFirst(history, metric).FirstOrDefault();

        // Seconds to refit a trial on all training rows: a CV trial ran its folds two or more side by side on 80% of the
        // rows; a holdout trial is one fit on 80%.
        double RefitEstimate(TrialResult t) => t.DurationSeconds * (folds.Count > 1 ? 0.5 : 1.3);
        // The final fit (the best trials, as a likely ensemble) and the explanations must still fit in the budget.
        double FinalEstimate() => 0.5 + 1.2 * BestFirst(history, metric).Take(3).Sum(RefitEstimate);

        if (options.Trainer is not null)
        {
            var spec = specs[0];
            var hp = TrainingPlan.ManualHyperparameters(spec, task, options);
            if (history.Count == 0) await Run(spec, hp, "manual");
            stopReason = "manual mode: one configuration";
        }
        else
        {
            // Defaults first, each trainer once; an earlier attempt's trials count.
            foreach (var spec in specs)
            {
                ct.ThrowIfCancellationRequested();
                if (history.Any(t => t.Trainer == spec.Name)) continue;
                if (Best() is not null && Elapsed() + FinalEstimate() + 1 > budget)
                {
                    stopReason = "time budget";
                    break;
                }
                await Run(spec, spec.Defaults(task), "default");
            }
            var sinceImprovement = 0;
            var bestScore = Best()?.Score;
            while (stopReason == "all trainers tried")
            {
                ct.ThrowIfCancellationRequested();
                // Trainers by their best trial, best first (ties in the order of the trainer list).
                var ranked = specs
                    .Select(s => (Spec: s, Best: BestFirst(history.Where(t => t.Trainer == s.Name), metric).FirstOrDefault()))
                    .Where(x => x.Best is not null)
                    .OrderBy(x => Metrics.SortKey(x.Best!.Score!.Value, metric))
                    .Select(x => x.Spec)
                    .ToList();
                if (ranked.Count == 0) break;
                var chosen = Draw(ranked, rng);
                var (hp, stage) = Sample(chosen, task, history, metric, rng);
                if (Elapsed() + Estimate(chosen, hp, history) + FinalEstimate() > budget)
                {
                    stopReason = "time budget";
                    break;
                }
                if (sinceImprovement >= patience)
                {
                    stopReason = $"no improvement in {patience} trials";
                    break;
                }
                var trial = await Run(chosen, hp, stage);
                if (trial.Score is { } score && (bestScore is null || Metrics.Better(score, bestScore.Value, metric)))
                {
                    bestScore = score;
                    sinceImprovement = 0;
                }
                else
                {
                    sinceImprovement++;
                }
            }
        }

        var best = Best() ?? throw new TrainingFailedException(
            "Every trial failed: " + string.Join("; ", history.Where(t => t.Error is not null).Select(t => $"{t.Trainer}: {t.Error}").Distinct().Take(5)));

        // The final model: the best trial, or an ensemble of trials when their averaged out-of-fold answers validate
        // better; refit on every training row and evaluated once on the test split.
        var members = options.Trainer is null ? SelectEnsemble(history, outOfFold, state, validLabels, metric) : [(best, 1.0)];
        // Drop the lightest members while their refits would overrun the budget (the best trial alone always stays).
        while (members.Count > 1 && Elapsed() + 0.5 + 1.2 * members.Sum(m => RefitEstimate(m.Trial)) > budget)
        {
            members.RemoveAt(members.Count - 1);
            var total = members.Sum(m => m.Weight);
            members = [.. members.Select(m => (m.Trial, m.Weight / total))];
        }
        var ensembleScore = members.Count > 1 ? EnsembleScore(members, outOfFold, state, validLabels, metric) : best.Score;
        if (members.Count == 1 || !Metrics.Better(ensembleScore!.Value, best.Score!.Value, metric))
        {
            (members, ensembleScore) = ([(best, 1.0)], best.Score);
        }
        await Report(callbacks, 92, members.Count > 1
            ? $"refitting an ensemble of {members.Count} trials on {trainRows.Length} rows"
            : $"refitting {best.Trainer} on {trainRows.Length} rows");
        var fitted = await Task.Run(() => members.Select(m =>
        {
            var ml = new MLContext(options.Seed);
            var model = Fit(ml, Trainers.Find(task, m.Trial.Trainer)!, m.Trial.Hyperparameters, table, state, trainRows, options.Seed, task, Environment.ProcessorCount);
            return new TrainedModel.Member(m.Trial.Trainer, m.Trial.Number, m.Trial.Hyperparameters, m.Weight, ml, model);
        }).ToList(), ct);
        var signature = Signature(state);
        var trained = new TrainedModel(state, fitted, signature);
        var testView = new FeatureView(testTable, state, testRows, withLabel: true);
        var evaluation = Metrics.FromPredictions(state, testView.LabelValues(), trained.Answers(testView), details: true);
        trained.RecordTestMetrics(evaluation.Metrics);
        await Report(callbacks, 96, "explaining: permutation importance on the test split");
        var importance = await Task.Run(() => PermutationImportance(trained, testTable, state, testRows, metric, options.Seed, ct), ct);
        var report = new TrainingReport
        {
            Task = task,
            Metric = metric,
            HigherIsBetter = Metrics.HigherIsBetter(metric),
            Validation = validation,
            Best = best,
            Trials = history.Count,
            StopReason = stopReason,
            TrainRows = trainRows.Length,
            TestRows = testRows.Length,
            TestMetrics = evaluation.Metrics,
            Ensemble = members.Count > 1 ? [.. members.Select(m => new EnsembleMember(m.Trial.Number, m.Trial.Trainer, m.Weight))] : null,
            ValidationScore = ensembleScore ?? best.Score!.Value,
            ConfusionMatrix = evaluation.Confusion,
            Roc = evaluation.Roc,
            PrecisionRecall = evaluation.PrecisionRecall,
            Residuals = evaluation.Residuals,
            FeatureImportance = importance,
            Signature = signature,
            DroppedColumns = plan.Dropped,
            DurationSeconds = Elapsed(),
        };
        await Report(callbacks, 100, $"best: {trained.Trainer}, test {metric} {evaluation.Metrics[metric]:G4}");
        return new TrainingOutcome(report, trained);
    }

    private static void CheckClasses(TrainingTask task, string target, IReadOnlyList<string> classes)
    {
        if (classes.Count < 2)
        {
            throw new TrainingInputException("target", $"Every labelled row of '{target}' has the same value ({Preview(classes)}); there is nothing to predict.");
        }
        if (task == TrainingTask.Binary && classes.Count != 2)
        {
            throw new TrainingInputException("task", $"Binary classification needs exactly 2 classes; '{target}' has {classes.Count} ({Preview(classes)}). Use task 'multiclass'.");
        }
        if (classes.Count > TrainingPlan.MaximumClasses)
        {
            throw new TrainingInputException("target", $"'{target}' has {classes.Count} classes; classification supports at most {TrainingPlan.MaximumClasses}.");
        }
    }

    private static string Preview(IReadOnlyList<string>? classes) =>
        classes is null ? "" : string.Join(", ", classes.Take(5).Select(c => $"'{c}'")) + (classes.Count > 5 ? ", ..." : "");

    private static Task Report(TrainingCallbacks callbacks, double percent, string message) =>
        callbacks.OnProgress?.Invoke(Math.Clamp(percent, 0, 100), message) ?? Task.CompletedTask;

    /// <summary>Folds as (train, validation) row lists, stratified by class: within each class rows are ordered by a seeded hash and dealt round-robin.</summary>
    private static List<(int[] Train, int[] Valid)> MakeFolds(FeatureTable table, int[] rows, TrainingTask task, int seed)
    {
        var fold = new Dictionary<int, int>(rows.Length);
        var groups = task == TrainingTask.Regression ? rows.GroupBy(_ => 0f) : rows.GroupBy(r => table.Labels[r]);
        foreach (var group in groups.OrderBy(g => g.Key))
        {
            var position = 0;
            foreach (var r in group.OrderBy(r => DeterministicSplit.Draw(seed + 7919, r)))
            {
                fold[r] = position++ % Folds;
            }
        }
        var count = rows.Length <= CrossValidationRowLimit ? Folds : 1;
        return [.. Enumerable.Range(0, count).Select(k => (rows.Where(r => fold[r] != k).ToArray(), rows.Where(r => fold[r] == k).ToArray()))];
    }

    private static ITransformer Fit(MLContext ml, TrainerSpec spec, IReadOnlyDictionary<string, double> hp, FeatureTable table, FeatureState state,
        int[] rows, int seed, TrainingTask task, int threads)
    {
        var weight = task != TrainingTask.Regression && hp.GetValueOrDefault(Trainers.BalancedClasses) >= 0.5 ? FeatureView.Weight : null;
        var pipeline = Featurizer.Build(ml, state, spec.NeedsNormalization).Append(spec.Create(ml, task, hp, new TrainerRun(seed, weight, threads)));
        return pipeline.Fit(new FeatureView(table, state, rows, withLabel: true));
    }

    /// <summary>
    /// The mean of each metric over the folds. Folds run side by side, one thread each (one fit per core beats one fit
    /// on all cores for small data, and a single-threaded fit is reproducible); a holdout fit uses every core.
    /// </summary>
    private static (Dictionary<string, double> Metrics, float[] Answers) CrossValidate(TrainerSpec spec, IReadOnlyDictionary<string, double> hp,
        FeatureTable table, FeatureState state, List<(int[] Train, int[] Valid)> folds, int seed, TrainingTask task, CancellationToken ct)
    {
        var parallel = Math.Min(folds.Count, Environment.ProcessorCount);
        var threads = folds.Count > 1 ? 1 : Environment.ProcessorCount;
        var metrics = new Dictionary<string, double>[folds.Count];
        var answers = new float[folds.Count][];
        try
        {
            Parallel.For(0, folds.Count, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = ct }, k =>
            {
                var (train, valid) = folds[k];
                var ml = new MLContext(seed);
                var model = Fit(ml, spec, hp, table, state, train, seed, task, threads);
                var view = new FeatureView(table, state, valid, withLabel: true);
                answers[k] = Metrics.Extract(model.Transform(view), state);
                metrics[k] = Metrics.FromPredictions(state, view.LabelValues(), answers[k], details: false).Metrics;
            });
        }
        catch (AggregateException e)
        {
            // Report the fit's own error (the trial records its message), not the wrapper.
            ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        return (metrics[0].Keys.ToDictionary(name => name, name => metrics.Average(r => r[name])), [.. answers.SelectMany(a => a)]);
    }

    /// <summary>
    /// Greedy ensemble selection (Caruana et al.): from the best trials, repeatedly add (with replacement) the one whose
    /// out-of-fold answers improve the averaged answers most. Kept only when it beats the best single trial.
    /// </summary>
    private static List<(TrialResult Trial, double Weight)> SelectEnsemble(List<TrialResult> history, Dictionary<int, float[]> outOfFold,
        FeatureState state, float[] labels, string metric)
    {
        // The best few of every trainer: members that err differently average out more than near-copies of one model.
        var candidates = BestFirst(history.Where(t => outOfFold.ContainsKey(t.Number)), metric)
            .GroupBy(t => t.Trainer)
            .SelectMany(g => g.Take(EnsembleCandidatesPerTrainer))
            .ToList();
        var best = BestFirst(history, metric).First();
        if (candidates.Count < 2 || !outOfFold.ContainsKey(best.Number)) return [(best, 1.0)];
        var sum = new double[labels.Length == 0 ? 0 : outOfFold[candidates[0].Number].Length];
        // Counting metrics move in steps of one row: an ensemble must win by more than one validation row to be trusted.
        var margin = metric is "accuracy" or "macroAccuracy" or "microAccuracy" or "f1" ? 1.5 / Math.Max(1, labels.Length) : 0;
        var picks = new List<TrialResult>();
        var (bestPicks, bestScore) = (new List<TrialResult> { best }, best.Score!.Value);
        for (var round = 0; round < EnsembleRounds; round++)
        {
            TrialResult? chosen = null;
            var chosenScore = 0.0;
            foreach (var c in candidates)
            {
                var answers = outOfFold[c.Number];
                var averaged = new float[sum.Length];
                for (var i = 0; i < sum.Length; i++) averaged[i] = (float)((sum[i] + answers[i]) / (picks.Count + 1));
                var score = Metrics.FromPredictions(state, labels, averaged, details: false).Metrics[metric];
                if (chosen is null || Metrics.Better(score, chosenScore, metric)) (chosen, chosenScore) = (c, score);
            }
            var add = outOfFold[chosen!.Number];
            for (var i = 0; i < sum.Length; i++) sum[i] += add[i];
            picks.Add(chosen);
            if (Metrics.Better(chosenScore, bestScore + margin, metric)) (bestPicks, bestScore) = ([.. picks], chosenScore);
        }
        return [.. bestPicks.GroupBy(t => t.Number).Select(g => (g.First(), (double)g.Count() / bestPicks.Count)).OrderByDescending(m => m.Item2)];
    }

    private static double EnsembleScore(List<(TrialResult Trial, double Weight)> members, Dictionary<int, float[]> outOfFold,
        FeatureState state, float[] labels, string metric)
    {
        var length = outOfFold[members[0].Trial.Number].Length;
        var averaged = new float[length];
        foreach (var (trial, weight) in members)
        {
            var answers = outOfFold[trial.Number];
            for (var i = 0; i < length; i++) averaged[i] += (float)(weight * answers[i]);
        }
        return Metrics.FromPredictions(state, labels, averaged, details: false).Metrics[metric];
    }

    /// <summary>The successful trials, best first (the earlier trial first among equals).</summary>
    private static IEnumerable<TrialResult> BestFirst(IEnumerable<TrialResult> trials, string metric) => trials
        .Where(t => t.Score is not null)
        .OrderBy(t => Metrics.SortKey(t.Score!.Value, metric))
        .ThenBy(t => t.Number);

    private static TrainerSpec Draw(List<TrainerSpec> ranked, Random rng)
    {
        var weights = ranked.Select((_, rank) => Math.Pow(0.5, rank)).ToArray();
        var x = rng.NextDouble() * weights.Sum();
        for (var i = 0; i < ranked.Count; i++)
        {
            x -= weights[i];
            if (x <= 0) return ranked[i];
        }
        return ranked[^1];
    }

    private static (Dictionary<string, double> Hp, string Stage) Sample(TrainerSpec spec, TrainingTask task, List<TrialResult> history, string metric, Random rng)
    {
        var space = spec.SpaceFor(task);
        var best = BestFirst(history.Where(t => t.Trainer == spec.Name), metric).FirstOrDefault();
        var refine = best is not null && rng.NextDouble() < 0.6;
        var hp = new Dictionary<string, double>();
        foreach (var h in space)
        {
            if (refine && best!.Hyperparameters.TryGetValue(h.Name, out var current))
            {
                hp[h.Name] = h.Name == Trainers.BalancedClasses
                    ? (rng.NextDouble() < 0.2 ? 1 - current : current)
                    : h.FromUnit(h.ToUnit(current) + 0.15 * Normal(rng));
            }
            else
            {
                hp[h.Name] = h.FromUnit(rng.NextDouble());
            }
        }
        return (hp, refine ? "refine" : "explore");
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>Seconds a trial is expected to take: the trainer's mean so far, scaled by its iteration or tree count.</summary>
    private static double Estimate(TrainerSpec spec, IReadOnlyDictionary<string, double> hp, List<TrialResult> history)
    {
        var done = history.Where(t => t.Trainer == spec.Name && t.Status == "succeeded").ToList();
        if (done.Count == 0) return history.Count == 0 ? 1 : history.Average(t => t.DurationSeconds);
        static double Size(IReadOnlyDictionary<string, double> h) =>
            h.GetValueOrDefault("numberOfIterations", h.GetValueOrDefault("numberOfTrees", h.GetValueOrDefault("maximumNumberOfIterations", 1)));
        var perUnit = done.Average(t => t.DurationSeconds / Math.Max(1, Size(t.Hyperparameters)));
        return perUnit * Math.Max(1, Size(hp));
    }

    private static List<FeatureImportance> PermutationImportance(TrainedModel model, FeatureTable table, FeatureState state,
        int[] rows, string metric, int seed, CancellationToken ct)
    {
        var rng = new Random(seed);
        var sample = rows.Length <= ImportanceRowLimit ? rows : [.. rows.OrderBy(r => DeterministicSplit.Draw(seed + 31, r)).Take(ImportanceRowLimit)];
        var baseView = new FeatureView(table, state, sample, withLabel: true);
        var labels = baseView.LabelValues();
        var baseline = Metrics.FromPredictions(state, labels, model.Answers(baseView), details: false).Metrics[metric];
        var repeats = sample.Length < 1_000 ? 5 : 3;
        var result = new List<FeatureImportance>();
        for (var input = 0; input < state.Inputs.Count; input++)
        {
            ct.ThrowIfCancellationRequested();
            var drops = new double[repeats];
            for (var r = 0; r < repeats; r++)
            {
                var permutation = Enumerable.Range(0, sample.Length).ToArray();
                rng.Shuffle(permutation);
                var view = new FeatureView(table, state, sample, withLabel: true, new Dictionary<int, int[]> { [input] = permutation });
                var shuffled = Metrics.FromPredictions(state, labels, model.Answers(view), details: false).Metrics[metric];
                drops[r] = Metrics.HigherIsBetter(metric) ? baseline - shuffled : shuffled - baseline;
            }
            var mean = drops.Average();
            result.Add(new FeatureImportance(state.Inputs[input].Name, mean, Math.Sqrt(drops.Sum(d => (d - mean) * (d - mean)) / repeats)));
        }
        return [.. result.OrderByDescending(f => f.Importance)];
    }

    private static ModelSignature Signature(FeatureState state)
    {
        IReadOnlyList<ModelOutput> outputs = state.Task switch
        {
            TrainingTask.Binary =>
            [
                new("label", "string", $"the predicted class: one of {string.Join(", ", state.Classes!)} ('{state.Classes![1]}' from probability 0.5)"),
                new("probability", "float", $"the probability of '{state.Classes![1]}'"),
            ],
            TrainingTask.Multiclass =>
            [
                new("label", "string", "the predicted class"),
                new("probabilities", "map<string,float>", "the probability of each class"),
            ],
            _ => [new("score", "float", $"the predicted value of '{state.Target}'")],
        };
        return new ModelSignature(state.Inputs, outputs, state.Classes);
    }
}

/// <summary>Training ran but produced no model (every trial failed); the message lists why.</summary>
public sealed class TrainingFailedException(string message) : Exception(message);
