using System.Text.Json;
using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Registry;
using Gureum.Server.Features.Serving;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Monitoring;

/// <summary>The true outcome of one predicted row (<see cref="Row"/> of the request <see cref="RequestId"/>), sent later by the application.</summary>
public sealed class PredictionFeedback
{
    public long Id { get; init; }
    public required string ProjectId { get; init; }
    public required string EndpointId { get; init; }
    public required string RequestId { get; init; }
    public int Row { get; init; }
    public required string Label { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
}

internal sealed class PredictionFeedbackConfiguration : IEntityTypeConfiguration<PredictionFeedback>
{
    public void Configure(EntityTypeBuilder<PredictionFeedback> b)
    {
        b.ToTable("prediction_feedback");
        b.HasKey(f => f.Id);
        b.Property(f => f.RequestId).HasMaxLength(128);
        b.Property(f => f.Label).HasMaxLength(256);
        b.HasIndex(f => new { f.EndpointId, f.RequestId, f.Row }).IsUnique();
        b.HasOne<Project>().WithMany().HasForeignKey(f => f.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

public sealed record FeedbackItem(string? RequestId, int? Row, JsonElement? Label);
public sealed record FeedbackRequest(IReadOnlyList<FeedbackItem>? Feedback);
public sealed record FeedbackAccepted(int Accepted);
public sealed record LiveMetric(string Name, double? Live, double? Test, double? Delta);
public sealed record LiveMetrics(string Endpoint, DateTimeOffset From, DateTimeOffset To, string Task, long Matched, long Unmatched, IReadOnlyList<LiveMetric> Metrics);

/// <summary>
/// Ground truth for monitoring: the application sends the true label of predictions it made (by the request id each
/// answer carries); the live metric (accuracy and AUC for binary models, accuracy for multiclass, RMSE for regression)
/// is computed over the predictions of a window whose answers were sampled (<c>sampleRate</c>) and compared with the
/// model version's test metric.
/// </summary>
public static class Feedback
{
    private const int MaxItems = 1_000;

    public static RouteGroupBuilder MapFeedback(this RouteGroupBuilder endpoints)
    {
        endpoints.MapPost("/{name}/feedback", Post).RequireScope(Scopes.Predict).Accepts<FeedbackRequest>("application/json")
            .WithSummary("True labels of earlier predictions: {\"feedback\": [{\"requestId\", \"row\", \"label\"}]} (a label sent again replaces the first)")
            .WithStandardErrors();
        endpoints.MapGet("/{name}/feedback", Metrics).RequireScope(Scopes.ProjectRead)
            .WithSummary("The live metric over ?window (or ?from&to) from feedback on sampled predictions, against the model's test metric")
            .WithStandardErrors(422);
        return endpoints;
    }

    private static async Task<Ok<FeedbackAccepted>> Post(ProjectScope scope, string name, FeedbackRequest request, GureumDb db, TimeProvider clock, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        var items = request.Feedback ?? throw GureumException.Invalid("feedback", "'feedback' is required: [{\"requestId\", \"row\", \"label\"}].");
        if (items.Count is 0 or > MaxItems) throw GureumException.Invalid("feedback", $"Send 1 to {MaxItems} feedback items per call.");
        var rows = new List<PredictionFeedback>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i] ?? throw GureumException.Invalid($"feedback[{i}]", $"'feedback[{i}]' is null.");
            if (string.IsNullOrEmpty(item.RequestId) || item.RequestId.Length > 128 || item.RequestId.Any(char.IsControl))
            {
                throw GureumException.Invalid($"feedback[{i}].requestId", $"'feedback[{i}].requestId' must be the requestId of a prediction's answer (at most 128 characters).");
            }
            if (item.Row is < 0 or > 1_000_000) throw GureumException.Invalid($"feedback[{i}].row", $"'feedback[{i}].row' must be from 0 to 1000000 (the row of the request).");
            var label = item.Label switch
            {
                { ValueKind: JsonValueKind.String } s when s.GetString()!.Length is > 0 and <= 256 => s.GetString()!,
                { ValueKind: JsonValueKind.Number } n when n.TryGetDouble(out var d) && double.IsFinite(d) => n.GetRawText(),
                { ValueKind: JsonValueKind.True } => "true",
                { ValueKind: JsonValueKind.False } => "false",
                _ => throw GureumException.Invalid($"feedback[{i}].label", $"'feedback[{i}].label' must be the true class (a string of 1 to 256 characters or a boolean) or the true number."),
            };
            rows.Add(new PredictionFeedback
            {
                ProjectId = scope.ProjectId, EndpointId = endpoint.Id, RequestId = item.RequestId, Row = item.Row ?? 0, Label = label, ReceivedAt = clock.GetUtcNow(),
            });
        }
        var ids = rows.Select(r => r.RequestId).Distinct().ToList();
        var existing = await db.Set<PredictionFeedback>().Where(f => f.EndpointId == endpoint.Id && ids.Contains(f.RequestId)).ToListAsync(ct);
        foreach (var row in rows.GroupBy(r => (r.RequestId, r.Row)).Select(g => g.Last()))
        {
            if (existing.FirstOrDefault(e => e.RequestId == row.RequestId && e.Row == row.Row) is { } known)
            {
                known.Label = row.Label;
                known.ReceivedAt = row.ReceivedAt;
            }
            else
            {
                db.Add(row);
            }
        }
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(new FeedbackAccepted(items.Count));
    }

    private static async Task<Ok<LiveMetrics>> Metrics(ProjectScope scope, string name, string? window, string? from, string? to, GureumDb db, TimeProvider clock, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        var (start, end) = MonitoringEndpoints.Range(window, from, to, clock.GetUtcNow());
        return TypedResults.Ok(await ComputeAsync(db, endpoint, start, end, ct));
    }

    /// <summary>The live metrics of an endpoint over [start, end): also what metric-drop alert rules read.</summary>
    public static async Task<LiveMetrics> ComputeAsync(GureumDb db, InferenceEndpoint endpoint, DateTimeOffset start, DateTimeOffset end, CancellationToken ct)
    {
        var feedback = await db.Set<PredictionFeedback>().AsNoTracking()
            .Where(f => f.EndpointId == endpoint.Id && f.ProjectId == endpoint.ProjectId).ToListAsync(ct);
        var ids = feedback.Select(f => f.RequestId).Distinct().ToList();
        var samples = await db.Set<PredictionSample>().AsNoTracking()
            .Where(s => s.EndpointId == endpoint.Id && !s.Shadow && s.Status == 200 && s.At >= start && s.At < end && ids.Contains(s.RequestId))
            .ToListAsync(ct);
        var bySample = samples.ToDictionary(s => s.RequestId);
        var pairs = new List<(string Truth, JsonElement Prediction, string Model, int Version)>();
        long unmatched = 0;
        foreach (var f in feedback)
        {
            if (!bySample.TryGetValue(f.RequestId, out var sample) || Prediction(sample.Output, f.Row) is not { } prediction)
            {
                unmatched++;
                continue;
            }
            pairs.Add((f.Label, prediction, sample.Model, sample.Version));
        }
        if (pairs.Count == 0)
        {
            return new LiveMetrics(endpoint.Name, start, end, "unknown", 0, unmatched, []);
        }
        // The test metrics of the version that answered most of them.
        var (model, version) = pairs.GroupBy(p => (p.Model, p.Version)).OrderByDescending(g => g.Count()).First().Key;
        var test = await db.Set<ModelVersion>().AsNoTracking()
            .Where(v => v.ProjectId == endpoint.ProjectId && v.Version == version && v.Model!.Name == model)
            .Select(v => v.Metrics).FirstOrDefaultAsync(ct) is { } metricsJson ? JsonSerializer.Deserialize<Dictionary<string, double>>(metricsJson) ?? [] : [];

        var first = pairs[0].Prediction;
        string task;
        var metrics = new List<LiveMetric>();
        if (first.TryGetProperty("score", out _))
        {
            task = "regression";
            var errors = pairs.Select(p => double.TryParse(p.Truth, System.Globalization.CultureInfo.InvariantCulture, out var y) ? y - p.Prediction.GetProperty("score").GetDouble() : double.NaN)
                .Where(double.IsFinite).ToList();
            metrics.Add(Compare("rmse", errors.Count == 0 ? null : Math.Sqrt(errors.Average(e => e * e)), test));
        }
        else
        {
            var accuracy = pairs.Average(p => p.Prediction.TryGetProperty("label", out var l) && l.GetString() == p.Truth ? 1.0 : 0.0);
            if (first.TryGetProperty("probability", out _))
            {
                task = "binary";
                metrics.Add(Compare("accuracy", accuracy, test));
                metrics.Add(Compare("auc", Auc(pairs.Select(p => (p.Truth, p.Prediction)).ToList()), test));
            }
            else
            {
                task = "multiclass";
                metrics.Add(Compare("accuracy", accuracy, test));
            }
        }
        return new LiveMetrics(endpoint.Name, start, end, task, pairs.Count, unmatched, metrics);
    }

    private static LiveMetric Compare(string name, double? live, Dictionary<string, double> test)
    {
        double? tested = test.TryGetValue(name, out var t) ? t : null;
        live = live is { } l ? Math.Round(l, 6) : null;
        return new LiveMetric(name, live, tested, live is { } a && tested is { } b ? Math.Round(a - b, 6) : null);
    }

    /// <summary>The prediction of one row in a sampled answer (null when the answer was cut at its size bound).</summary>
    private static JsonElement? Prediction(string? output, int row)
    {
        if (output is null) return null;
        try
        {
            using var document = JsonDocument.Parse(output);
            return document.RootElement.TryGetProperty("predictions", out var predictions) && row < predictions.GetArrayLength() ? predictions[row].Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Binary AUC (rank statistic); the positive class is the label predicted from a probability of 0.5 up.</summary>
    private static double? Auc(List<(string Truth, JsonElement Prediction)> pairs)
    {
        var positive = pairs.Where(p => p.Prediction.GetProperty("probability").GetDouble() >= 0.5).Select(p => p.Prediction.GetProperty("label").GetString()).FirstOrDefault();
        var negative = pairs.Where(p => p.Prediction.GetProperty("probability").GetDouble() < 0.5).Select(p => p.Prediction.GetProperty("label").GetString()).FirstOrDefault();
        positive ??= pairs.Select(p => p.Truth).Distinct().FirstOrDefault(t => t != negative);
        var scored = pairs.Select(p => (Positive: p.Truth == positive, Score: p.Prediction.GetProperty("probability").GetDouble())).OrderBy(p => p.Score).ToList();
        long positives = scored.Count(s => s.Positive), negatives = scored.Count - positives;
        if (positives == 0 || negatives == 0) return null;
        double rankSum = 0;
        for (var i = 0; i < scored.Count;)
        {
            var j = i;
            while (j < scored.Count && scored[j].Score == scored[i].Score) j++;
            var rank = (i + j + 1) / 2.0; // average rank of ties (1-based)
            for (var k = i; k < j; k++) if (scored[k].Positive) rankSum += rank;
            i = j;
        }
        return (rankSum - positives * (positives + 1) / 2.0) / (positives * negatives);
    }
}
