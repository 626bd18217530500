using System.Text.Json;
using System.Text.Json.Serialization;
using Gureum.Server.Features.Tracking;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Features.Mlflow;

/// <summary>
/// MLflow's Tracking REST API (<c>/api/2.0/mlflow/...</c>) and artifact API (<c>/api/2.0/mlflow-artifacts/...</c>) over
/// <see cref="TrackingStore"/>: MLflow's request and response shapes and error codes, so MLflow clients log to Gureum
/// unchanged. Served twice: at the root, where the API key's own project is used, and under
/// <c>/v1/projects/{project}/mlflow</c>, for any key that can see that project (admin keys included).
/// </summary>
public static class MlflowApi
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static IEndpointRouteBuilder MapMlflow(this IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/api/2.0", "/v1/projects/{project}/mlflow/api/2.0" })
        {
            var group = app.MapGroup(prefix).ExcludeFromDescription();
            MapTracking(group.MapGroup("/mlflow"));
            MlflowRegistryApi.Map(group.MapGroup("/mlflow"));
            MapArtifacts(group.MapGroup("/mlflow-artifacts"));
            group.Map("/mlflow/{**rest}", (HttpContext http) =>
                throw new GureumException(ProblemCode.NotFound, $"No MLflow endpoint {http.Request.Method} {http.Request.Path} is implemented here.",
                    mlflowCode: MlflowCodes.EndpointNotFound)).RequireScope(Scopes.ProjectRead);
        }
        return app;
    }

    /// <summary>The project an MLflow call works in: the route's, or the key's own.</summary>
    internal static async Task<string> ProjectAsync(HttpContext http)
    {
        if (http.GetRouteValue("project") is string reference)
        {
            var scope = await ProjectScope.ResolveAsync(http);
            return scope?.ProjectId ?? throw new GureumException(ProblemCode.NotFound,
                $"Project '{reference}' was not found, or this API key belongs to another project.", mlflowCode: MlflowCodes.ResourceDoesNotExist);
        }
        return Caller.From(http.User).ProjectId ?? throw TrackingStore.Invalid("project",
            "This key is not bound to a project (an admin key): use the tracking URI http(s)://<host>/v1/projects/<project>/mlflow.");
    }

    internal static IResult Ok(object value) => Results.Json(value, Json);

    internal static readonly object Empty = new { };

    private static void MapTracking(RouteGroupBuilder g)
    {
        Read(g, "/experiments/get", ["experiment_id"], async (http, r, store, project, ct) =>
            new { experiment = Experiment(await store.FindExperimentAsync(project, r.RequiredString("experiment_id"), ct)) });
        Read(g, "/experiments/get-by-name", ["experiment_name"], async (http, r, store, project, ct) =>
            new { experiment = Experiment(await store.FindExperimentByNameAsync(project, r.RequiredString("experiment_name"), ct)) });
        Write(g, "/experiments/create", ["name", "artifact_location", "tags"], async (http, r, store, project, ct) =>
        {
            if (r.String("artifact_location") is { Length: > 0 })
            {
                throw TrackingStore.Invalid("artifact_location", "'artifact_location' cannot be chosen: artifacts live in Gureum's own store (no server paths or URIs are accepted).");
            }
            var experiment = await store.CreateExperimentAsync(project, r.RequiredString("name"), r.Tags(), ct);
            return new { experiment_id = experiment.Number.ToString() };
        });
        Both(g, "/experiments/search", ["max_results", "page_token", "filter", "order_by", "view_type"], async (http, r, store, project, ct) =>
        {
            var (items, next) = await store.SearchExperimentsAsync(project, r.String("filter"), r.String("view_type") ?? "ACTIVE_ONLY",
                r.Strings("order_by"), r.MaxResults(1000, 50000), r.String("page_token"), ct);
            return new { experiments = items.Select(Experiment), next_page_token = next };
        });
        Write(g, "/experiments/update", ["experiment_id", "new_name"], async (http, r, store, project, ct) =>
        {
            var experiment = await store.FindExperimentAsync(project, r.RequiredString("experiment_id"), ct);
            await store.RenameExperimentAsync(experiment, r.RequiredString("new_name"), ct);
            return Empty;
        });
        Write(g, "/experiments/delete", ["experiment_id"], async (http, r, store, project, ct) =>
        {
            await store.SetExperimentLifecycleAsync(await store.FindExperimentAsync(project, r.RequiredString("experiment_id"), ct), Lifecycle.Deleted, ct);
            return Empty;
        });
        Write(g, "/experiments/restore", ["experiment_id"], async (http, r, store, project, ct) =>
        {
            await store.SetExperimentLifecycleAsync(await store.FindExperimentAsync(project, r.RequiredString("experiment_id"), ct), Lifecycle.Active, ct);
            return Empty;
        });
        Write(g, "/experiments/set-experiment-tag", ["experiment_id", "key", "value"], async (http, r, store, project, ct) =>
        {
            var experiment = await store.FindExperimentAsync(project, r.RequiredString("experiment_id"), ct);
            await store.SetExperimentTagAsync(experiment, new KeyValue(r.RequiredString("key"), r.String("value") ?? ""), ct);
            return Empty;
        });

        Write(g, "/runs/create", ["experiment_id", "user_id", "run_name", "start_time", "tags"], async (http, r, store, project, ct) =>
        {
            var experiment = await store.FindExperimentAsync(project, r.String("experiment_id") ?? "0", ct);
            var tags = r.Tags();
            var user = r.String("user_id") ?? tags.FirstOrDefault(t => t.Key == "mlflow.user")?.Value ?? "";
            var run = await store.CreateRunAsync(project, experiment, r.String("run_name"), user, r.Long("start_time"), tags, "external", ct);
            return new { run = Run(await store.ViewAsync(run, ct)) };
        });
        Read(g, "/runs/get", ["run_id", "run_uuid"], async (http, r, store, project, ct) =>
            new { run = Run(await store.ViewAsync(await FindRunAsync(r, store, project, ct), ct)) });
        Write(g, "/runs/update", ["run_id", "run_uuid", "status", "end_time", "run_name"], async (http, r, store, project, ct) =>
        {
            var run = await FindRunAsync(r, store, project, ct);
            await store.UpdateRunAsync(run, r.String("status"), r.Long("end_time"), r.String("run_name"), ct);
            return new { run_info = RunInfo(run, await store.ExperimentNumberAsync(run, ct)) };
        });
        Write(g, "/runs/delete", ["run_id", "run_uuid"], async (http, r, store, project, ct) =>
        {
            await store.SetRunLifecycleAsync(await FindRunAsync(r, store, project, ct), Lifecycle.Deleted, ct);
            return Empty;
        });
        Write(g, "/runs/restore", ["run_id", "run_uuid"], async (http, r, store, project, ct) =>
        {
            await store.SetRunLifecycleAsync(await FindRunAsync(r, store, project, ct), Lifecycle.Active, ct);
            return Empty;
        });
        Both(g, "/runs/search", ["experiment_ids", "filter", "run_view_type", "max_results", "order_by", "page_token"], async (http, r, store, project, ct) =>
        {
            var experimentIds = r.Strings("experiment_ids");
            if (experimentIds.Count == 0)
            {
                throw TrackingStore.Invalid("experiment_ids", "'experiment_ids' must name at least one experiment.");
            }
            var (items, next) = await store.SearchRunsAsync(project, experimentIds, r.String("filter"), r.String("run_view_type") ?? "ACTIVE_ONLY",
                r.Strings("order_by"), r.MaxResults(1000, 50000), r.String("page_token"), ct);
            return new { runs = (await store.ViewAsync(items, ct)).Select(Run), next_page_token = next };
        });
        Write(g, "/runs/log-metric", ["run_id", "run_uuid", "key", "value", "timestamp", "step", "model_id", "dataset_name", "dataset_digest"], async (http, r, store, project, ct) =>
        {
            var run = await FindRunAsync(r, store, project, ct);
            var point = new MetricPoint(r.RequiredString("key"), r.RequiredDouble("value"),
                r.Long("timestamp") ?? throw TrackingStore.Invalid("timestamp", "Missing value for required parameter 'timestamp'."), r.Long("step") ?? 0);
            await store.LogBatchAsync(run, [point], [], [], ct);
            return Empty;
        });
        Write(g, "/runs/log-parameter", ["run_id", "run_uuid", "key", "value"], async (http, r, store, project, ct) =>
        {
            var run = await FindRunAsync(r, store, project, ct);
            await store.LogBatchAsync(run, [], [new KeyValue(r.RequiredString("key"), r.String("value") ?? "")], [], ct);
            return Empty;
        });
        Write(g, "/runs/set-tag", ["run_id", "run_uuid", "key", "value"], async (http, r, store, project, ct) =>
        {
            var run = await FindRunAsync(r, store, project, ct);
            var tag = new KeyValue(r.RequiredString("key"), r.String("value") ?? "");
            if (tag.Key == "mlflow.runName")
            {
                await store.UpdateRunAsync(run, null, null, tag.Value, ct);
            }
            else
            {
                await store.LogBatchAsync(run, [], [], [tag], ct);
            }
            return Empty;
        });
        Write(g, "/runs/delete-tag", ["run_id", "run_uuid", "key"], async (http, r, store, project, ct) =>
        {
            await store.DeleteTagAsync(await FindRunAsync(r, store, project, ct), r.RequiredString("key"), ct);
            return Empty;
        });
        Write(g, "/runs/log-batch", ["run_id", "run_uuid", "metrics", "params", "tags"], async (http, r, store, project, ct) =>
        {
            var run = await FindRunAsync(r, store, project, ct);
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await store.LogBatchAsync(run,
                [.. r.Objects("metrics").Select(m => MlflowRequest.MetricOf(m, now))],
                [.. r.Objects("params").Select(p => MlflowRequest.KeyValueOf("params", p))],
                r.Tags(), ct);
            return Empty;
        });
        Write(g, "/runs/log-inputs", ["run_id", "run_uuid", "datasets", "models"], async (http, r, store, project, ct) =>
        {
            // Dataset inputs are accepted and dropped: lineage in Gureum comes from its own datasets and training jobs.
            await FindRunAsync(r, store, project, ct);
            return Empty;
        });
        Write(g, "/runs/log-model", ["run_id", "run_uuid", "model_json"], async (http, r, store, project, ct) =>
        {
            var run = await FindRunAsync(r, store, project, ct);
            await store.LogBatchAsync(run, [], [], [new KeyValue("mlflow.log-model.history", r.RequiredString("model_json"))], ct);
            return Empty;
        });
        Read(g, "/artifacts/list", ["run_id", "run_uuid", "path", "page_token"], async (http, r, store, project, ct) =>
        {
            // The tracking API's listing (older clients, the npm one): paths relative to the run's artifact root.
            var run = await FindRunAsync(r, store, project, ct);
            var entries = await store.ListArtifactsAsync(run, r.String("path"), ct);
            var root = $"mlflow-artifacts:/{await store.ExperimentNumberAsync(run, ct)}/{run.Id}/artifacts";
            return new { root_uri = root, files = entries.Select(e => new { path = e.Path, is_dir = e.IsDir, file_size = e.SizeBytes }) };
        });
        Read(g, "/metrics/get-history", ["run_id", "run_uuid", "metric_key", "max_results", "page_token"], async (http, r, store, project, ct) =>
        {
            var run = await FindRunAsync(r, store, project, ct);
            var (items, next) = await store.MetricHistoryAsync(run, r.RequiredString("metric_key"), r.MaxResults(25000, 25000), r.String("page_token"), ct);
            return new { metrics = items.Select(Metric), next_page_token = next };
        });
    }

    private static void MapArtifacts(RouteGroupBuilder g)
    {
        g.MapGet("/artifacts", async (HttpContext http, TrackingStore store, CancellationToken ct) =>
        {
            var project = await ProjectAsync(http);
            var r = await MlflowRequest.ReadAsync(http, "path");
            var (run, inner) = await ResolveArtifactPathAsync(store, project, r.String("path"), ct);
            var entries = await store.ListArtifactsAsync(run, inner, ct);
            var prefix = inner is null ? "" : inner + "/";
            return Ok(new { files = entries.Select(e => new { path = e.Path[prefix.Length..], is_dir = e.IsDir, file_size = e.SizeBytes }) });
        }).RequireScope(Scopes.ProjectRead);
        g.MapGet("/artifacts/{**path}", async (HttpContext http, string path, TrackingStore store, Infrastructure.Artifacts.IArtifactStore blobs, CancellationToken ct) =>
        {
            var project = await ProjectAsync(http);
            var (run, inner) = await ResolveArtifactPathAsync(store, project, path, ct);
            var artifact = await store.FindArtifactAsync(run, inner ?? "", ct);
            return Results.Stream(blobs.OpenRead(artifact.Sha256), "application/octet-stream", fileDownloadName: Path.GetFileName(artifact.Path));
        }).RequireScope(Scopes.ProjectRead);
        g.MapPut("/artifacts/{**path}", async (HttpContext http, string path, TrackingStore store, CancellationToken ct) =>
        {
            var project = await ProjectAsync(http);
            var (run, inner) = await ResolveArtifactPathAsync(store, project, path, ct);
            await store.PutArtifactAsync(run, inner ?? "", http.Request.Body, ct);
            return Ok(new { });
        }).RequireScope(Scopes.ProjectWrite);
        g.MapDelete("/artifacts/{**path}", async (HttpContext http, string path, TrackingStore store, CancellationToken ct) =>
        {
            var project = await ProjectAsync(http);
            var (run, inner) = await ResolveArtifactPathAsync(store, project, path, ct);
            await store.DeleteArtifactsAsync(run, inner ?? "", ct);
            return Ok(new { });
        }).RequireScope(Scopes.ProjectWrite);
    }

    /// <summary>
    /// Artifact paths are <c>{experiment_id}/{run_id}/artifacts/{path inside the run}</c>, as MLflow's artifact proxy
    /// lays them out; the run must belong to the caller's project and the experiment must be the run's.
    /// </summary>
    internal static async Task<(Run Run, string? Inner)> ResolveArtifactPathAsync(TrackingStore store, string project, string? path, CancellationToken ct)
    {
        var parts = (path ?? "").Split('/', 4);
        if (parts.Length < 3 || parts[2] != "artifacts")
        {
            throw TrackingStore.Invalid("path", $"Artifact paths look like '<experiment_id>/<run_id>/artifacts/<file>'; '{path}' does not.");
        }
        var run = await store.FindRunAsync(project, parts[1], ct);
        if ((await store.ExperimentNumberAsync(run, ct)).ToString() != parts[0])
        {
            throw TrackingStore.NotFound($"Run '{run.Id}' is not in experiment '{parts[0]}'.");
        }
        return (run, ArtifactPaths.Normalize(parts.Length == 4 ? parts[3] : null, "path"));
    }

    private static Task<Run> FindRunAsync(MlflowRequest r, TrackingStore store, string project, CancellationToken ct) =>
        store.FindRunAsync(project, r.String("run_id") ?? r.String("run_uuid")
            ?? throw TrackingStore.Invalid("run_id", "Missing value for required parameter 'run_id'."), ct);

    // ---- shapes ----

    internal static object Experiment(Experiment e) => new
    {
        experiment_id = e.Number.ToString(),
        name = e.Name,
        artifact_location = $"mlflow-artifacts:/{e.Number}",
        lifecycle_stage = e.LifecycleStage,
        last_update_time = e.UpdatedAt.ToUnixTimeMilliseconds(),
        creation_time = e.CreatedAt.ToUnixTimeMilliseconds(),
        tags = e.ReadTags().OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new { key = t.Key, value = t.Value }),
    };

    internal static object RunInfo(Run r, long experimentNumber) => new
    {
        run_id = r.Id,
        run_uuid = r.Id,
        run_name = r.Name,
        experiment_id = experimentNumber.ToString(),
        user_id = r.UserId,
        status = r.Status,
        start_time = r.StartTime,
        end_time = r.EndTime,
        artifact_uri = $"mlflow-artifacts:/{experimentNumber}/{r.Id}/artifacts",
        lifecycle_stage = r.LifecycleStage,
    };

    internal static object Run(RunView v) => new
    {
        info = RunInfo(v.Run, v.ExperimentNumber),
        data = new
        {
            metrics = v.Metrics.Select(Metric),
            @params = v.Params.Select(p => new { key = p.Key, value = p.Value }),
            tags = v.Tags.Select(t => new { key = t.Key, value = t.Value }),
        },
        inputs = new { },
    };

    private static object Metric(MetricPoint m) => new { key = m.Key, value = m.Value, timestamp = m.Timestamp, step = m.Step };

    // ---- route helpers ----

    internal delegate Task<object> Handler(HttpContext http, MlflowRequest request, TrackingStore store, string project, CancellationToken ct);

    private static void Read(RouteGroupBuilder g, string pattern, string[] fields, Handler handler) =>
        g.MapGet(pattern, Wrap(fields, handler)).RequireScope(Scopes.ProjectRead);

    private static void Write(RouteGroupBuilder g, string pattern, string[] fields, Handler handler) =>
        g.MapPost(pattern, Wrap(fields, handler)).RequireScope(Scopes.ProjectWrite);

    /// <summary>Searches: MLflow clients send them as POST with a body; the UI and curl use GET with a query.</summary>
    private static void Both(RouteGroupBuilder g, string pattern, string[] fields, Handler handler) =>
        g.MapMethods(pattern, [HttpMethods.Get, HttpMethods.Post], Wrap(fields, handler)).RequireScope(Scopes.ProjectRead);

    internal static Func<HttpContext, TrackingStore, CancellationToken, Task<IResult>> Wrap(string[] fields, Handler handler) =>
        async (http, store, ct) =>
        {
            var project = await ProjectAsync(http);
            var request = await MlflowRequest.ReadAsync(http, fields);
            return Ok(await handler(http, request, store, project, ct));
        };
}
