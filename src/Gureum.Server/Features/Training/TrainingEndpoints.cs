using System.Text.Json;
using Gureum.ML.Training;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Projects;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Training;

/// <summary>
/// A training request. <c>version</c> defaults to the dataset's latest; <c>testVersion</c> (same dataset) replaces the
/// held-out split; <c>trainer</c> (+ <c>hyperparameters</c>) turns the search off (manual mode). The job and its
/// trials are recorded as runs in <c>experiment</c> (default: the dataset's name). <c>requirements</c> (a GPU, memory, node labels such as
/// <c>sovereign=true</c>) decide which nodes of a cluster may run it.
/// </summary>
public sealed record TrainingRequest(
    string Dataset,
    string Target,
    int? Version = null,
    int? TestVersion = null,
    string? Task = null,
    string? Metric = null,
    int? BudgetSeconds = null,
    int? Seed = null,
    IReadOnlyList<string>? IgnoreColumns = null,
    string? Trainer = null,
    Dictionary<string, double>? Hyperparameters = null,
    double? TestFraction = null,
    string? Experiment = null,
    Nodes.NodeRequirements? Requirements = null);

public sealed record DatasetReference(string Id, int Version, int? TestVersion);

public sealed record ModelReference(string Sha256, long SizeBytes, string Download);

public sealed record TrainingJobResponse(
    string Id, string ProjectId, JobStatus Status, double Percent, string? Message, string? Error,
    DatasetReference Dataset, string Target, string Task, string Metric, int BudgetSeconds, int Seed,
    string? BestTrainer, double? TestScore, ModelReference? Model, TrainingReport? Report,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

public sealed record TrialResponse(
    int Number, string Trainer, string Stage, Dictionary<string, double> Hyperparameters, Dictionary<string, double> Metrics,
    double? Score, double DurationSeconds, string Status, string? Error, int Attempt, DateTimeOffset FinishedAt);

public sealed record LeaderboardResponse(string Metric, bool HigherIsBetter, JobStatus Status, IReadOnlyList<TrialResponse> Trials);

/// <summary>Rows to explain: objects of raw column → value, as in the dataset.</summary>
public sealed record ExplainRequest(JsonElement Records);

public sealed record ExplainResponse(string Trainer, string Task, bool ContributionsSupported, IReadOnlyList<Prediction> Predictions);

internal static class TrainingRequests
{
    public static TrainingOptions ToOptions(TrainingRequest r)
    {
        TrainingTask? task = null;
        if (r.Task is not null)
        {
            task = Enum.TryParse<TrainingTask>(r.Task, ignoreCase: true, out var t) && !int.TryParse(r.Task, out _) ? t
                : throw GureumException.Invalid("task", $"'task' must be binary, multiclass or regression (or left out to infer it from the target); it was '{r.Task}'.");
        }
        return new TrainingOptions
        {
            Target = r.Target,
            Task = task,
            Metric = r.Metric,
            BudgetSeconds = r.BudgetSeconds ?? 60,
            Seed = r.Seed ?? 1,
            IgnoreColumns = r.IgnoreColumns ?? [],
            Trainer = r.Trainer,
            Hyperparameters = r.Hyperparameters,
            TestFraction = r.TestFraction ?? 0.2,
        };
    }
}

/// <summary>Training jobs: submit, follow (status, live leaderboard), fetch the model, explain predictions.</summary>
public static class TrainingEndpoints
{
    private const int MaxExplainRows = 1_000;

    public static IServiceCollection AddTraining(this IServiceCollection services) => services
        .AddSingleton<TrainingRuns>()
        .AddSingleton<IJobHandler, TrainingJobHandler>()
        .AddSingleton<TrainedModelCache>()
        .AddSingleton<IProjectCleanup, ModelBlobsCleanup>();

    /// <summary>A deleted project's model blobs are freed once its rows are gone.</summary>
    private sealed class ModelBlobsCleanup(GureumDbFactory dbFactory, IArtifactStore artifacts) : IProjectCleanup
    {
        public async Task<Func<Task>> BeforeDeleteAsync(GureumDb db, string projectId, CancellationToken ct)
        {
            var blobs = await db.TrainingJobs.Where(t => t.ProjectId == projectId && t.ModelSha256 != null).Select(t => t.ModelSha256!).ToListAsync(ct);
            return () => BlobReferences.ReleaseAsync(dbFactory, artifacts, blobs);
        }
    }

    public static IEndpointRouteBuilder MapTraining(this IEndpointRouteBuilder app)
    {
        var training = app.MapProjectGroup("/training-jobs").WithTags("Training");
        training.MapPost("/", Submit).RequireScope(Scopes.ProjectWrite).WithIdempotency()
            .WithSummary("Train on a dataset version: AutoML within a time budget, or one trainer (manual mode); runs as a job")
            .WithStandardErrors();
        training.MapGet("/", List).RequireScope(Scopes.ProjectRead).WithSummary("List training jobs, newest first").WithStandardErrors();
        training.MapGet("/trainers", ListTrainers).RequireScope(Scopes.ProjectRead)
            .WithSummary("The trainers per task and their hyperparameters (ranges, defaults) for manual mode").WithStandardErrors();
        training.MapGet("/{id}", Get).RequireScope(Scopes.ProjectRead)
            .WithSummary("Status, progress and, once done, the report: metrics, confusion matrix, ROC/PR or residuals, feature importance, signature")
            .WithStandardErrors();
        training.MapGet("/{id}/trials", Trials).RequireScope(Scopes.ProjectRead)
            .WithSummary("The leaderboard: every trial with trainer, hyperparameters, metrics and duration (live while the job runs)")
            .WithStandardErrors();
        training.MapGet("/{id}/model", DownloadModel).RequireScope(Scopes.ProjectRead)
            .WithSummary("The trained model file (zip: manifest.json + the ML.NET pipeline)").Produces(200, contentType: "application/zip")
            .WithStandardErrors(StatusCodes.Status409Conflict);
        training.MapPost("/{id}/explain", Explain).RequireScope(Scopes.Predict)
            .WithSummary("Predict raw rows with the trained model, with per-column contributions (tree and linear models)")
            .WithStandardErrors(StatusCodes.Status409Conflict);
        training.MapDelete("/{id}", Delete).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Delete a finished training job, its trials and its model").WithStandardErrors(StatusCodes.Status409Conflict);
        training.MapPost("/{id}/cancel", Cancel).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Cancel the training job (the trial in progress finishes first)").WithStandardErrors(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Accepted<TrainingJobResponse>> Submit(
        HttpContext http, ProjectScope scope, TrainingRequest request, GureumDb db, JobStore store, JobHost host, Usage.Metering metering, TimeProvider clock, CancellationToken ct)
    {
        // Core-seconds are known only at the end: a job is refused once a training quota is already used up.
        await metering.CheckQuotaAsync(scope.ProjectId, scope.Caller.KeyId, "training", "core-seconds", 0, http.TraceIdentifier, ct);
        if (string.IsNullOrEmpty(request.Dataset)) throw GureumException.Invalid("dataset", "'dataset' is required: a dataset id or name.");
        if (string.IsNullOrEmpty(request.Target)) throw GureumException.Invalid("target", "'target' is required: the column to predict.");
        var dataset = await DatasetsEndpoints.FindAsync(db, scope, request.Dataset, ct);
        var (training, job) = await CreateAsync(db, store, host, scope.ProjectId, scope.Caller.KeyId, dataset, request, null, clock, ct);
        return TypedResults.Accepted($"/v1/projects/{scope.ProjectId}/training-jobs/{job.Id}", Describe(training, job, scope.ProjectId, withReport: false));
    }

    /// <summary>
    /// Checks a training request against the dataset and queues its job; <paramref name="inTransaction"/> writes more in the
    /// same transaction (a retraining run records its challenger there, so a crash cannot leave a job it does not know of).
    /// </summary>
    internal static async Task<(TrainingJob Training, Job Job)> CreateAsync(GureumDb db, JobStore store, JobHost host, string projectId, string? keyId,
        Dataset dataset, TrainingRequest request, Action<GureumDb, Job>? inTransaction, TimeProvider clock, CancellationToken ct)
    {
        request.Requirements?.Validate("requirements");
        var requirements = request.Requirements is { IsEmpty: false } r ? r.ToJson() : null;
        var version = await FindVersionAsync(db, dataset, request.Version, "version", ct);
        var testVersion = request.TestVersion is null ? null : await FindVersionAsync(db, dataset, request.TestVersion, "testVersion", ct);
        var options = TrainingRequests.ToOptions(request);
        TrainingPlan plan;
        try
        {
            plan = TrainingPlan.Create(version.ReadSchema(), version.ReadProfile(), options);
        }
        catch (TrainingInputException e)
        {
            throw GureumException.Invalid(e.Field, e.Message);
        }
        if (testVersion is not null)
        {
            var testColumns = testVersion.ReadSchema().Columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            var missing = plan.Inputs.Select(i => i.Name).Append(plan.Target).Where(n => !testColumns.Contains(n)).ToList();
            if (missing.Count > 0)
            {
                throw GureumException.Invalid("testVersion", $"Test version {testVersion.Number} lacks column(s) the model needs: {string.Join(", ", missing)}.");
            }
        }
        var accepted = request with { Dataset = dataset.Id, Version = version.Number, Task = plan.Task.ToString().ToLowerInvariant(), Metric = plan.Metric };
        var requestJson = JsonSerializer.SerializeToElement(accepted, DatasetIngest.StoredJson);
        TrainingJob? training = null;
        var job = await store.CreateAsync(projectId, TrainingJobHandler.JobKind, requestJson, ct, (jobsDb, job) =>
        {
            training = new TrainingJob
            {
                Id = job.Id, ProjectId = projectId, DatasetId = dataset.Id, DatasetVersionId = version.Id, VersionNumber = version.Number,
                TestVersionId = testVersion?.Id, TestVersionNumber = testVersion?.Number, Target = plan.Target,
                Task = accepted.Task!, Metric = plan.Metric, BudgetSeconds = options.BudgetSeconds, Seed = options.Seed,
                Request = requestJson.GetRawText(), CreatedAt = clock.GetUtcNow(), KeyId = keyId,
            };
            jobsDb.TrainingJobs.Add(training);
            job.Requirements = requirements;
            inTransaction?.Invoke(jobsDb, job);
        });
        await host.DispatchAsync(job.Id, requirements);
        return (training!, job);
    }

    private static async Task<DatasetVersion> FindVersionAsync(GureumDb db, Dataset dataset, int? number, string field, CancellationToken ct)
    {
        var query = db.DatasetVersions.AsNoTracking().Where(v => v.DatasetId == dataset.Id && v.ProjectId == dataset.ProjectId);
        var version = number is { } n ? await query.FirstOrDefaultAsync(v => v.Number == n, ct) : await query.OrderByDescending(v => v.Number).FirstOrDefaultAsync(ct);
        return version ?? throw (number is null
            ? new GureumException(ProblemCode.Conflict, $"Dataset '{dataset.Name}' has no version yet; upload a file first.")
            : GureumException.Invalid(field, $"Dataset '{dataset.Name}' has no version {number}. List versions with GET .../datasets/{dataset.Name}/versions."));
    }

    private static async Task<Ok<Page<TrainingJobResponse>>> List(ProjectScope scope, GureumDb db, int? limit, string? before, CancellationToken ct)
    {
        var take = Paging.Limit(limit);
        var query = db.TrainingJobs.AsNoTracking().Where(t => t.ProjectId == scope.ProjectId);
        if (before is not null) query = query.Where(t => string.Compare(t.Id, before) < 0);
        var rows = await query.OrderByDescending(t => t.Id).Take(take + 1).ToListAsync(ct);
        var ids = rows.Select(r => r.Id).ToList();
        var jobs = await db.Jobs.AsNoTracking().Where(j => ids.Contains(j.Id)).ToDictionaryAsync(j => j.Id, ct);
        return TypedResults.Ok(Paging.From(rows.ConvertAll(r => Describe(r, jobs[r.Id], scope.ProjectId, withReport: false)), take, r => r.Id));
    }

    private static Ok<Dictionary<string, IReadOnlyList<TrainerInfo>>> ListTrainers() => TypedResults.Ok(
        Enum.GetValues<TrainingTask>().ToDictionary(t => t.ToString().ToLowerInvariant(), TrainingPlan.TrainersFor));

    private static async Task<Ok<TrainingJobResponse>> Get(ProjectScope scope, string id, GureumDb db, CancellationToken ct)
    {
        var (training, job) = await FindAsync(db, scope, id, ct);
        return TypedResults.Ok(Describe(training, job, scope.ProjectId, withReport: true));
    }

    private static async Task<Ok<LeaderboardResponse>> Trials(ProjectScope scope, string id, string? orderBy, GureumDb db, CancellationToken ct)
    {
        var (training, job) = await FindAsync(db, scope, id, ct);
        var trials = await db.TrainingTrials.AsNoTracking().Where(t => t.TrainingJobId == training.Id && t.ProjectId == scope.ProjectId)
            .OrderBy(t => t.Number).ToListAsync(ct);
        var higher = TrainingPlan.HigherIsBetter(training.Metric);
        IEnumerable<TrainingTrial> ordered = (orderBy ?? "score") switch
        {
            "number" => trials,
            "score" => trials.OrderBy(t => t.Score is null).ThenBy(t => (t.Score ?? 0) * (higher ? -1 : 1)).ThenBy(t => t.Number),
            _ => throw GureumException.Invalid("orderBy", "'orderBy' must be 'score' (best first, the default) or 'number' (in the order they ran)."),
        };
        return TypedResults.Ok(new LeaderboardResponse(training.Metric, higher, job.Status, [.. ordered.Select(t => new TrialResponse(
            t.Number, t.Trainer, t.Stage,
            t.ReadHyperparameters(), t.ReadMetrics(), t.Score, t.DurationSeconds, t.Status, t.Error, t.Attempt, t.FinishedAt))]));
    }

    private static async Task<IResult> DownloadModel(ProjectScope scope, string id, GureumDb db, IArtifactStore artifacts, CancellationToken ct)
    {
        var (training, job) = await FindAsync(db, scope, id, ct);
        var sha = RequireModel(training, job);
        return Results.Stream(artifacts.OpenRead(sha), "application/zip", $"model-{training.Id}.zip");
    }

    private static async Task<Ok<ExplainResponse>> Explain(
        ProjectScope scope, string id, ExplainRequest request, GureumDb db, TrainedModelCache models, CancellationToken ct)
    {
        var (training, job) = await FindAsync(db, scope, id, ct);
        var model = await models.GetAsync(RequireModel(training, job), ct);
        try
        {
            var rows = model.RowsFromJson(request.Records, MaxExplainRows);
            return TypedResults.Ok(new ExplainResponse(model.Trainer, training.Task, model.SupportsContributions, model.Predict(rows, explain: true)));
        }
        catch (ModelInputException e)
        {
            throw GureumException.Invalid(e.Field, e.Message);
        }
    }

    private static async Task<Accepted<TrainingJobResponse>> Cancel(
        ProjectScope scope, string id, GureumDb db, JobHost host, CancellationToken ct)
    {
        var (training, job) = await FindAsync(db, scope, id, ct);
        if (!await host.CancelAsync(scope.ProjectId, job.Id, ct))
        {
            throw new GureumException(ProblemCode.Conflict, $"Training job '{id}' already finished ({job.Status.ToString().ToLowerInvariant()}); there is nothing to cancel.");
        }
        var (_, updated) = await FindAsync(db, scope, id, ct);
        return TypedResults.Accepted($"/v1/projects/{scope.ProjectId}/training-jobs/{id}", Describe(training, updated, scope.ProjectId, withReport: false));
    }

    private static async Task<NoContent> Delete(
        ProjectScope scope, string id, GureumDb db, GureumDbFactory dbFactory, IArtifactStore artifacts, CancellationToken ct)
    {
        var (training, job) = await FindAsync(db, scope, id, ct);
        if (!job.IsTerminal)
        {
            throw new GureumException(ProblemCode.Conflict, $"Training job '{id}' is {job.Status.ToString().ToLowerInvariant()}; cancel it (POST .../cancel) and delete it once it has stopped.");
        }
        // Lineage: a registered version made from this job's model keeps the job (and its runs) alive.
        var registered = await db.Set<Registry.ModelVersion>().Where(v => v.TrainingJobId == training.Id)
            .Select(v => v.Model!.Name + " v" + v.Version).Take(5).ToListAsync(ct);
        if (registered.Count > 0)
        {
            throw new GureumException(ProblemCode.Conflict, $"Training job '{id}' produced registered model version(s) {string.Join(", ", registered)}; delete those versions first.");
        }
        // The job's tracking runs (parent and trials) are its record and go with it, with their artifacts.
        var runs = db.Set<Tracking.Run>().Where(r => r.TrainingJobId == training.Id && r.ProjectId == scope.ProjectId);
        var blobs = await db.Set<Tracking.RunArtifact>().Where(a => runs.Any(r => r.Id == a.RunId)).Select(a => a.Sha256).ToListAsync(ct);
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            await runs.ExecuteDeleteAsync(ct);
            await db.TrainingJobs.Where(t => t.Id == training.Id && t.ProjectId == scope.ProjectId).ExecuteDeleteAsync(ct);
            await db.Jobs.Where(j => j.Id == job.Id && j.ProjectId == scope.ProjectId).ExecuteDeleteAsync(ct);
            await tx.CommitAsync(ct);
        }
        if (training.ModelSha256 is { } sha)
        {
            blobs.Add(sha);
        }
        await BlobReferences.ReleaseAsync(dbFactory, artifacts, blobs);
        return TypedResults.NoContent();
    }

    private static string RequireModel(TrainingJob training, Job job) => training.ModelSha256 ?? throw new GureumException(ProblemCode.Conflict,
        job.Status switch
        {
            JobStatus.Queued or JobStatus.Running => $"Training job '{training.Id}' is still {job.Status.ToString().ToLowerInvariant()} ({job.Percent:F0}%); its model exists once it succeeds.",
            _ => $"Training job '{training.Id}' {job.Status.ToString().ToLowerInvariant()} without a model{(job.Error is null ? "" : $": {job.Error}")}.",
        });

    private static async Task<(TrainingJob Training, Job Job)> FindAsync(GureumDb db, ProjectScope scope, string id, CancellationToken ct)
    {
        var training = await db.TrainingJobs.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id && t.ProjectId == scope.ProjectId, ct)
            ?? throw new GureumException(ProblemCode.NotFound, $"Training job '{id}' was not found in this project. List them with GET .../training-jobs.");
        var job = await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == id, ct);
        return (training, job);
    }

    private static TrainingJobResponse Describe(TrainingJob t, Job job, string projectId, bool withReport) => new(
        t.Id, t.ProjectId, job.Status, job.Percent, job.Message, job.Error,
        new DatasetReference(t.DatasetId, t.VersionNumber, t.TestVersionNumber), t.Target, t.Task, t.Metric, t.BudgetSeconds, t.Seed,
        t.BestTrainer, t.TestScore,
        t.ModelSha256 is null ? null : new ModelReference(t.ModelSha256, t.ModelSizeBytes ?? 0, $"/v1/projects/{projectId}/training-jobs/{t.Id}/model"),
        withReport ? t.ReadReport() : null,
        job.CreatedAt, job.StartedAt, job.FinishedAt);
}
