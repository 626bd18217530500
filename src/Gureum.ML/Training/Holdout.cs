namespace Gureum.ML.Training;

/// <summary>Metrics of each compared model on the same held-out rows.</summary>
public sealed record HoldoutComparison(long Rows, IReadOnlyList<IReadOnlyDictionary<string, double>> Metrics);

/// <summary>
/// Scores several models on one test split: the rows a training run with <c>plan</c> and <c>options</c> holds out from
/// these rows (or all of <c>testRows</c> when given), so a retrained challenger and the champion it would replace are
/// judged on exactly the data the challenger never saw. Each model prepares the rows with its own featurization; rows
/// whose class a model does not know are left out for all of them, so every model answers the same rows.
/// </summary>
public static class Holdout
{
    public static async Task<HoldoutComparison> CompareAsync(TrainingPlan plan, TrainingOptions options,
        IAsyncEnumerable<IReadOnlyDictionary<string, object?>> rows, IAsyncEnumerable<IReadOnlyDictionary<string, object?>>? testRows,
        IReadOnlyList<TrainedModel> models, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(models);
        if (models.Any(m => m.Task != plan.Task))
        {
            throw new TrainingInputException("task", $"Every compared model must solve the plan's task ({plan.Task.ToString().ToLowerInvariant()}).");
        }
        var held = new List<IReadOnlyDictionary<string, object?>>();
        if (testRows is not null)
        {
            await foreach (var row in testRows.WithCancellation(ct))
            {
                if (HasTarget(row, plan.Target)) held.Add(row);
            }
        }
        else
        {
            // The same rows (those with a target) in the same order as training's table, so the split matches row for row.
            var table = new FeatureTable(plan.Inputs);
            var raw = new List<IReadOnlyDictionary<string, object?>>();
            await foreach (var row in rows.WithCancellation(ct))
            {
                var before = table.RowCount;
                table.Add(row, plan.Target);
                if (table.RowCount > before) raw.Add(row);
            }
            var test = AutoML.TestSplit(table, plan.Task, options);
            held.AddRange(test.Order().Select(i => raw[(int)i]));
        }

        var tables = models.Select(m =>
        {
            var state = m.State;
            var t = new FeatureTable(state.Inputs);
            foreach (var row in held) t.Add(row, plan.Target);
            t.AssignLabels(state.Task, state.Classes);
            return t;
        }).ToList();
        var usable = Enumerable.Range(0, held.Count)
            .Where(i => tables.All(t => !float.IsNaN(t.Labels[i]) && (plan.Task == TrainingTask.Regression || t.Labels[i] >= 0)))
            .ToArray();
        if (usable.Length == 0)
        {
            throw new TrainingInputException("target", "No held-out row has a target value every compared model knows; there is nothing to compare on.");
        }
        var metrics = models.Select((m, k) =>
        {
            var view = new FeatureView(tables[k], m.State, usable, withLabel: true);
            return (IReadOnlyDictionary<string, double>)Metrics.FromPredictions(m.State, view.LabelValues(), m.Answers(view), details: false).Metrics;
        }).ToList();
        return new HoldoutComparison(usable.Length, metrics);
    }

    private static bool HasTarget(IReadOnlyDictionary<string, object?> row, string target) =>
        row.GetValueOrDefault(target) is not (null or string { Length: 0 });

    /// <summary>True when <paramref name="challenger"/> beats <paramref name="champion"/> on <paramref name="metric"/> by more than <paramref name="margin"/>.</summary>
    public static bool Beats(double challenger, double champion, string metric, double margin) =>
        Metrics.HigherIsBetter(metric) ? challenger > champion + margin : challenger < champion - margin;
}
