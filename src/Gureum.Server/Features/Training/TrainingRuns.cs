using System.Globalization;
using System.Text.Json;
using Gureum.ML.Training;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Tracking;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Training;

/// <summary>
/// Records a training job in experiment tracking: one parent run for the job (its request as params, test metrics,
/// the model and report as artifacts) and one child run per trial (hyperparameters as params, validation metrics).
/// The experiment is the request's <c>experiment</c>, else the dataset's name. Safe to call again after a restart:
/// the parent run is found by its training job, trials by their number.
/// </summary>
internal sealed class TrainingRuns(GureumDbFactory dbFactory, IArtifactStore artifacts, TimeProvider clock)
{
    public async Task<string> StartAsync(TrainingJob training, TrainingPlan plan, string? experimentName, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var store = new TrackingStore(db, artifacts, clock);
        var existing = await db.Set<Run>().FirstOrDefaultAsync(r => r.TrainingJobId == training.Id && r.ParentRunId == null, ct);
        if (existing is not null)
        {
            await store.UpdateRunAsync(existing, RunStatus.Running, null, null, ct);
            existing.EndTime = null;
            await db.SaveChangesAsync(ct);
            return existing.Id;
        }
        var dataset = await db.Datasets.AsNoTracking().Where(d => d.Id == training.DatasetId).Select(d => d.Name).FirstAsync(ct);
        var experiment = await store.GetOrCreateExperimentAsync(training.ProjectId, experimentName ?? dataset, ct);
        var run = await store.CreateRunAsync(training.ProjectId, experiment, $"automl-{training.Target}-{training.Id[^6..]}", "gureum", null,
            [new KeyValue("mlflow.source.type", "JOB"), new KeyValue("mlflow.source.name", "gureum training"), new KeyValue("gureum.training_job", training.Id)],
            "training", ct, trainingJobId: training.Id, datasetVersionId: training.DatasetVersionId);
        await store.LogBatchAsync(run, [], [
            new KeyValue("dataset", dataset), new KeyValue("dataset_version", training.VersionNumber.ToString(CultureInfo.InvariantCulture)),
            new KeyValue("target", training.Target), new KeyValue("task", plan.Task.ToString().ToLowerInvariant()), new KeyValue("metric", plan.Metric),
            new KeyValue("budget_seconds", training.BudgetSeconds.ToString(CultureInfo.InvariantCulture)),
            new KeyValue("seed", training.Seed.ToString(CultureInfo.InvariantCulture)),
        ], [], ct);
        return run.Id;
    }

    public async Task RecordTrialAsync(TrainingJob training, string parentRunId, TrialResult trial, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var store = new TrackingStore(db, artifacts, clock);
        var name = $"trial-{trial.Number} {trial.Trainer}";
        if (await db.Set<Run>().AnyAsync(r => r.ParentRunId == parentRunId && r.Name == name, ct))
        {
            return;
        }
        var parent = await store.FindRunAsync(training.ProjectId, parentRunId, ct);
        var experiment = await db.Set<Experiment>().FirstAsync(e => e.Id == parent.ExperimentId, ct);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var run = await store.CreateRunAsync(training.ProjectId, experiment, name, "gureum", now - (long)(trial.DurationSeconds * 1000),
            [new KeyValue("gureum.trial", trial.Number.ToString(CultureInfo.InvariantCulture)), new KeyValue("gureum.stage", trial.Stage)],
            "training", ct, trainingJobId: training.Id, parentRunId: parentRunId, datasetVersionId: training.DatasetVersionId);
        var parameters = trial.Hyperparameters.Select(h => new KeyValue(h.Key, h.Value.ToString("R", CultureInfo.InvariantCulture)))
            .Append(new KeyValue("trainer", trial.Trainer)).Take(TrackingStore.MaxBatchParams).ToList();
        var metrics = trial.Metrics.Where(m => double.IsFinite(m.Value)).Select(m => new MetricPoint("cv_" + m.Key, m.Value, now, 0)).ToList();
        await store.LogBatchAsync(run, metrics, parameters, trial.Error is null ? [] : [new KeyValue("gureum.error", trial.Error.Length > 2000 ? trial.Error[..2000] : trial.Error)], ct);
        await store.UpdateRunAsync(run, trial.Status == "succeeded" ? RunStatus.Finished : RunStatus.Failed, now, null, ct);
    }

    public async Task FinishAsync(TrainingJob training, string parentRunId, TrainingReport report, ArtifactInfo model, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var store = new TrackingStore(db, artifacts, clock);
        var run = await store.FindRunAsync(training.ProjectId, parentRunId, ct);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var metrics = report.TestMetrics.Where(m => double.IsFinite(m.Value)).Select(m => new MetricPoint("test_" + m.Key, m.Value, now, 0)).ToList();
        if (double.IsFinite(report.ValidationScore))
        {
            metrics.Add(new MetricPoint("validation_" + report.Metric, report.ValidationScore, now, 0));
        }
        await store.LogBatchAsync(run, metrics, [new KeyValue("best_trainer", report.Ensemble is null ? report.Best.Trainer : "ensemble")], [], ct);
        await store.AttachArtifactAsync(run, "model/model.zip", model.Sha256, model.Length, ct);
        using var reportJson = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(report, DatasetIngest.StoredJson));
        await store.PutArtifactAsync(run, "report.json", reportJson, ct);
        await store.UpdateRunAsync(run, RunStatus.Finished, now, null, ct);
    }

    /// <summary>A failed or cancelled job ends its run so (FAILED / KILLED); a restart sets it running again.</summary>
    public async Task EndAsync(TrainingJob training, string parentRunId, string status)
    {
        await using var db = dbFactory.Create();
        var store = new TrackingStore(db, artifacts, clock);
        var run = await store.FindRunAsync(training.ProjectId, parentRunId, CancellationToken.None);
        await store.UpdateRunAsync(run, status, clock.GetUtcNow().ToUnixTimeMilliseconds(), null, CancellationToken.None);
    }
}
