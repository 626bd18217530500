using Gureum.Server.Features.Projects;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Gureum.Server.Features.Tracking;

public sealed record CreateExperimentRequest(string Name, Dictionary<string, string>? Tags = null);

public sealed record ExperimentResponse(string Id, string Name, string LifecycleStage, Dictionary<string, string> Tags, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record RunResponse(
    string Id, string Name, string ExperimentId, string Status, string LifecycleStage, DateTimeOffset StartTime, DateTimeOffset? EndTime,
    string Source, string? TrainingJobId, string? ParentRunId, string? DatasetVersionId, string UserId,
    Dictionary<string, string> Params, Dictionary<string, string> Tags, Dictionary<string, double> Metrics);

public sealed record RunPage(IReadOnlyList<RunResponse> Items, string? Next);

public sealed record MetricHistory(string Key, IReadOnlyList<MetricPoint> Points, string? Next);

public sealed record CompareRunsRequest(IReadOnlyList<string> RunIds, IReadOnlyList<string>? Metrics = null);

/// <summary>One parameter across the compared runs; <see cref="Differs"/> marks the rows worth looking at.</summary>
public sealed record ParamRow(string Key, IReadOnlyList<string?> Values, bool Differs);

public sealed record MetricSeries(string Key, IReadOnlyList<IReadOnlyList<MetricPoint>> Runs);

public sealed record RunComparison(IReadOnlyList<RunResponse> Runs, IReadOnlyList<ParamRow> Params, IReadOnlyList<MetricSeries> Metrics);

/// <summary>
/// Gureum's own tracking API (camelCase, under the project route): experiments, run search, metric series, artifact
/// trees and side-by-side comparison. MLflow clients use the MLflow-compatible routes over the same store.
/// </summary>
public static class TrackingEndpoints
{
    public const int MaxCompareRuns = 20;

    public static IEndpointRouteBuilder MapTracking(this IEndpointRouteBuilder app)
    {
        var experiments = app.MapProjectGroup("/experiments").WithTags("Tracking");
        experiments.MapGet("/", ListExperiments).RequireScope(Scopes.ProjectRead).WithSummary("List experiments (filter: name LIKE 'x%')").WithStandardErrors();
        experiments.MapPost("/", CreateExperiment).RequireScope(Scopes.ProjectWrite).WithIdempotency().WithSummary("Create an experiment").WithStandardErrors(409);
        experiments.MapGet("/{id}", GetExperiment).RequireScope(Scopes.ProjectRead).WithSummary("An experiment by number").WithStandardErrors();

        var runs = app.MapProjectGroup("/runs").WithTags("Tracking");
        runs.MapGet("/", SearchRuns).RequireScope(Scopes.ProjectRead)
            .WithSummary("Search runs: ?experiment=1&filter=metrics.rmse < 1 and params.alpha = '0.5'&orderBy=metrics.rmse ASC&limit=&pageToken=")
            .WithStandardErrors();
        runs.MapGet("/{id}", GetRun).RequireScope(Scopes.ProjectRead).WithSummary("A run with its params, tags and latest metrics").WithStandardErrors();
        runs.MapGet("/{id}/metrics/{key}", History).RequireScope(Scopes.ProjectRead).WithSummary("A metric's series (step, value, timestamp)").WithStandardErrors();
        runs.MapGet("/{id}/artifacts", ListArtifacts).RequireScope(Scopes.ProjectRead).WithSummary("The artifact tree of a run, one directory at a time (?path=)").WithStandardErrors();
        runs.MapGet("/{id}/artifacts/{**path}", DownloadArtifact).RequireScope(Scopes.ProjectRead)
            .WithSummary("Download an artifact").Produces(200, contentType: "application/octet-stream").WithStandardErrors();
        // Artifacts are any bytes, sent with any content type (MLflow clients guess one from the file name); accepting
        // only octet-stream would let routing answer 415 before the caller's key was even looked at.
        runs.MapPut("/{id}/artifacts/{**path}", UploadArtifact).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Upload an artifact (raw body, streamed)").Accepts<Stream>("application/octet-stream", "*/*").WithStandardErrors(413);
        runs.MapPost("/compare", CompareRuns).RequireScope(Scopes.ProjectRead).WithSummary("Compare runs side by side: params diff and metric series").WithStandardErrors();
        return app;
    }

    private static async Task<Ok<List<ExperimentResponse>>> ListExperiments(ProjectScope scope, string? filter, TrackingStore store, CancellationToken ct)
    {
        var (items, _) = await store.SearchExperimentsAsync(scope.ProjectId, filter, "ACTIVE_ONLY", [], 1000, null, ct);
        return TypedResults.Ok(items.Select(Describe).ToList());
    }

    private static async Task<Created<ExperimentResponse>> CreateExperiment(ProjectScope scope, CreateExperimentRequest request, TrackingStore store, CancellationToken ct)
    {
        var experiment = await store.CreateExperimentAsync(scope.ProjectId, request.Name,
            [.. (request.Tags ?? []).Select(t => new KeyValue(t.Key, t.Value))], ct);
        return TypedResults.Created($"/v1/projects/{scope.ProjectId}/experiments/{experiment.Number}", Describe(experiment));
    }

    private static async Task<Ok<ExperimentResponse>> GetExperiment(ProjectScope scope, string id, TrackingStore store, CancellationToken ct) =>
        TypedResults.Ok(Describe(await store.FindExperimentAsync(scope.ProjectId, id, ct)));

    private static async Task<Ok<RunPage>> SearchRuns(ProjectScope scope, string? experiment, string? filter, string? orderBy, int? limit, string? pageToken,
        TrackingStore store, CancellationToken ct)
    {
        List<string> experiments;
        if (experiment is not null)
        {
            experiments = [.. experiment.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }
        else
        {
            var (all, _) = await store.SearchExperimentsAsync(scope.ProjectId, null, "ACTIVE_ONLY", [], 1000, null, ct);
            experiments = [.. all.Select(e => e.Number.ToString())];
        }
        var order = orderBy is null ? [] : orderBy.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        var (runs, next) = await store.SearchRunsAsync(scope.ProjectId, experiments, filter, "ACTIVE_ONLY", order, Infrastructure.Paging.Limit(limit), pageToken, ct);
        return TypedResults.Ok(new RunPage([.. (await store.ViewAsync(runs, ct)).Select(Describe)], next));
    }

    private static async Task<Ok<RunResponse>> GetRun(ProjectScope scope, string id, TrackingStore store, CancellationToken ct) =>
        TypedResults.Ok(Describe(await store.ViewAsync(await store.FindRunAsync(scope.ProjectId, id, ct), ct)));

    private static async Task<Ok<MetricHistory>> History(ProjectScope scope, string id, string key, int? limit, string? pageToken, TrackingStore store, CancellationToken ct)
    {
        var run = await store.FindRunAsync(scope.ProjectId, id, ct);
        var (points, next) = await store.MetricHistoryAsync(run, key, limit is null ? 10000 : Math.Clamp(limit.Value, 1, 25000), pageToken, ct);
        return TypedResults.Ok(new MetricHistory(key, points, next));
    }

    private static async Task<Ok<List<ArtifactEntry>>> ListArtifacts(ProjectScope scope, string id, string? path, TrackingStore store, CancellationToken ct) =>
        TypedResults.Ok(await store.ListArtifactsAsync(await store.FindRunAsync(scope.ProjectId, id, ct), path, ct));

    private static async Task<IResult> DownloadArtifact(ProjectScope scope, string id, string path, TrackingStore store, IArtifactStore blobs, CancellationToken ct)
    {
        var artifact = await store.FindArtifactAsync(await store.FindRunAsync(scope.ProjectId, id, ct), path, ct);
        return Results.Stream(blobs.OpenRead(artifact.Sha256), "application/octet-stream", Path.GetFileName(artifact.Path));
    }

    private static async Task<Ok<ArtifactEntry>> UploadArtifact(ProjectScope scope, string id, string path, HttpContext http, TrackingStore store, CancellationToken ct)
    {
        var artifact = await store.PutArtifactAsync(await store.FindRunAsync(scope.ProjectId, id, ct), path, http.Request.Body, ct);
        return TypedResults.Ok(new ArtifactEntry(artifact.Path, false, artifact.SizeBytes));
    }

    private static async Task<Ok<RunComparison>> CompareRuns(ProjectScope scope, CompareRunsRequest request, TrackingStore store, CancellationToken ct)
    {
        if (request.RunIds is not { Count: >= 2 } || request.RunIds.Count > MaxCompareRuns)
        {
            throw GureumException.Invalid("runIds", $"Compare 2 to {MaxCompareRuns} runs.");
        }
        var runs = new List<Run>();
        foreach (var id in request.RunIds.Distinct())
        {
            runs.Add(await store.FindRunAsync(scope.ProjectId, id, ct));
        }
        var views = await store.ViewAsync(runs, ct);
        var paramKeys = views.SelectMany(v => v.Params.Select(p => p.Key)).Distinct().Order(StringComparer.Ordinal);
        var parameters = paramKeys.Select(k =>
        {
            var values = views.Select(v => v.Params.FirstOrDefault(p => p.Key == k)?.Value).ToList();
            return new ParamRow(k, values, values.Distinct().Count() > 1);
        }).ToList();
        var metricKeys = request.Metrics ?? [.. views.SelectMany(v => v.Metrics.Select(m => m.Key)).Distinct().Order(StringComparer.Ordinal).Take(50)];
        var series = new List<MetricSeries>();
        foreach (var key in metricKeys)
        {
            var perRun = new List<IReadOnlyList<MetricPoint>>();
            foreach (var run in runs)
            {
                perRun.Add((await store.MetricHistoryAsync(run, key, 10000, null, ct)).Items);
            }
            series.Add(new MetricSeries(key, perRun));
        }
        return TypedResults.Ok(new RunComparison([.. views.Select(Describe)], parameters, series));
    }

    private static ExperimentResponse Describe(Experiment e) =>
        new(e.Number.ToString(), e.Name, e.LifecycleStage, e.ReadTags(), e.CreatedAt, e.UpdatedAt);

    internal static RunResponse Describe(RunView v) => new(
        v.Run.Id, v.Run.Name, v.ExperimentNumber.ToString(), v.Run.Status, v.Run.LifecycleStage,
        DateTimeOffset.FromUnixTimeMilliseconds(v.Run.StartTime), v.Run.EndTime is { } end ? DateTimeOffset.FromUnixTimeMilliseconds(end) : null,
        v.Run.Source, v.Run.TrainingJobId, v.Run.ParentRunId, v.Run.DatasetVersionId, v.Run.UserId,
        v.Params.ToDictionary(p => p.Key, p => p.Value), v.Tags.ToDictionary(t => t.Key, t => t.Value), v.Metrics.ToDictionary(m => m.Key, m => m.Value));
}
