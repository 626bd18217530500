using System.Text.Json;
using Gureum.ML.Data;
using Gureum.ML.Training;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Registry;
using Gureum.Server.Features.Serving;
using Gureum.Server.Features.Training;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Gureum.Server.Features.Automation;

/// <summary>
/// <c>retraining</c>: one run of a policy, as a job of the compute fabric. train a challenger with the champion's
/// configuration on the policy's data → score champion and challenger on the challenger's held-out split → replay
/// recorded requests (smoke test) → if better by the margin, register it and wait for approval (or go on) → canary →
/// move the alias (or the endpoint's version). The run row is the state: each step is written before the next starts,
/// so after a crash the job resumes where it stopped and never creates a second challenger or version.
/// </summary>
internal sealed class RetrainingPipeline(
    GureumDbFactory dbFactory, IServiceScopeFactory scopes, RetrainingRuns runs, JobStore jobStore, JobHost host, IArtifactStore artifacts,
    TrainedModelCache models, DatasetIngest ingest, IOptions<GureumOptions> options, WebhookSender webhooks, EndpointHost endpoints, TimeProvider clock) : IJobHandler
{
    public const string JobKind = "retraining";
    private static readonly TimeSpan PollPeriod = TimeSpan.FromMilliseconds(500);

    public string Kind => JobKind;
    public bool UserSubmittable => false;
    public string? Validate(JsonElement? input) => null;

    private sealed record CanaryCheckpoint(string OriginalSpec, DateTimeOffset StartedAt, DateTimeOffset Until);

    public async Task<JsonElement?> RunAsync(JobContext context, CancellationToken ct)
    {
        var runId = context.Input is { } input && input.TryGetProperty("runId", out var id) ? id.GetString()! : context.JobId;
        RetrainingRun run;
        RetrainingPolicy? policy;
        await using (var db = dbFactory.Create())
        {
            run = await db.Set<RetrainingRun>().AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct)
                ?? throw new JobFailedException($"Retraining run '{runId}' is gone.");
            policy = await db.Set<RetrainingPolicy>().AsNoTracking().FirstOrDefaultAsync(p => p.Id == run.PolicyId, ct);
        }
        try
        {
            if (policy is null) throw new PipelineStop("The retraining policy was deleted while the run was in progress.");
            var spec = RetrainingPolicySpec.FromJson(policy.Spec);
            if (run.Status is RunStatus.Queued or RunStatus.Training or RunStatus.Evaluating)
            {
                await TrainAndJudgeAsync(context, run, spec, ct);
            }
            if (run.Status is RunStatus.Approved or RunStatus.Canary)
            {
                await PromoteAsync(context, run, spec, ct);
            }
        }
        catch (PipelineStop stop)
        {
            await runs.RecordAsync(run, RunStatus.Failed, "failed", "failed", stop.Message);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is not OperationCanceledException && context.Attempt >= host.MaxAttempts)
        {
            await runs.RecordAsync(run, RunStatus.Failed, "failed", "failed", $"{e.GetType().Name}: {e.Message}");
            throw;
        }
        if (RunStatus.Active.Contains(run.Status) is false || run.Status == RunStatus.PendingApproval)
        {
            await NotifyAsync(run, policy, ct);
        }
        return JsonSerializer.SerializeToElement(new { runId = run.Id, status = run.Status, reason = run.Reason }, JsonDefaults.Web);
    }

    /// <summary>A reason the run cannot go on that retrying will not fix: the run fails with it.</summary>
    private sealed class PipelineStop(string message) : Exception(message);

    private async Task TrainAndJudgeAsync(JobContext context, RetrainingRun run, RetrainingPolicySpec spec, CancellationToken ct)
    {
        ModelVersion champion;
        TrainingJob championTraining;
        await using (var db = dbFactory.Create())
        {
            champion = await db.Set<ModelVersion>().AsNoTracking()
                .FirstOrDefaultAsync(v => v.ProjectId == run.ProjectId && v.Model!.Name == run.Model && v.Version == run.ChampionVersion, ct)
                ?? throw new PipelineStop($"The champion {run.Model} v{run.ChampionVersion} was deleted.");
            championTraining = await db.TrainingJobs.AsNoTracking().FirstOrDefaultAsync(t => t.Id == champion.TrainingJobId, ct)
                ?? throw new PipelineStop($"{run.Model} v{run.ChampionVersion} was not trained by a Gureum training job that still exists; there is no configuration to reuse.");
        }

        if (run.ChallengerTrainingJobId is null)
        {
            await StartChallengerAsync(run, spec, championTraining, ct);
        }
        var challengerJob = await WaitForTrainingAsync(context, run.ChallengerTrainingJobId!, ct);
        TrainingJob challengerTraining;
        await using (var db = dbFactory.Create())
        {
            challengerTraining = await db.TrainingJobs.AsNoTracking().FirstAsync(t => t.Id == run.ChallengerTrainingJobId, ct);
        }
        if (challengerJob.Status != JobStatus.Succeeded || challengerTraining.ModelSha256 is null)
        {
            throw new PipelineStop($"Training the challenger {challengerJob.Status.ToString().ToLowerInvariant()}{(challengerJob.Error is null ? "" : ": " + challengerJob.Error)}.");
        }
        if (run.Status != RunStatus.Evaluating)
        {
            await runs.RecordAsync(run, RunStatus.Evaluating, "train", "succeeded",
                $"challenger trained: {challengerTraining.BestTrainer} with test {challengerTraining.Metric} {challengerTraining.TestScore:0.####}",
                new { trainingJob = challengerTraining.Id, challengerTraining.BestTrainer, challengerTraining.Metric, challengerTraining.TestScore });
        }

        // Champion and challenger on the same rows: the challenger's held-out split of the data it was given.
        await context.ReportProgressAsync(70, "scoring champion and challenger on the same holdout");
        var comparison = await CompareAsync(championTraining, challengerTraining, champion, ct);
        var metric = spec.PromotionOrDefault.Metric ?? challengerTraining.Metric;
        if (!comparison.Metrics[0].ContainsKey(metric) || !comparison.Metrics[1].ContainsKey(metric))
        {
            throw new PipelineStop($"Metric '{metric}' is not computed for a {challengerTraining.Task} model; use one of {string.Join(", ", comparison.Metrics[1].Keys)}.");
        }
        double championScore = comparison.Metrics[0][metric], challengerScore = comparison.Metrics[1][metric];
        var margin = spec.PromotionOrDefault.Margin;
        var better = Holdout.Beats(challengerScore, championScore, metric, margin);
        var evaluation = new
        {
            metric, higherIsBetter = TrainingPlan.HigherIsBetter(metric), margin, holdoutRows = comparison.Rows,
            champion = new { version = champion.Version, score = championScore, metrics = comparison.Metrics[0] },
            challenger = new { trainingJob = challengerTraining.Id, score = challengerScore, metrics = comparison.Metrics[1] },
        };
        var verdict = $"challenger {metric} {challengerScore:0.####} vs champion {championScore:0.####} on {comparison.Rows} held-out rows (margin {margin:0.####})";
        await runs.RecordAsync(run, null, "evaluate", better ? "better" : "not-better", verdict, evaluation);

        await context.ReportProgressAsync(80, "smoke test: replaying recorded requests");
        var smoke = await SmokeTestAsync(run, spec, challengerTraining.ModelSha256, ct);
        await runs.RecordAsync(run, null, "smoke-test", smoke.Outcome, smoke.Message, smoke);
        var evidence = JsonSerializer.Serialize(new { evaluation, smokeTest = smoke, trigger = JsonDocument.Parse(run.TriggerDetail).RootElement }, JsonDefaults.Web);
        if (smoke.Outcome == "failed")
        {
            await runs.RecordAsync(run, RunStatus.Failed, "decide", "stopped", "the challenger failed the smoke test: " + smoke.Message, null, r => r.Evidence = evidence);
            return;
        }
        if (!better)
        {
            await runs.RecordAsync(run, RunStatus.NotBetter, "decide", "stopped", $"not promoted: {verdict}", null, r => r.Evidence = evidence);
            return;
        }

        var version = await RegisterAsync(run, challengerTraining, ct);
        await runs.RecordAsync(run, null, "register", "succeeded", $"registered {run.Model} v{version}", new { model = run.Model, version },
            r => { r.ChallengerVersion = version; r.Evidence = evidence; });
        if (spec.RequireApproval)
        {
            await runs.RecordAsync(run, RunStatus.PendingApproval, "approval", "waiting", $"{run.Model} v{version} waits for approval: {verdict}");
        }
        else
        {
            await runs.RecordAsync(run, RunStatus.Approved, "approval", "not-required", "the policy promotes without approval");
        }
    }

    private async Task StartChallengerAsync(RetrainingRun run, RetrainingPolicySpec spec, TrainingJob champion, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var reference = spec.Dataset ?? champion.DatasetId;
        var dataset = await db.Datasets.AsNoTracking().FirstOrDefaultAsync(d => d.ProjectId == run.ProjectId && (d.Id == reference || d.Name == reference), ct)
            ?? throw new PipelineStop($"Dataset '{reference}' no longer exists.");
        if (spec.Data == "appends")
        {
            try
            {
                var sealedVersion = await ingest.SealAppendsAsync(dataset, options.Value.DatasetLimits, ct);
                await runs.RecordAsync(run, null, "data", "sealed", $"appended rows sealed into version {sealedVersion.Number} of {dataset.Name}", new { version = sealedVersion.Number });
            }
            catch (GureumException e) when (e.Code == ProblemCode.Conflict)
            {
                await runs.RecordAsync(run, null, "data", "unchanged", "no rows were appended since the latest version; training on it");
            }
        }
        var request = JsonSerializer.Deserialize<TrainingRequest>(champion.Request, DatasetIngest.StoredJson)!;
        var o = spec.Training ?? new TrainingOverrides();
        request = request with
        {
            Dataset = dataset.Id, Version = null, TestVersion = null,
            BudgetSeconds = o.BudgetSeconds ?? request.BudgetSeconds, Seed = o.Seed ?? request.Seed, Metric = o.Metric ?? request.Metric,
            IgnoreColumns = o.IgnoreColumns ?? request.IgnoreColumns, Trainer = o.Trainer ?? request.Trainer,
            Hyperparameters = o.Hyperparameters ?? request.Hyperparameters, TestFraction = o.TestFraction ?? request.TestFraction,
        };
        try
        {
            await TrainingEndpoints.CreateAsync(db, jobStore, host, run.ProjectId, null, dataset, request, (jobsDb, job) =>
            {
                var row = jobsDb.Set<RetrainingRun>().Find(run.Id)!;
                row.ChallengerTrainingJobId = run.ChallengerTrainingJobId = job.Id;
                row.Status = run.Status = RunStatus.Training;
                row.UpdatedAt = clock.GetUtcNow();
                jobsDb.Add(runs.Event(run, "train", "started", $"training a challenger on {dataset.Name} (latest version) with the champion's configuration",
                    new { trainingJob = job.Id, request }));
            }, clock, ct);
        }
        catch (GureumException e)
        {
            throw new PipelineStop("The challenger's training request was refused: " + e.Message);
        }
    }

    private async Task<Job> WaitForTrainingAsync(JobContext context, string jobId, CancellationToken ct)
    {
        while (true)
        {
            Job job;
            await using (var db = dbFactory.Create())
            {
                job = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId, ct) ?? throw new PipelineStop("The challenger's training job was deleted.");
            }
            if (job.IsTerminal) return job;
            await context.ReportProgressAsync(job.Percent * 0.6, $"training the challenger: {job.Percent:0}% ({job.Message})");
            await Task.Delay(PollPeriod, clock, ct);
        }
    }

    private async Task<HoldoutComparison> CompareAsync(TrainingJob championTraining, TrainingJob challengerTraining, ModelVersion champion, CancellationToken ct)
    {
        DatasetVersion version;
        DatasetVersion? testVersion;
        await using (var db = dbFactory.Create())
        {
            version = await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == challengerTraining.DatasetVersionId, ct)
                ?? throw new PipelineStop("The dataset version the challenger was trained on was deleted.");
            testVersion = challengerTraining.TestVersionId is null ? null
                : await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == challengerTraining.TestVersionId, ct);
        }
        var request = JsonSerializer.Deserialize<TrainingRequest>(challengerTraining.Request, DatasetIngest.StoredJson)!;
        var trainingOptions = TrainingRequests.ToOptions(request);
        var schema = version.ReadSchema();
        var plan = TrainingPlan.Create(schema, version.ReadProfile(), trainingOptions);
        var championModel = await models.GetAsync(champion.Sha256, ct);
        var challengerModel = await models.GetAsync(challengerTraining.ModelSha256!, ct);
        if (championModel.Task != challengerModel.Task)
        {
            throw new PipelineStop($"The champion solves {championModel.Task} and the challenger {challengerModel.Task}; they cannot be compared.");
        }
        await using var rows = artifacts.OpenRead(version.Sha256);
        await using var testRows = testVersion is null ? null : artifacts.OpenRead(testVersion.Sha256);
        try
        {
            return await Holdout.CompareAsync(plan, trainingOptions, DatasetReader.ReadRowsAsync(rows, version.ReadFormat(), schema, ct),
                testRows is null ? null : DatasetReader.ReadRowsAsync(testRows, testVersion!.ReadFormat(), schema, ct), [championModel, challengerModel], ct);
        }
        catch (TrainingInputException e)
        {
            throw new PipelineStop("Champion and challenger could not be scored on the same rows: " + e.Message);
        }
    }

    internal sealed record SmokeResult(string Outcome, string Message, int Requests, int Failed, string? FirstError);

    /// <summary>The latest successful requests of the endpoint, replayed against the challenger: each must answer with finite numbers.</summary>
    private async Task<SmokeResult> SmokeTestAsync(RetrainingRun run, RetrainingPolicySpec spec, string challengerSha, CancellationToken ct)
    {
        var count = spec.SmokeTestOrDefault.Samples;
        if (count == 0) return new SmokeResult("skipped", "the policy runs no smoke test", 0, 0, null);
        List<string> inputs;
        await using (var db = dbFactory.Create())
        {
            inputs = await db.Set<PredictionSample>().AsNoTracking()
                .Where(s => s.EndpointId == run.EndpointId && s.ProjectId == run.ProjectId && !s.Shadow && s.Status == 200)
                .OrderByDescending(s => s.Id).Take(count).Select(s => s.Input).ToListAsync(ct);
        }
        if (inputs.Count == 0) return new SmokeResult("skipped", "no recorded requests of the endpoint to replay yet", 0, 0, null);
        var model = await models.GetAsync(challengerSha, ct);
        var failed = 0;
        string? firstError = null;
        foreach (var input in inputs)
        {
            try
            {
                using var document = JsonDocument.Parse(input);
                var rows = model.RowsFromJson(document.RootElement.GetProperty("records"), 100_000);
                var answers = model.Predict(rows);
                if (answers.Count != rows.Count || answers.Any(a => a.Probability is { } p && !double.IsFinite(p) || a.Score is { } s && !double.IsFinite(s)))
                {
                    throw new InvalidDataException("an answer is missing or not a finite number");
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or ModelInputException or InvalidDataException)
            {
                failed++;
                firstError ??= e.Message;
            }
        }
        return failed == 0
            ? new SmokeResult("passed", $"all {inputs.Count} recorded requests answered", inputs.Count, 0, null)
            : new SmokeResult("failed", $"{failed} of {inputs.Count} recorded requests failed; the first: {firstError}", inputs.Count, failed, firstError);
    }

    /// <summary>The challenger as the next version of the champion's model (once: a version made from the same training job is reused).</summary>
    private async Task<int> RegisterAsync(RetrainingRun run, TrainingJob challengerTraining, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var registry = scope.ServiceProvider.GetRequiredService<RegistryStore>();
        var db = scope.ServiceProvider.GetRequiredService<GureumDb>();
        var model = await registry.FindModelAsync(run.ProjectId, run.Model, ct);
        var existing = await db.Set<ModelVersion>().AsNoTracking().Where(v => v.ModelId == model.Id && v.TrainingJobId == challengerTraining.Id)
            .Select(v => (int?)v.Version).FirstOrDefaultAsync(ct);
        if (existing is { } number) return number;
        var source = await scope.ServiceProvider.GetRequiredService<VersionSources>().FromTrainingJobAsync(run.ProjectId, challengerTraining.Id, ct);
        var version = await Mlflow.MlflowRegistryApi.CreateFromStoreAsync(scope.ServiceProvider, registry, model, source with
        {
            Version = source.Version with { Description = $"Retrained by run {run.Id} ({run.Trigger} trigger)", Tags = new Dictionary<string, string> { ["gureum.retraining-run"] = run.Id } },
        }, "retraining:" + run.Id, ct);
        return version.Version;
    }

    private async Task PromoteAsync(JobContext context, RetrainingRun run, RetrainingPolicySpec spec, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GureumDb>();
        var endpoint = await db.Set<InferenceEndpoint>().FirstOrDefaultAsync(e => e.Id == run.EndpointId, ct)
            ?? throw new PipelineStop("The endpoint was deleted; there is nothing to promote on.");
        var challenger = run.ChallengerVersion ?? throw new PipelineStop("The run has no registered challenger.");
        var checkpoint = context.Checkpoint is { } saved ? JsonSerializer.Deserialize<CanaryCheckpoint>(saved, JsonDefaults.Web) : null;
        var original = EndpointSpec.FromJson(checkpoint?.OriginalSpec ?? endpoint.Spec);

        if (spec.Canary is { } canary && run.Status == RunStatus.Approved)
        {
            var live = original.Deployments.Where(d => !d.Shadow).Sum(d => d.Weight ?? 1);
            var canarySpec = original with
            {
                Deployments = [.. original.Deployments, new DeploymentSpec(run.Model, Version: challenger, Weight: live * canary.Share / (1 - canary.Share))],
            };
            var now = clock.GetUtcNow();
            checkpoint = new CanaryCheckpoint(endpoint.Spec, now, now + TimeSpan.FromMinutes(canary.Minutes));
            await context.ReportProgressAsync(90, "canary", JsonSerializer.Serialize(checkpoint, JsonDefaults.Web));
            await ServingEndpoints.ApplyAsync(db, endpoints, endpoint, canarySpec, clock, ct);
            await runs.RecordAsync(run, RunStatus.Canary, "canary", "started",
                $"{run.Model} v{challenger} takes {canary.Share:P0} of traffic for {canary.Minutes:0.#} minute(s)", new { share = canary.Share, until = checkpoint.Until });
        }
        if (run.Status == RunStatus.Canary && checkpoint is not null)
        {
            for (var left = checkpoint.Until - clock.GetUtcNow(); left > TimeSpan.Zero; left = checkpoint.Until - clock.GetUtcNow())
            {
                await context.ReportProgressAsync(90, $"canary: {left.TotalMinutes:0.#} minute(s) left");
                await Task.Delay(left < TimeSpan.FromSeconds(5) ? left : TimeSpan.FromSeconds(5), clock, ct);
            }
            var usage = await db.Set<EndpointUsage>().AsNoTracking()
                .Where(u => u.EndpointId == endpoint.Id && u.Model == run.Model && u.Version == challenger && !u.Shadow && u.From >= checkpoint.StartedAt.AddSeconds(-10))
                .Select(u => new { u.Requests, u.Errors }).ToListAsync(ct);
            long requests = usage.Sum(u => u.Requests), errors = usage.Sum(u => u.Errors);
            var maxErrorRate = spec.Canary?.MaxErrorRate ?? 1;
            if (requests > 0 && (double)errors / requests > maxErrorRate)
            {
                await ServingEndpoints.ApplyAsync(db, endpoints, endpoint, original, clock, ct);
                await runs.RecordAsync(run, RunStatus.RolledBack, "canary", "rolled-back",
                    $"the canary failed {errors} of {requests} requests (more than {maxErrorRate:P1}); traffic is back on the champion", new { requests, errors });
                return;
            }
            await runs.RecordAsync(run, null, "canary", "passed", $"the canary answered {requests} request(s), {errors} failed", new { requests, errors });
        }

        // Full promotion: the alias the endpoint follows moves (every endpoint on it follows), or the endpoint's version changes.
        var primary = original.Deployments.Where(d => !d.Shadow && d.Model == run.Model).OrderByDescending(d => d.Weight ?? 1).FirstOrDefault()
            ?? throw new PipelineStop($"The endpoint no longer serves {run.Model}; nothing was promoted.");
        var registry = scope.ServiceProvider.GetRequiredService<RegistryStore>();
        var model = await registry.FindModelAsync(run.ProjectId, run.Model, ct);
        if (primary.Alias is { } alias)
        {
            var version = await registry.FindVersionAsync(model, challenger.ToString(System.Globalization.CultureInfo.InvariantCulture), ct);
            await registry.SetAliasAsync(model, alias, version, "retraining:" + run.Id, ct);
            if (endpoint.Spec != original.ToJson())
            {
                await ServingEndpoints.ApplyAsync(db, endpoints, endpoint, original, clock, ct);
            }
            await runs.RecordAsync(run, RunStatus.Promoted, "promote", "succeeded", $"alias '{alias}' of {run.Model} moved to v{challenger}; the endpoint follows it",
                new { alias, from = run.ChampionVersion, to = challenger });
        }
        else
        {
            var promoted = original with
            {
                Deployments = [.. original.Deployments.Select(d => d == primary ? d with { Version = challenger } : d)],
            };
            await ServingEndpoints.ApplyAsync(db, endpoints, endpoint, promoted, clock, ct);
            await runs.RecordAsync(run, RunStatus.Promoted, "promote", "succeeded", $"endpoint '{endpoint.Name}' now serves {run.Model} v{challenger}",
                new { from = run.ChampionVersion, to = challenger });
        }
    }

    private async Task NotifyAsync(RetrainingRun run, RetrainingPolicy? policy, CancellationToken ct)
    {
        if (policy is null || RetrainingPolicySpec.FromJson(policy.Spec).WebhookUrl is not { } url) return;
        var error = await webhooks.SendAsync(url, "retraining." + run.Status, new
        {
            runId = run.Id, endpointId = run.EndpointId, run.Model, run.ChampionVersion, run.ChallengerVersion, run.Status, run.Reason, run.Trigger,
        }, ct);
        await runs.RecordAsync(run, null, "notify", error is null ? "delivered" : "failed", error ?? $"webhook told: {run.Status}");
    }
}
