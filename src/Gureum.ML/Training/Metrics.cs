using Gureum.ML.Data;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Gureum.ML.Training;

/// <summary>Metric names per task, their direction, and their computation from a scored view.</summary>
internal static class Metrics
{
    private static readonly Dictionary<TrainingTask, string[]> Names = new()
    {
        [TrainingTask.Binary] = ["auc", "accuracy", "f1", "logLoss"],
        [TrainingTask.Multiclass] = ["macroAccuracy", "microAccuracy", "logLoss"],
        [TrainingTask.Regression] = ["rmse", "mae", "r2"],
    };

    public static string Resolve(TrainingTask task, string? requested)
    {
        var names = Names[task];
        if (requested is null) return names[0];
        var match = names.FirstOrDefault(n => string.Equals(n, requested, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new TrainingInputException("metric",
            $"'{requested}' is not a {task.ToString().ToLowerInvariant()} metric; use one of {string.Join(", ", names)}.");
    }

    public static bool HigherIsBetter(string metric) => metric is not ("logLoss" or "rmse" or "mae");

    /// <summary>A key that sorts scores best first (ascending) whichever the metric's direction.</summary>
    public static double SortKey(double score, string metric) => HigherIsBetter(metric) ? -score : score;

    /// <summary>True when <paramref name="a"/> is strictly better than <paramref name="b"/>.</summary>
    public static bool Better(double a, double b, string metric) => HigherIsBetter(metric) ? a > b : a < b;

    public sealed record Evaluation(Dictionary<string, double> Metrics, ConfusionMatrixReport? Confusion,
        IReadOnlyList<CurvePoint>? Roc, IReadOnlyList<CurvePoint>? PrecisionRecall, ResidualSummary? Residuals);

    /// <summary>
    /// A model's answers as numbers, one per row (binary: the probability of the positive class; regression: the value)
    /// or one per class and row (multiclass: probabilities). In this form answers of several models can be averaged.
    /// </summary>
    public static float[] Extract(IDataView scored, FeatureState state)
    {
        var column = AnswerColumn(scored.Schema, state);
        using var cursor = scored.GetRowCursor([column]);
        return Extract(cursor, cursor.MoveNext, column, state);
    }

    /// <summary>The column that holds a model's answer: the probability of a calibrated binary model, else the score.</summary>
    public static DataViewSchema.Column AnswerColumn(DataViewSchema scored, FeatureState state) =>
        scored[state.Task == TrainingTask.Binary && scored.GetColumnOrNull("Probability") is not null ? "Probability" : "Score"];

    /// <summary>The answers read from <paramref name="cursor"/> (a scored row) as <paramref name="moveNext"/> steps through the rows.</summary>
    public static float[] Extract(DataViewRow cursor, Func<bool> moveNext, DataViewSchema.Column column, FeatureState state)
    {
        var values = new List<float>();
        var multiclass = state.Task == TrainingTask.Multiclass;
        var binaryProbability = column.Name == "Probability";
        if (multiclass)
        {
            var getter = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> vector = default;
            var k = state.Classes!.Count;
            while (moveNext())
            {
                getter(ref vector);
                var dense = vector.DenseValues().Take(k).ToArray();
                values.AddRange(dense);
                for (var i = dense.Length; i < k; i++) values.Add(0);
            }
        }
        else
        {
            var getter = cursor.GetGetter<float>(column);
            float v = 0;
            while (moveNext())
            {
                getter(ref v);
                // A binary model without a calibrator answers a margin: squash it so it can be averaged with probabilities.
                values.Add(state.Task == TrainingTask.Binary && !binaryProbability ? 1f / (1f + MathF.Exp(-v)) : v);
            }
        }
        return [.. values];
    }

    /// <summary>Metrics (and with <paramref name="details"/> the confusion matrix, curves or residuals) from labels and predictions.</summary>
    public static Evaluation FromPredictions(FeatureState state, float[] labels, float[] predictions, bool details)
    {
        var evaluation = state.Task switch
        {
            TrainingTask.Binary => Binary(labels, predictions, state, details),
            TrainingTask.Multiclass => Multiclass(labels, predictions, state, details),
            _ => Regression(labels, predictions, details),
        };
        // A degenerate model (e.g. constant scores, infinite log-loss) must not poison JSON or comparisons.
        foreach (var (name, value) in evaluation.Metrics.Where(m => !double.IsFinite(m.Value)).ToList())
        {
            evaluation.Metrics[name] = HigherIsBetter(name) ? 0 : double.MaxValue;
        }
        return evaluation;
    }

    private static Evaluation Binary(float[] labelValues, float[] probabilities, FeatureState state, bool details)
    {
        var labels = labelValues.Select(l => l == 1).ToArray();
        var scores = probabilities.Select(p => float.IsNaN(p) ? 0f : p).ToArray();
        long tp = 0, fp = 0, tn = 0, fn = 0;
        double loss = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var predicted = scores[i] >= 0.5f;
            if (predicted) { if (labels[i]) tp++; else fp++; }
            else { if (labels[i]) fn++; else tn++; }
            var p = Math.Clamp(scores[i], 1e-15, 1 - 1e-15);
            loss -= labels[i] ? Math.Log(p) : Math.Log(1 - p);
        }
        var precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp);
        var recall = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        var metrics = new Dictionary<string, double>
        {
            ["auc"] = Auc(labels, scores),
            ["accuracy"] = labels.Length == 0 ? 0 : (double)(tp + tn) / labels.Length,
            ["precision"] = precision,
            ["recall"] = recall,
            ["f1"] = F1(precision, recall),
            ["logLoss"] = labels.Length == 0 ? 0 : loss / labels.Length,
        };
        if (!details) return new Evaluation(metrics, null, null, null, null);
        var classes = state.Classes!;
        var negativeRecall = tn + fp == 0 ? 0 : (double)tn / (tn + fp);
        var negativePrecision = tn + fn == 0 ? 0 : (double)tn / (tn + fn);
        var confusion = new ConfusionMatrixReport(classes, [[tn, fp], [fn, tp]],
        [
            new ClassMetrics(classes[0], negativePrecision, negativeRecall, F1(negativePrecision, negativeRecall), tn + fp),
            new ClassMetrics(classes[1], precision, recall, F1(precision, recall), tp + fn),
        ]);
        var (roc, pr) = Curves(labels, scores);
        return new Evaluation(metrics, confusion, roc, pr, null);
    }

    private static double F1(double p, double r) => p + r == 0 ? 0 : 2 * p * r / (p + r);

    /// <summary>Area under the ROC curve (Mann–Whitney U; tied scores count half).</summary>
    internal static double Auc(IReadOnlyList<bool> labels, IReadOnlyList<float> scores)
    {
        var order = Enumerable.Range(0, labels.Count).OrderBy(i => scores[i]).ToArray();
        double positives = labels.Count(l => l), negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0) return 0.5;
        double rankSum = 0;
        var i = 0;
        while (i < order.Length)
        {
            var j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]]) j++;
            var averageRank = (i + j) / 2.0 + 1;
            for (var k = i; k <= j; k++)
            {
                if (labels[order[k]]) rankSum += averageRank;
            }
            i = j + 1;
        }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    /// <summary>ROC (x: false positive rate, y: true positive rate) and precision–recall (x: recall, y: precision), ≤ 101 points each.</summary>
    private static (IReadOnlyList<CurvePoint> Roc, IReadOnlyList<CurvePoint> Pr) Curves(IReadOnlyList<bool> labels, IReadOnlyList<float> scores)
    {
        var order = Enumerable.Range(0, labels.Count).OrderByDescending(i => scores[i]).ToArray();
        double positives = Math.Max(1, labels.Count(l => l)), negatives = Math.Max(1, labels.Count - labels.Count(l => l));
        var roc = new List<CurvePoint> { new(0, 0, order.Length == 0 ? 0 : scores[order[0]]) };
        var pr = new List<CurvePoint>();
        long tp = 0, fp = 0;
        var step = Math.Max(1, order.Length / 100);
        for (var k = 0; k < order.Length; k++)
        {
            if (labels[order[k]]) tp++; else fp++;
            var last = k == order.Length - 1;
            if (!last && (scores[order[k + 1]] == scores[order[k]] || (k + 1) % step != 0)) continue;
            roc.Add(new CurvePoint(fp / negatives, tp / positives, scores[order[k]]));
            pr.Add(new CurvePoint(tp / positives, (double)tp / (tp + fp), scores[order[k]]));
        }
        return (roc, pr);
    }

    private static Evaluation Multiclass(float[] labels, float[] probabilities, FeatureState state, bool details)
    {
        var k = state.Classes!.Count;
        var counts = new long[k][];
        for (var c = 0; c < k; c++) counts[c] = new long[k];
        double loss = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var row = probabilities.AsSpan(i * k, k);
            var predicted = 0;
            for (var c = 1; c < k; c++)
            {
                if (row[c] > row[predicted]) predicted = c;
            }
            var actual = (int)labels[i];
            counts[actual][predicted]++;
            loss -= Math.Log(Math.Clamp(row[actual], 1e-15, 1));
        }
        var support = counts.Select(r => r.Sum()).ToArray();
        var predictedTotals = Enumerable.Range(0, k).Select(c => counts.Sum(r => r[c])).ToArray();
        var recalls = Enumerable.Range(0, k).Select(c => support[c] == 0 ? double.NaN : (double)counts[c][c] / support[c]).ToArray();
        var metrics = new Dictionary<string, double>
        {
            // Macro: the mean recall over the classes present (ML.NET's MacroAccuracy; balanced accuracy).
            ["macroAccuracy"] = recalls.Where(r => !double.IsNaN(r)).DefaultIfEmpty(0).Average(),
            ["microAccuracy"] = labels.Length == 0 ? 0 : (double)Enumerable.Range(0, k).Sum(c => counts[c][c]) / labels.Length,
            ["logLoss"] = labels.Length == 0 ? 0 : loss / labels.Length,
        };
        if (!details) return new Evaluation(metrics, null, null, null, null);
        var perClass = state.Classes.Select((c, i) =>
        {
            var p = predictedTotals[i] == 0 ? 0 : (double)counts[i][i] / predictedTotals[i];
            var r = double.IsNaN(recalls[i]) ? 0 : recalls[i];
            return new ClassMetrics(c, p, r, F1(p, r), support[i]);
        }).ToList();
        return new Evaluation(metrics, new ConfusionMatrixReport(state.Classes, [.. counts.Select(r => (IReadOnlyList<long>)r)], perClass), null, null, null);
    }

    private static Evaluation Regression(float[] labels, float[] values, bool details)
    {
        var actual = labels.Select(l => (double)l).ToList();
        var predicted = values.Select(v => (double)v).ToList();
        var n = Math.Max(1, actual.Count);
        var residuals = actual.Select((a, i) => a - predicted[i]).ToArray();
        var mean = actual.Average();
        var ssRes = residuals.Sum(r => r * r);
        var ssTot = actual.Sum(a => (a - mean) * (a - mean));
        var metrics = new Dictionary<string, double>
        {
            ["rmse"] = Math.Sqrt(ssRes / n),
            ["mae"] = residuals.Sum(Math.Abs) / n,
            ["r2"] = ssTot == 0 ? 0 : 1 - ssRes / ssTot,
        };
        if (!details) return new Evaluation(metrics, null, null, null, null);
        var sorted = residuals.Order().ToArray();
        double Q(double q) => sorted[(int)Math.Clamp(Math.Round(q * (sorted.Length - 1)), 0, sorted.Length - 1)];
        var rMean = residuals.Average();
        var std = Math.Sqrt(residuals.Sum(r => (r - rMean) * (r - rMean)) / n);
        var (lo, hi) = (Q(0.01), Q(0.99));
        var bins = new long[20];
        var width = hi > lo ? (hi - lo) / bins.Length : 1;
        foreach (var r in residuals)
        {
            bins[Math.Clamp((int)((r - lo) / width), 0, bins.Length - 1)]++;
        }
        var histogram = bins.Select((c, i) => new HistogramBin(lo + i * width, lo + (i + 1) * width, c)).ToList();
        var every = Math.Max(1, actual.Count / 200);
        var points = Enumerable.Range(0, actual.Count).Where(i => i % every == 0).Select(i => new CurvePoint(actual[i], predicted[i], 0)).ToList();
        var summary = new ResidualSummary(rMean, std, metrics["mae"],
            new Dictionary<string, double> { ["p05"] = Q(0.05), ["p25"] = Q(0.25), ["p50"] = Q(0.5), ["p75"] = Q(0.75), ["p95"] = Q(0.95) },
            histogram, points);
        return new Evaluation(metrics, null, null, null, summary);
    }
}
