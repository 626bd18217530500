using System.Globalization;
using System.Text.Json;
using Gureum.ML.Data;
using Gureum.ML.Training;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Tracking;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Training;

/// <summary>
/// <c>training</c>: reads the dataset version's rows, runs the AutoML search and stores the best model. Each finished
/// trial is a row at once (the live leaderboard) and an event on the job's stream. After a restart the trials already
/// recorded count: the search resumes with what is left of the budget instead of starting over.
/// </summary>
internal sealed class TrainingJobHandler(GureumDbFactory dbFactory, IArtifactStore artifacts, TimeProvider clock, TrainingRuns runs, Usage.Metering metering) : IJobHandler
{
    public const string JobKind = "training";
    private const long MaxModelBytes = 2L * 1024 * 1024 * 1024;

    public string Kind => JobKind;
    public bool UserSubmittable => false;

    public string? Validate(JsonElement? input) => null;

    public async Task<JsonElement?> RunAsync(JobContext context, CancellationToken ct)
    {
        TrainingJob training;
        DatasetVersion version;
        DatasetVersion? testVersion;
        List<TrainingTrial> prior;
        await using (var db = dbFactory.Create())
        {
            training = await db.TrainingJobs.AsNoTracking().FirstOrDefaultAsync(t => t.Id == context.JobId, ct)
                ?? throw new JobFailedException("The training request behind this job is gone.");
            version = await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == training.DatasetVersionId, ct)
                ?? throw new JobFailedException($"Version {training.VersionNumber} of the dataset was deleted before training could read it.");
            testVersion = training.TestVersionId is null ? null
                : await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == training.TestVersionId, ct)
                    ?? throw new JobFailedException($"Test version {training.TestVersionNumber} of the dataset was deleted before training could read it.");
            prior = await db.TrainingTrials.AsNoTracking().Where(t => t.TrainingJobId == training.Id).OrderBy(t => t.Number).ToListAsync(ct);
        }
        var request = JsonSerializer.Deserialize<TrainingRequest>(training.Request, DatasetIngest.StoredJson)!;
        var options = TrainingRequests.ToOptions(request);
        var schema = version.ReadSchema();
        var profile = version.ReadProfile();
        TrainingPlan plan;
        try
        {
            plan = TrainingPlan.Create(schema, profile, options);
        }
        catch (TrainingInputException e)
        {
            throw new JobFailedException(e.Message);
        }

        var parentRun = await runs.StartAsync(training, plan, request.Experiment, ct);
        try
        {
            return await TrainAsync(context, training, version, testVersion, prior, plan, options, parentRun, ct);
        }
        catch (Exception e) when (!context.Stopping.IsCancellationRequested)
        {
            await runs.EndAsync(training, parentRun, e is OperationCanceledException ? RunStatus.Killed : RunStatus.Failed);
            throw;
        }
    }

    private async Task<JsonElement?> TrainAsync(JobContext context, TrainingJob training, DatasetVersion version, DatasetVersion? testVersion,
        List<TrainingTrial> prior, TrainingPlan plan, TrainingOptions options, string parentRun, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var schema = version.ReadSchema();
        await context.ReportProgressAsync(0, $"reading {version.RowCount:N0} rows of version {version.Number}");
        await using var trainStream = artifacts.OpenRead(version.Sha256);
        await using var testStream = testVersion is null ? null : artifacts.OpenRead(testVersion.Sha256);
        var data = await TrainingData.LoadAsync(plan,
            DatasetReader.ReadRowsAsync(trainStream, version.ReadFormat(), schema, ct),
            testStream is null ? null : DatasetReader.ReadRowsAsync(testStream, testVersion!.ReadFormat(), schema, ct), ct);
        if (prior.Count > 0)
        {
            await context.LogAsync($"resuming: {prior.Count} trial(s) from earlier attempts count toward the budget");
        }

        TrainingOutcome outcome;
        try
        {
            outcome = await AutoML.RunAsync(plan, options, data, [.. prior.Select(ToResult)], prior.Sum(t => t.DurationSeconds), new TrainingCallbacks
            {
                OnTrial = trial => RecordTrialAsync(context, training, trial, plan.Metric, parentRun),
                OnProgress = (percent, message) => context.ReportProgressAsync(percent, message),
            }, ct);
        }
        catch (Exception e) when (e is TrainingInputException or TrainingFailedException)
        {
            throw new JobFailedException(e.Message);
        }

        var bundle = new MemoryStream();
        outcome.Model.Save(bundle);
        bundle.Position = 0;
        var stored = await artifacts.PutAsync(bundle, MaxModelBytes, ct);
        var report = outcome.Report;
        var testScore = report.TestMetrics[report.Metric];
        await using (var db = dbFactory.Create())
        {
            await db.TrainingJobs.Where(t => t.Id == training.Id).ExecuteUpdateAsync(s => s
                .SetProperty(t => t.Report, JsonSerializer.Serialize(report, DatasetIngest.StoredJson))
                .SetProperty(t => t.ModelSha256, stored.Sha256)
                .SetProperty(t => t.ModelSizeBytes, stored.Length)
                .SetProperty(t => t.BestTrainer, report.Ensemble is null ? report.Best.Trainer : "ensemble")
                .SetProperty(t => t.TestScore, testScore), ct);
        }
        await runs.FinishAsync(training, parentRun, report, stored, ct);
        // Training holds all of this node's cores; earlier attempts' trials count too. Counted once per job (its id).
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds + prior.Sum(t => t.DurationSeconds);
        await metering.RecordAsync(training.ProjectId, training.KeyId ?? Usage.StorageMeter.SystemKey, "training", "core-seconds",
            Math.Round(seconds * Environment.ProcessorCount, 3), training.Id);
        return JsonSerializer.SerializeToElement(new
        {
            trainer = outcome.Model.Trainer,
            metric = report.Metric,
            testScore,
            trials = report.Trials,
            stopReason = report.StopReason,
            modelSha256 = stored.Sha256,
        }, DatasetIngest.StoredJson);
    }

    private async Task RecordTrialAsync(JobContext context, TrainingJob training, TrialResult trial, string metric, string parentRun)
    {
        await using (var db = dbFactory.Create())
        {
            db.TrainingTrials.Add(new TrainingTrial
            {
                TrainingJobId = training.Id,
                ProjectId = training.ProjectId,
                Number = trial.Number,
                Attempt = context.Attempt,
                Trainer = trial.Trainer,
                Stage = trial.Stage,
                Hyperparameters = JsonSerializer.Serialize(trial.Hyperparameters),
                Metrics = JsonSerializer.Serialize(trial.Metrics),
                Score = trial.Score,
                DurationSeconds = trial.DurationSeconds,
                Status = trial.Status,
                Error = trial.Error is { Length: > 2000 } e ? e[..2000] : trial.Error,
                FinishedAt = clock.GetUtcNow(),
            });
            await db.SaveChangesAsync();
        }
        await runs.RecordTrialAsync(training, parentRun, trial, CancellationToken.None);
        var score = trial.Score is { } s ? s.ToString("G5", CultureInfo.InvariantCulture) : trial.Status;
        await context.LogAsync($"trial {trial.Number}: {trial.Trainer} ({trial.Stage}) {metric}={score} in {trial.DurationSeconds:F1}s");
    }

    private static TrialResult ToResult(TrainingTrial t) =>
        new(t.Number, t.Trainer, t.ReadHyperparameters(), t.ReadMetrics(), t.Score, t.DurationSeconds, t.Status, t.Error, t.Stage);
}
