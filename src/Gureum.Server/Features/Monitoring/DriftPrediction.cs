using System.Text.Json;
using Gureum.ML.Data;
using Gureum.ML.Training;
using Gureum.Server.Features.Registry;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Monitoring;

/// <summary>What the live predictions of a version are compared with, as a profile column, and which field of each prediction is read.</summary>
internal sealed record DriftPredictionBaseline(ColumnProfile Column, string Field, string Source);

/// <summary>
/// The training baseline of a version's predictions, from its training job's report. Classification: the share of
/// each predicted class on the test split (the confusion matrix's column totals), compared with the live labels.
/// Regression: the test split's predicted values as the report samples them (up to about 400 points of
/// actual-vs-predicted), in ten bins of equal baseline frequency, compared with the live scores; with fewer than
/// <see cref="MinPoints"/> of them, the target's histogram in the training profile stands in (a model's predictions
/// are narrower than its target, so that proxy shows some drift even when nothing moved).
/// </summary>
internal static class DriftPrediction
{
    public const string Name = "(prediction)";
    private const int MinPoints = 50;
    private const int Bins = 10;

    public static async Task<DriftPredictionBaseline?> BaselineAsync(GureumDb db, ModelVersion version, DatasetProfile profile, CancellationToken ct)
    {
        if (version.TrainingJobId is not { } jobId) return null;
        var job = await db.TrainingJobs.AsNoTracking().FirstOrDefaultAsync(t => t.Id == jobId && t.ProjectId == version.ProjectId, ct);
        TrainingReport? report;
        try
        {
            report = job?.ReadReport();
        }
        catch (JsonException)
        {
            return null;
        }
        if (job is null || report is null) return null;
        return report.Task == TrainingTask.Regression ? Regression(report, profile, job.Target) : Classes(report);
    }

    private static DriftPredictionBaseline? Classes(TrainingReport report)
    {
        if (report.ConfusionMatrix is not { Classes.Count: > 0 } confusion) return null;
        // Rows are the actual classes, columns the predicted ones.
        var predicted = confusion.Classes.Select((c, j) => new ValueCount(c, confusion.Counts.Sum(row => j < row.Count ? row[j] : 0))).ToList();
        var total = predicted.Sum(p => p.Count);
        if (total == 0) return null;
        return new DriftPredictionBaseline(
            new ColumnProfile { Name = Name, Type = ColumnType.Categorical, Count = total, TopValues = predicted }, "label", "test-split-predictions");
    }

    private static DriftPredictionBaseline? Regression(TrainingReport report, DatasetProfile profile, string target)
    {
        var points = (report.Residuals?.ActualVsPredicted ?? []).Select(p => p.Y).Where(double.IsFinite).Order().ToArray();
        if (points.Length >= MinPoints)
        {
            return new DriftPredictionBaseline(
                new ColumnProfile { Name = Name, Type = ColumnType.Float, Count = points.Length, Histogram = EqualFrequency(points) }, "score", "test-split-predictions");
        }
        if (profile.Columns.FirstOrDefault(c => c.Name == target) is { Histogram.Count: > 0 } column)
        {
            return new DriftPredictionBaseline(column with { Name = Name, Missing = 0 }, "score", "training-target");
        }
        return null;
    }

    /// <summary>Up to <see cref="Bins"/> bins of about equal counts over sorted values, counted by the rule live values are binned by.</summary>
    private static List<HistogramBin> EqualFrequency(double[] sorted)
    {
        var ends = new List<double>();
        for (var i = 1; i < Bins; i++)
        {
            var end = sorted[i * sorted.Length / Bins];
            if (end > (ends.Count == 0 ? sorted[0] : ends[^1])) ends.Add(end);
        }
        ends.Add(Math.Max(sorted[^1], ends.Count == 0 ? sorted[0] : ends[^1]));
        var target = DriftTarget.Numbers(Name, [.. ends]);
        var counts = new long[ends.Count];
        foreach (var x in sorted) counts[target.Bin(x)]++;
        return ends.Select((end, b) => new HistogramBin(b == 0 ? sorted[0] : ends[b - 1], end, counts[b])).ToList();
    }
}
