using System.Linq.Expressions;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Tracking;

public sealed record MetricPoint(string Key, double Value, long Timestamp, long Step);

public sealed record KeyValue(string Key, string Value);

/// <summary>A run with its data: what MLflow's <c>Run</c> and our run response are built from.</summary>
public sealed record RunView(Run Run, long ExperimentNumber, IReadOnlyList<KeyValue> Params, IReadOnlyList<KeyValue> Tags, IReadOnlyList<MetricPoint> Metrics);

public sealed record ArtifactEntry(string Path, bool IsDir, long? SizeBytes);

/// <summary>
/// Experiments, runs, metrics and artifacts of one project: the one implementation behind Gureum's tracking API, the
/// MLflow-compatible API and the training jobs that record their trials. Every method takes the project id and never
/// returns another project's rows. Failures are <see cref="GureumException"/>s that carry MLflow's error code too.
/// </summary>
public sealed class TrackingStore(GureumDb db, IArtifactStore artifacts, TimeProvider clock)
{
    // MLflow's documented limits, so clients that respect them work and nothing larger gets in.
    public const int MaxBatchMetrics = 1000;
    public const int MaxBatchParams = 100;
    public const int MaxBatchTags = 100;
    public const int MaxBatchTotal = 1000;
    public const int MaxKeyLength = 250;
    public const int MaxParamValueLength = 6000;
    public const int MaxTagValueLength = 8000;
    public const int MaxExperimentNameLength = 500;
    public const int MaxRunNameLength = 250;
    public const long MaxArtifactBytes = 2L * 1024 * 1024 * 1024;
    public const string DefaultExperimentName = "Default";

    public static GureumException NotFound(string what) => new(ProblemCode.NotFound, what, mlflowCode: MlflowCodes.ResourceDoesNotExist);

    public static GureumException Invalid(string field, string message) =>
        new(ProblemCode.Validation, message, new Dictionary<string, string[]> { [field] = [message] }, MlflowCodes.InvalidParameterValue);

    // ---- experiments ----

    public async Task<Experiment> EnsureDefaultExperimentAsync(string projectId, CancellationToken ct)
    {
        var existing = await db.Set<Experiment>().FirstOrDefaultAsync(e => e.ProjectId == projectId && e.Number == 0, ct);
        if (existing is not null)
        {
            return existing;
        }
        var now = clock.GetUtcNow();
        var created = new Experiment { Id = Ids.New(), ProjectId = projectId, Number = 0, Name = DefaultExperimentName, CreatedAt = now, UpdatedAt = now };
        db.Add(created);
        try
        {
            await db.SaveChangesAsync(ct);
            return created;
        }
        catch (DbUpdateException)
        {
            // another request created it first (or a user experiment took the name "Default")
            db.Entry(created).State = EntityState.Detached;
            return await db.Set<Experiment>().FirstOrDefaultAsync(e => e.ProjectId == projectId && e.Number == 0, ct)
                ?? throw Invalid("name", "An experiment named 'Default' exists but is not experiment 0; rename it.");
        }
    }

    public async Task<Experiment> CreateExperimentAsync(string projectId, string name, IReadOnlyList<KeyValue> tags, CancellationToken ct)
    {
        ValidateExperimentName(name);
        foreach (var tag in tags)
        {
            ValidateTag(tag);
        }
        await EnsureDefaultExperimentAsync(projectId, ct);
        if (await db.Set<Experiment>().AnyAsync(e => e.ProjectId == projectId && e.Name == name, ct))
        {
            throw AlreadyExists($"An experiment named '{name}' already exists in this project (deleted experiments keep their names; restore it or pick another name).");
        }
        for (var attempt = 0; ; attempt++)
        {
            var number = await db.Set<Experiment>().Where(e => e.ProjectId == projectId).MaxAsync(e => (long?)e.Number, ct) ?? 0;
            var now = clock.GetUtcNow();
            var experiment = new Experiment
            {
                Id = Ids.New(), ProjectId = projectId, Number = number + 1, Name = name,
                Tags = JsonSerializer.Serialize(tags.ToDictionary(t => t.Key, t => t.Value)), CreatedAt = now, UpdatedAt = now,
            };
            db.Add(experiment);
            try
            {
                await db.SaveChangesAsync(ct);
                return experiment;
            }
            catch (DbUpdateException) when (attempt < 5)
            {
                db.Entry(experiment).State = EntityState.Detached;
                if (await db.Set<Experiment>().AnyAsync(e => e.ProjectId == projectId && e.Name == name, ct))
                {
                    throw AlreadyExists($"An experiment named '{name}' already exists in this project.");
                }
            }
        }
    }

    /// <summary>The experiment a training job records into: found by name or created (training never fails on this).</summary>
    public async Task<Experiment> GetOrCreateExperimentAsync(string projectId, string name, CancellationToken ct)
    {
        var found = await db.Set<Experiment>().FirstOrDefaultAsync(e => e.ProjectId == projectId && e.Name == name, ct);
        if (found is not null)
        {
            if (found.LifecycleStage == Lifecycle.Deleted)
            {
                found.LifecycleStage = Lifecycle.Active;
                await db.SaveChangesAsync(ct);
            }
            return found;
        }
        try
        {
            return await CreateExperimentAsync(projectId, name, [], ct);
        }
        catch (GureumException e) when (e.MlflowCode == MlflowCodes.ResourceAlreadyExists)
        {
            return await db.Set<Experiment>().FirstAsync(x => x.ProjectId == projectId && x.Name == name, ct);
        }
    }

    public async Task<Experiment> FindExperimentAsync(string projectId, string experimentId, CancellationToken ct)
    {
        if (!long.TryParse(experimentId, out var number) || number < 0)
        {
            throw NotFound($"Experiment '{experimentId}' does not exist in this project (experiment ids are numbers; list them with experiments/search).");
        }
        if (number == 0)
        {
            return await EnsureDefaultExperimentAsync(projectId, ct);
        }
        return await db.Set<Experiment>().FirstOrDefaultAsync(e => e.ProjectId == projectId && e.Number == number, ct)
            ?? throw NotFound($"Experiment '{experimentId}' does not exist in this project.");
    }

    public async Task<Experiment> FindExperimentByNameAsync(string projectId, string name, CancellationToken ct)
    {
        if (name == DefaultExperimentName)
        {
            await EnsureDefaultExperimentAsync(projectId, ct);
        }
        return await db.Set<Experiment>().FirstOrDefaultAsync(e => e.ProjectId == projectId && e.Name == name, ct)
            ?? throw NotFound($"Could not find experiment with name '{name}'.");
    }

    public async Task<(List<Experiment> Items, string? Next)> SearchExperimentsAsync(
        string projectId, string? filter, string viewType, IReadOnlyList<string> orderBy, int maxResults, string? pageToken, CancellationToken ct)
    {
        await EnsureDefaultExperimentAsync(projectId, ct);
        IQueryable<Experiment> query = db.Set<Experiment>().Where(e => e.ProjectId == projectId);
        query = ApplyView(query, viewType, e => e.LifecycleStage);
        var clauses = SearchFilter.Parse(filter);
        var tagClauses = new List<FilterClause>();
        foreach (var clause in clauses)
        {
            if (clause.Kind == "tag")
            {
                tagClauses.Add(clause);
                continue;
            }
            if (clause.Kind != "attribute" || clause.Key.ToLowerInvariant() is not ("name" or "experiment_name"))
            {
                throw Invalid("filter", $"Experiments can be filtered by name and tags only; '{clause.Key}' is not supported.");
            }
            query = clause.Op switch
            {
                "=" => query.Where(e => e.Name == clause.Text),
                "!=" => query.Where(e => e.Name != clause.Text),
                "LIKE" => query.Where(e => EF.Functions.Like(e.Name, clause.Text!)),
                "ILIKE" => query.Where(e => EF.Functions.Like(e.Name.ToLower(), clause.Text!.ToLower())),
                _ => throw Invalid("filter", $"Experiment names compare with =, !=, LIKE or ILIKE, not {clause.Op}."),
            };
        }
        var order = SearchFilter.ParseOrder(orderBy);
        IOrderedQueryable<Experiment> ordered = query.OrderByDescending(e => e.CreatedAt).ThenByDescending(e => e.Number);
        if (order.Count > 0)
        {
            var first = order[0];
            ordered = first.Key.ToLowerInvariant() switch
            {
                "name" => first.Ascending ? query.OrderBy(e => e.Name) : query.OrderByDescending(e => e.Name),
                "experiment_id" => first.Ascending ? query.OrderBy(e => e.Number) : query.OrderByDescending(e => e.Number),
                "creation_time" => first.Ascending ? query.OrderBy(e => e.CreatedAt) : query.OrderByDescending(e => e.CreatedAt),
                "last_update_time" => first.Ascending ? query.OrderBy(e => e.UpdatedAt) : query.OrderByDescending(e => e.UpdatedAt),
                _ => throw Invalid("order_by", $"Experiments can be ordered by name, experiment_id, creation_time or last_update_time, not '{first.Key}'."),
            };
        }
        var offset = PageTokens.Read(pageToken);
        var rows = await ordered.ToListAsync(ct);
        // Tags are a JSON column: filtered here, after the SQL narrowed the list to one project.
        rows = [.. rows.Where(e => tagClauses.All(c => MatchesText(e.ReadTags().GetValueOrDefault(c.Key), c)))];
        return PageTokens.Page(rows, offset, maxResults);
    }

    public async Task RenameExperimentAsync(Experiment experiment, string name, CancellationToken ct)
    {
        ValidateExperimentName(name);
        if (experiment.LifecycleStage == Lifecycle.Deleted)
        {
            throw InvalidState($"Experiment '{experiment.Number}' is deleted; restore it before renaming it.");
        }
        if (name != experiment.Name && await db.Set<Experiment>().AnyAsync(e => e.ProjectId == experiment.ProjectId && e.Name == name, ct))
        {
            throw AlreadyExists($"An experiment named '{name}' already exists in this project.");
        }
        experiment.Name = name;
        experiment.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
    }

    public async Task SetExperimentLifecycleAsync(Experiment experiment, string stage, CancellationToken ct)
    {
        if (experiment.Number == 0 && stage == Lifecycle.Deleted)
        {
            throw Invalid("experiment_id", "The Default experiment (0) cannot be deleted.");
        }
        experiment.LifecycleStage = stage;
        experiment.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
    }

    public async Task SetExperimentTagAsync(Experiment experiment, KeyValue tag, CancellationToken ct)
    {
        ValidateTag(tag);
        var tags = experiment.ReadTags();
        tags[tag.Key] = tag.Value;
        experiment.Tags = JsonSerializer.Serialize(tags);
        experiment.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
    }

    // ---- runs ----

    public async Task<Run> CreateRunAsync(string projectId, Experiment experiment, string? name, string userId, long? startTime,
        IReadOnlyList<KeyValue> tags, string source, CancellationToken ct, string? trainingJobId = null, string? parentRunId = null, string? datasetVersionId = null)
    {
        if (experiment.LifecycleStage == Lifecycle.Deleted)
        {
            throw InvalidState($"Experiment '{experiment.Number}' is deleted; restore it before adding runs.");
        }
        var runName = name ?? tags.FirstOrDefault(t => t.Key == "mlflow.runName")?.Value;
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        if (string.IsNullOrEmpty(runName))
        {
            runName = "run-" + id[..8];
        }
        if (runName.Length > MaxRunNameLength)
        {
            throw Invalid("run_name", $"'run_name' is longer than {MaxRunNameLength} characters.");
        }
        foreach (var tag in tags)
        {
            ValidateTag(tag);
        }
        var run = new Run
        {
            Id = id, ProjectId = projectId, ExperimentId = experiment.Id, Name = runName, UserId = userId,
            StartTime = startTime ?? clock.GetUtcNow().ToUnixTimeMilliseconds(), Source = source,
            TrainingJobId = trainingJobId, ParentRunId = parentRunId, DatasetVersionId = datasetVersionId,
        };
        db.Add(run);
        foreach (var tag in tags.DistinctBy(t => t.Key))
        {
            db.Add(new RunTag { RunId = id, Key = tag.Key, Value = tag.Value });
        }
        if (!tags.Any(t => t.Key == "mlflow.runName"))
        {
            db.Add(new RunTag { RunId = id, Key = "mlflow.runName", Value = runName });
        }
        if (parentRunId is not null && !tags.Any(t => t.Key == "mlflow.parentRunId"))
        {
            db.Add(new RunTag { RunId = id, Key = "mlflow.parentRunId", Value = parentRunId });
        }
        await db.SaveChangesAsync(ct);
        return run;
    }

    public async Task<Run> FindRunAsync(string projectId, string runId, CancellationToken ct) =>
        await db.Set<Run>().FirstOrDefaultAsync(r => r.ProjectId == projectId && r.Id == runId, ct)
            ?? throw NotFound($"Run '{runId}' does not exist in this project.");

    /// <summary>The run's MLflow experiment_id, without loading its params, tags and metrics.</summary>
    public Task<long> ExperimentNumberAsync(Run run, CancellationToken ct) =>
        db.Set<Experiment>().Where(e => e.Id == run.ExperimentId).Select(e => e.Number).FirstAsync(ct);

    public async Task<RunView> ViewAsync(Run run, CancellationToken ct) => (await ViewAsync([run], ct))[0];

    public async Task<List<RunView>> ViewAsync(IReadOnlyList<Run> runs, CancellationToken ct)
    {
        var ids = runs.Select(r => r.Id).ToList();
        var experimentIds = runs.Select(r => r.ExperimentId).Distinct().ToList();
        var numbers = await db.Set<Experiment>().Where(e => experimentIds.Contains(e.Id)).ToDictionaryAsync(e => e.Id, e => e.Number, ct);
        var parameters = (await db.Set<RunParam>().Where(p => ids.Contains(p.RunId)).ToListAsync(ct)).ToLookup(p => p.RunId);
        var tags = (await db.Set<RunTag>().Where(t => ids.Contains(t.RunId)).ToListAsync(ct)).ToLookup(t => t.RunId);
        var metrics = (await db.Set<RunLatestMetric>().Where(m => ids.Contains(m.RunId)).ToListAsync(ct)).ToLookup(m => m.RunId);
        return [.. runs.Select(r => new RunView(r, numbers[r.ExperimentId],
            [.. parameters[r.Id].OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new KeyValue(p.Key, p.Value))],
            [.. tags[r.Id].OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new KeyValue(t.Key, t.Value))],
            [.. metrics[r.Id].OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => new MetricPoint(m.Key, m.Value, m.Timestamp, m.Step))]))];
    }

    public async Task UpdateRunAsync(Run run, string? status, long? endTime, string? name, CancellationToken ct)
    {
        if (status is not null)
        {
            if (!RunStatus.All.Contains(status))
            {
                throw Invalid("status", $"'status' must be one of {string.Join(", ", RunStatus.All)}; it was '{status}'.");
            }
            run.Status = status;
            if (status is RunStatus.Finished or RunStatus.Failed or RunStatus.Killed)
            {
                run.EndTime = endTime ?? run.EndTime ?? clock.GetUtcNow().ToUnixTimeMilliseconds();
            }
        }
        if (endTime is not null)
        {
            run.EndTime = endTime;
        }
        if (name is not null)
        {
            if (name.Length is 0 or > MaxRunNameLength)
            {
                throw Invalid("run_name", $"'run_name' must be 1 to {MaxRunNameLength} characters.");
            }
            run.Name = name;
            await UpsertTagAsync(run.Id, new KeyValue("mlflow.runName", name), ct);
        }
        await db.SaveChangesAsync(ct);
    }

    public async Task SetRunLifecycleAsync(Run run, string stage, CancellationToken ct)
    {
        if (stage == Lifecycle.Deleted)
        {
            await RequireNoModelVersionsAsync(run, ct);
        }
        run.LifecycleStage = stage;
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Lineage guard: a run whose artifacts became registered model versions cannot go away under them.</summary>
    public async Task RequireNoModelVersionsAsync(Run run, CancellationToken ct)
    {
        var versions = await db.Set<Registry.ModelVersion>().Where(v => v.RunId == run.Id)
            .Select(v => new { v.Model!.Name, v.Version }).Take(5).ToListAsync(ct);
        if (versions.Count > 0)
        {
            throw new GureumException(ProblemCode.Conflict,
                $"Run '{run.Id}' is the source of model version(s) {string.Join(", ", versions.Select(v => $"{v.Name} v{v.Version}"))}; delete those versions first.",
                mlflowCode: MlflowCodes.InvalidState);
        }
    }

    /// <summary>
    /// MLflow's log-batch semantics: everything or nothing; a param may be logged again only with the same value.
    /// Tags overwrite; metrics append to their series and move the latest value when they are newer.
    /// </summary>
    public async Task LogBatchAsync(Run run, IReadOnlyList<MetricPoint> metrics, IReadOnlyList<KeyValue> parameters, IReadOnlyList<KeyValue> tags, CancellationToken ct)
    {
        if (metrics.Count > MaxBatchMetrics || parameters.Count > MaxBatchParams || tags.Count > MaxBatchTags
            || metrics.Count + parameters.Count + tags.Count > MaxBatchTotal)
        {
            throw Invalid("metrics", $"A batch holds at most {MaxBatchMetrics} metrics, {MaxBatchParams} params and {MaxBatchTags} tags ({MaxBatchTotal} in all); " +
                $"this one had {metrics.Count}, {parameters.Count} and {tags.Count}.");
        }
        RequireActive(run);
        foreach (var m in metrics)
        {
            ValidateKey("metrics", m.Key);
        }
        foreach (var p in parameters)
        {
            ValidateKey("params", p.Key);
            if (p.Value.Length > MaxParamValueLength)
            {
                throw Invalid("params", $"Param '{p.Key}' has a value of {p.Value.Length} characters; the limit is {MaxParamValueLength}.");
            }
        }
        foreach (var t in tags)
        {
            ValidateTag(t);
        }
        var duplicate = parameters.GroupBy(p => p.Key).FirstOrDefault(g => g.Select(p => p.Value).Distinct().Count() > 1);
        if (duplicate is not null)
        {
            throw Invalid("params", $"Param '{duplicate.Key}' appears twice in the batch with different values.");
        }

        var keys = parameters.Select(p => p.Key).Distinct().ToList();
        var existing = await db.Set<RunParam>().Where(p => p.RunId == run.Id && keys.Contains(p.Key)).ToDictionaryAsync(p => p.Key, p => p.Value, ct);
        foreach (var p in parameters.DistinctBy(p => p.Key))
        {
            if (existing.TryGetValue(p.Key, out var old))
            {
                if (old != p.Value)
                {
                    throw Invalid("params", $"Changing param values is not allowed. Param with key='{p.Key}' was already logged with value='{old}' for run ID='{run.Id}'. " +
                        $"Attempted logging new value '{p.Value}'.");
                }
                continue;
            }
            db.Add(new RunParam { RunId = run.Id, Key = p.Key, Value = p.Value });
        }
        foreach (var tag in tags.GroupBy(t => t.Key).Select(g => g.Last()))
        {
            await UpsertTagAsync(run.Id, tag, ct);
        }
        if (metrics.Count > 0)
        {
            var metricKeys = metrics.Select(m => m.Key).Distinct().ToList();
            var latest = await db.Set<RunLatestMetric>().Where(m => m.RunId == run.Id && metricKeys.Contains(m.Key)).ToDictionaryAsync(m => m.Key, ct);
            foreach (var m in metrics)
            {
                db.Add(new RunMetric { RunId = run.Id, Key = m.Key, Value = m.Value, Timestamp = m.Timestamp, Step = m.Step });
                if (!latest.TryGetValue(m.Key, out var current))
                {
                    current = new RunLatestMetric { RunId = run.Id, Key = m.Key, Value = m.Value, Timestamp = m.Timestamp, Step = m.Step };
                    latest[m.Key] = current;
                    db.Add(current);
                }
                else if (m.Step > current.Step || (m.Step == current.Step && m.Timestamp >= current.Timestamp))
                {
                    current.Value = m.Value;
                    current.Step = m.Step;
                    current.Timestamp = m.Timestamp;
                }
            }
        }
        await db.SaveChangesAsync(ct);
    }

    public async Task DeleteTagAsync(Run run, string key, CancellationToken ct)
    {
        RequireActive(run);
        var deleted = await db.Set<RunTag>().Where(t => t.RunId == run.Id && t.Key == key).ExecuteDeleteAsync(ct);
        if (deleted == 0)
        {
            throw NotFound($"No tag with name: {key} in run with id {run.Id}");
        }
    }

    public async Task<(List<MetricPoint> Items, string? Next)> MetricHistoryAsync(Run run, string key, int maxResults, string? pageToken, CancellationToken ct)
    {
        var (rows, next) = await PageTokens.PageAsync(db.Set<RunMetric>().Where(m => m.RunId == run.Id && m.Key == key)
            .OrderBy(m => m.Step).ThenBy(m => m.Timestamp).ThenBy(m => m.Id), PageTokens.Read(pageToken), maxResults, ct);
        return ([.. rows.Select(m => new MetricPoint(m.Key, m.Value, m.Timestamp, m.Step))], next);
    }

    /// <summary>MLflow's runs/search over the given experiments: filter, order and page in the database.</summary>
    public async Task<(List<Run> Items, string? Next)> SearchRunsAsync(string projectId, IReadOnlyList<string> experimentIds, string? filter,
        string viewType, IReadOnlyList<string> orderBy, int maxResults, string? pageToken, CancellationToken ct)
    {
        var experiments = new List<string>();
        foreach (var id in experimentIds)
        {
            experiments.Add((await FindExperimentAsync(projectId, id, ct)).Id);
        }
        IQueryable<Run> query = db.Set<Run>().Where(r => r.ProjectId == projectId && experiments.Contains(r.ExperimentId));
        query = ApplyView(query, viewType, r => r.LifecycleStage);
        foreach (var clause in SearchFilter.Parse(filter))
        {
            query = Apply(query, clause);
        }
        var ordered = Order(query, SearchFilter.ParseOrder(orderBy));
        return await PageTokens.PageAsync(ordered, PageTokens.Read(pageToken), maxResults, ct);
    }

    private IQueryable<Run> Apply(IQueryable<Run> query, FilterClause c)
    {
        var key = c.Key;
        switch (c.Kind)
        {
            case "metric":
                var value = c.Number ?? throw Invalid("filter", $"Metric '{key}' must be compared with a number.");
                var metrics = db.Set<RunLatestMetric>().Where(m => m.Key == key);
                var matching = c.Op switch
                {
                    "=" => metrics.Where(m => m.Value == value),
                    "!=" => metrics.Where(m => m.Value != value),
                    "<" => metrics.Where(m => m.Value < value),
                    "<=" => metrics.Where(m => m.Value <= value),
                    ">" => metrics.Where(m => m.Value > value),
                    ">=" => metrics.Where(m => m.Value >= value),
                    _ => throw Invalid("filter", $"Metrics compare with =, !=, <, <=, > or >=, not {c.Op}."),
                };
                var metricRuns = matching.Select(m => m.RunId);
                return query.Where(r => metricRuns.Contains(r.Id));
            case "param":
                var paramRuns = db.Set<RunParam>().Where(p => p.Key == key).Where(Compose<RunParam>(p => p.Value, TextPredicate(c))).Select(p => p.RunId);
                return query.Where(r => paramRuns.Contains(r.Id));
            case "tag":
                var tagRuns = db.Set<RunTag>().Where(t => t.Key == key).Where(Compose<RunTag>(t => t.Value, TextPredicate(c))).Select(t => t.RunId);
                return query.Where(r => tagRuns.Contains(r.Id));
        }
        switch (key.ToLowerInvariant())
        {
            case "status":
                return query.Where(Compose<Run>(r => r.Status, TextPredicate(c)));
            case "run_name":
            case "name":
                return query.Where(Compose<Run>(r => r.Name, TextPredicate(c)));
            case "run_id":
                return query.Where(Compose<Run>(r => r.Id, TextPredicate(c)));
            case "user_id":
                return query.Where(Compose<Run>(r => r.UserId, TextPredicate(c)));
            case "start_time":
                var start = (long)(c.Number ?? throw Invalid("filter", "'start_time' must be compared with a number (Unix milliseconds)."));
                return c.Op switch
                {
                    "=" => query.Where(r => r.StartTime == start),
                    "!=" => query.Where(r => r.StartTime != start),
                    "<" => query.Where(r => r.StartTime < start),
                    "<=" => query.Where(r => r.StartTime <= start),
                    ">" => query.Where(r => r.StartTime > start),
                    ">=" => query.Where(r => r.StartTime >= start),
                    _ => throw Invalid("filter", "'start_time' compares with =, !=, <, <=, > or >=."),
                };
            case "end_time":
                var end = (long)(c.Number ?? throw Invalid("filter", "'end_time' must be compared with a number (Unix milliseconds)."));
                return c.Op switch
                {
                    "=" => query.Where(r => r.EndTime == end),
                    "!=" => query.Where(r => r.EndTime != end),
                    "<" => query.Where(r => r.EndTime < end),
                    "<=" => query.Where(r => r.EndTime <= end),
                    ">" => query.Where(r => r.EndTime > end),
                    ">=" => query.Where(r => r.EndTime >= end),
                    _ => throw Invalid("filter", "'end_time' compares with =, !=, <, <=, > or >=."),
                };
            default:
                throw Invalid("filter", $"Unknown run attribute '{key}'; use status, run_name, run_id, user_id, start_time or end_time, or a metrics./params./tags. key.");
        }
    }

    /// <summary>The string comparison of a clause, to be applied to whichever column holds the text.</summary>
    private static Expression<Func<string, bool>> TextPredicate(FilterClause c)
    {
        var text = c.Text;
        var list = c.List;
        if (text is null && list is null)
        {
            throw Invalid("filter", $"'{c.Key}' holds text: compare it with a quoted string.");
        }
        return c.Op switch
        {
            "=" => v => v == text,
            "!=" => v => v != text,
            "LIKE" => v => EF.Functions.Like(v, text!),
            "ILIKE" => v => EF.Functions.Like(v.ToLower(), text!.ToLower()),
            "IN" => v => list!.Contains(v),
            "NOT IN" => v => !list!.Contains(v),
            _ => throw Invalid("filter", $"'{c.Key}' holds text: compare it with =, !=, LIKE, ILIKE, IN or NOT IN, not {c.Op}."),
        };
    }

    private static Expression<Func<T, bool>> Compose<T>(Expression<Func<T, string>> selector, Expression<Func<string, bool>> predicate) =>
        Expression.Lambda<Func<T, bool>>(new ReplaceParameter(predicate.Parameters[0], selector.Body).Visit(predicate.Body), selector.Parameters[0]);

    private sealed class ReplaceParameter(ParameterExpression from, Expression to) : ExpressionVisitor
    {
        protected override Expression VisitParameter(ParameterExpression node) => node == from ? to : node;
    }

    private IOrderedQueryable<Run> Order(IQueryable<Run> query, List<OrderTerm> terms)
    {
        if (terms.Count == 0)
        {
            return query.OrderByDescending(r => r.StartTime).ThenBy(r => r.Id);
        }
        IOrderedQueryable<Run>? ordered = null;
        foreach (var term in terms)
        {
            var key = term.Key;
            switch (term.Kind)
            {
                case "metric":
                    var metrics = db.Set<RunLatestMetric>().Where(m => m.Key == key);
                    // Runs without the metric sort last either way, as in MLflow.
                    ordered = Then(ordered, query, r => !metrics.Any(m => m.RunId == r.Id), true);
                    ordered = Then(ordered, query, r => metrics.Where(m => m.RunId == r.Id).Select(m => (double?)m.Value).FirstOrDefault(), term.Ascending);
                    break;
                case "param":
                    var parameters = db.Set<RunParam>().Where(p => p.Key == key);
                    ordered = Then(ordered, query, r => !parameters.Any(p => p.RunId == r.Id), true);
                    ordered = Then(ordered, query, r => parameters.Where(p => p.RunId == r.Id).Select(p => p.Value).FirstOrDefault(), term.Ascending);
                    break;
                case "tag":
                    var tags = db.Set<RunTag>().Where(t => t.Key == key);
                    ordered = Then(ordered, query, r => !tags.Any(t => t.RunId == r.Id), true);
                    ordered = Then(ordered, query, r => tags.Where(t => t.RunId == r.Id).Select(t => t.Value).FirstOrDefault(), term.Ascending);
                    break;
                default:
                    ordered = key.ToLowerInvariant() switch
                    {
                        "start_time" => Then(ordered, query, r => r.StartTime, term.Ascending),
                        "end_time" => Then(ordered, query, r => r.EndTime, term.Ascending),
                        "run_name" or "name" => Then(ordered, query, r => r.Name, term.Ascending),
                        "status" => Then(ordered, query, r => r.Status, term.Ascending),
                        "run_id" => Then(ordered, query, r => r.Id, term.Ascending),
                        _ => throw Invalid("order_by", $"Runs can be ordered by start_time, end_time, run_name, status, run_id or a metrics./params./tags. key, not '{key}'."),
                    };
                    break;
            }
        }
        return ordered!.ThenByDescending(r => r.StartTime).ThenBy(r => r.Id);
    }

    private static IOrderedQueryable<Run> Then<TKey>(IOrderedQueryable<Run>? ordered, IQueryable<Run> query,
        Expression<Func<Run, TKey>> key, bool ascending) => ordered is null
            ? ascending ? query.OrderBy(key) : query.OrderByDescending(key)
            : ascending ? ordered.ThenBy(key) : ordered.ThenByDescending(key);

    // ---- artifacts ----

    /// <summary>Stores a file under the run's artifact root; the path is checked before anything is written.</summary>
    public async Task<RunArtifact> PutArtifactAsync(Run run, string path, Stream content, CancellationToken ct)
    {
        RequireActive(run);
        var clean = ArtifactPaths.Normalize(path, "path") ?? throw Invalid("path", "An artifact needs a file path, not the run's root.");
        if (await db.Set<RunArtifact>().AnyAsync(a => a.RunId == run.Id && a.Path.StartsWith(clean + "/"), ct))
        {
            throw Invalid("path", $"'{clean}' is a directory of this run's artifacts; a file cannot replace it.");
        }
        var stored = await artifacts.PutAsync(content, MaxArtifactBytes, ct);
        var row = await db.Set<RunArtifact>().FirstOrDefaultAsync(a => a.RunId == run.Id && a.Path == clean, ct);
        var replaced = row?.Sha256;
        if (row is null)
        {
            row = new RunArtifact { RunId = run.Id, ProjectId = run.ProjectId, Path = clean, Sha256 = stored.Sha256 };
            db.Add(row);
        }
        row.Sha256 = stored.Sha256;
        row.SizeBytes = stored.Length;
        row.CreatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        if (replaced is not null && replaced != stored.Sha256)
        {
            await BlobReferences.ReleaseAsync(db, artifacts, [replaced]);
        }
        return row;
    }

    /// <summary>Records an artifact whose bytes are already in the store (a training job's model).</summary>
    public async Task AttachArtifactAsync(Run run, string path, string sha256, long size, CancellationToken ct)
    {
        var clean = ArtifactPaths.Normalize(path, "path")!;
        var row = await db.Set<RunArtifact>().FirstOrDefaultAsync(a => a.RunId == run.Id && a.Path == clean, ct);
        if (row is null)
        {
            db.Add(new RunArtifact { RunId = run.Id, ProjectId = run.ProjectId, Path = clean, Sha256 = sha256, SizeBytes = size, CreatedAt = clock.GetUtcNow() });
        }
        else
        {
            row.Sha256 = sha256;
            row.SizeBytes = size;
        }
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The direct children of a directory of the run's artifacts (files and sub-directories).</summary>
    public async Task<List<ArtifactEntry>> ListArtifactsAsync(Run run, string? directory, CancellationToken ct)
    {
        var dir = ArtifactPaths.Normalize(directory, "path");
        var prefix = dir is null ? "" : dir + "/";
        var rows = await db.Set<RunArtifact>().Where(a => a.RunId == run.Id && a.Path.StartsWith(prefix))
            .OrderBy(a => a.Path).Select(a => new { a.Path, a.SizeBytes }).ToListAsync(ct);
        var entries = new SortedDictionary<string, ArtifactEntry>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var rest = row.Path[prefix.Length..];
            var slash = rest.IndexOf('/');
            if (slash < 0)
            {
                entries[row.Path] = new ArtifactEntry(row.Path, false, row.SizeBytes);
            }
            else
            {
                var sub = prefix + rest[..slash];
                entries.TryAdd(sub, new ArtifactEntry(sub, true, null));
            }
        }
        return [.. entries.Values];
    }

    public async Task<RunArtifact> FindArtifactAsync(Run run, string path, CancellationToken ct)
    {
        var clean = ArtifactPaths.Normalize(path, "path") ?? throw Invalid("path", "Name a file of the run's artifacts.");
        return await db.Set<RunArtifact>().FirstOrDefaultAsync(a => a.RunId == run.Id && a.Path == clean, ct)
            ?? throw NotFound($"Run '{run.Id}' has no artifact '{clean}'.");
    }

    public async Task DeleteArtifactsAsync(Run run, string path, CancellationToken ct)
    {
        RequireActive(run);
        await RequireNoModelVersionsAsync(run, ct);
        var clean = ArtifactPaths.Normalize(path, "path");
        var rows = await db.Set<RunArtifact>().Where(a => a.RunId == run.Id && (clean == null || a.Path == clean || a.Path.StartsWith(clean + "/"))).ToListAsync(ct);
        if (rows.Count == 0)
        {
            throw NotFound($"Run '{run.Id}' has no artifact '{clean}'.");
        }
        db.RemoveRange(rows);
        await db.SaveChangesAsync(ct);
        await BlobReferences.ReleaseAsync(db, artifacts, rows.Select(r => r.Sha256));
    }

    // ---- validation ----

    private static void RequireActive(Run run)
    {
        if (run.LifecycleStage == Lifecycle.Deleted)
        {
            throw InvalidState($"The run {run.Id} must be in the 'active' state. Current state is deleted.");
        }
    }

    private static void ValidateExperimentName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxExperimentNameLength || name.Any(char.IsControl))
        {
            throw Invalid("name", $"An experiment name must be 1 to {MaxExperimentNameLength} characters without control characters.");
        }
    }

    private static void ValidateKey(string field, string key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxKeyLength || key.Any(char.IsControl) || key.Contains("..", StringComparison.Ordinal)
            || key.StartsWith('/'))
        {
            throw Invalid(field, $"Invalid key '{Truncate(key)}': keys are 1 to {MaxKeyLength} characters, without control characters, '..' or a leading '/'.");
        }
    }

    private static void ValidateTag(KeyValue tag)
    {
        ValidateKey("tags", tag.Key);
        if (tag.Value.Length > MaxTagValueLength)
        {
            throw Invalid("tags", $"Tag '{tag.Key}' has a value of {tag.Value.Length} characters; the limit is {MaxTagValueLength}.");
        }
    }

    private async Task UpsertTagAsync(string runId, KeyValue tag, CancellationToken ct)
    {
        var row = db.Set<RunTag>().Local.FirstOrDefault(t => t.RunId == runId && t.Key == tag.Key)
            ?? await db.Set<RunTag>().FirstOrDefaultAsync(t => t.RunId == runId && t.Key == tag.Key, ct);
        if (row is null)
        {
            db.Add(new RunTag { RunId = runId, Key = tag.Key, Value = tag.Value });
        }
        else
        {
            row.Value = tag.Value;
        }
    }

    private static IQueryable<T> ApplyView<T>(IQueryable<T> query, string viewType, Expression<Func<T, string>> stage) => viewType.ToUpperInvariant() switch
    {
        "ACTIVE_ONLY" or "" => query.Where(Compose(stage, s => s == Lifecycle.Active)),
        "DELETED_ONLY" => query.Where(Compose(stage, s => s == Lifecycle.Deleted)),
        "ALL" => query,
        _ => throw Invalid("view_type", $"'view_type' must be ACTIVE_ONLY, DELETED_ONLY or ALL; it was '{viewType}'."),
    };

    private static bool MatchesText(string? value, FilterClause c) => value is not null && c.Op switch
    {
        "=" => value == c.Text,
        "!=" => value != c.Text,
        "LIKE" => Like(value, c.Text!, false),
        "ILIKE" => Like(value, c.Text!, true),
        "IN" => c.List!.Contains(value),
        "NOT IN" => !c.List!.Contains(value),
        _ => throw Invalid("filter", $"Tags compare with =, !=, LIKE, ILIKE, IN or NOT IN, not {c.Op}."),
    };

    private static bool Like(string value, string pattern, bool ignoreCase)
    {
        var regex = "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("%", ".*").Replace("_", ".") + "$";
        return System.Text.RegularExpressions.Regex.IsMatch(value, regex,
            ignoreCase ? System.Text.RegularExpressions.RegexOptions.IgnoreCase : System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(100));
    }

    private static string Truncate(string s) => s.Length > 60 ? s[..60] + "…" : s;

    private static GureumException AlreadyExists(string message) => new(ProblemCode.Conflict, message, mlflowCode: MlflowCodes.ResourceAlreadyExists);

    private static GureumException InvalidState(string message) => new(ProblemCode.Conflict, message, mlflowCode: MlflowCodes.InvalidState);
}

/// <summary>MLflow's error codes, as its clients branch on them.</summary>
public static class MlflowCodes
{
    public const string InvalidParameterValue = "INVALID_PARAMETER_VALUE";
    public const string ResourceDoesNotExist = "RESOURCE_DOES_NOT_EXIST";
    public const string ResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS";
    public const string InvalidState = "INVALID_STATE";
    public const string EndpointNotFound = "ENDPOINT_NOT_FOUND";
    public const string Unauthenticated = "UNAUTHENTICATED";
    public const string PermissionDenied = "PERMISSION_DENIED";
    public const string InternalError = "INTERNAL_ERROR";
    public const string TemporarilyUnavailable = "TEMPORARILY_UNAVAILABLE";
    public const string RequestLimitExceeded = "REQUEST_LIMIT_EXCEEDED";

    public static int Status(string code) => code switch
    {
        ResourceDoesNotExist or EndpointNotFound => 404,
        Unauthenticated => 401,
        PermissionDenied => 403,
        InternalError => 500,
        TemporarilyUnavailable => 503,
        RequestLimitExceeded => 429,
        _ => 400,
    };
}

/// <summary>Opaque paging tokens (an offset), as MLflow's are.</summary>
public static class PageTokens
{
    /// <summary>One page of rows already in memory, and the token of the next page (null on the last).</summary>
    public static (List<T> Items, string? Next) Page<T>(IEnumerable<T> all, int offset, int maxResults) =>
        Cut(all.Skip(offset).Take(maxResults + 1).ToList(), offset, maxResults);

    /// <summary>One page read from the database: one row more than the page tells whether another page follows.</summary>
    public static async Task<(List<T> Items, string? Next)> PageAsync<T>(IQueryable<T> query, int offset, int maxResults, CancellationToken ct) =>
        Cut(await query.Skip(offset).Take(maxResults + 1).ToListAsync(ct), offset, maxResults);

    private static (List<T> Items, string? Next) Cut<T>(List<T> rows, int offset, int maxResults) =>
        rows.Count > maxResults ? (rows[..maxResults], Write(offset + maxResults)) : (rows, null);

    public static string Write(int offset) => Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { offset })));

    public static int Read(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return 0;
        }
        try
        {
            using var json = JsonDocument.Parse(Convert.FromBase64String(token));
            var offset = json.RootElement.GetProperty("offset").GetInt32();
            return offset >= 0 ? offset : throw new FormatException();
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw TrackingStore.Invalid("page_token", "'page_token' is not a token this server issued; pass the next_page_token of the previous page.");
        }
    }
}

/// <summary>
/// Artifact paths are keys inside a run, never filesystem paths: decoded once by routing, then refused if they hold
/// '..', '.', empty segments, backslashes, drive letters, control characters or are absolute.
/// </summary>
public static class ArtifactPaths
{
    public const int MaxLength = 1000;

    public static string? Normalize(string? path, string field)
    {
        if (string.IsNullOrEmpty(path) || path == "/" || path == ".")
        {
            return null;
        }
        var trimmed = path.TrimEnd('/');
        if (trimmed.Length > MaxLength || trimmed.StartsWith('/') || trimmed.Contains('\\') || trimmed.Any(c => char.IsControl(c))
            || (trimmed.Length >= 2 && trimmed[1] == ':') || trimmed.Contains('%') || trimmed.Contains('?') || trimmed.Contains('#') || trimmed.Contains(';'))
        {
            throw TrackingStore.Invalid(field, $"Artifact path '{Safe(path)}' is not allowed: use a relative path of at most {MaxLength} characters " +
                "with '/' separators, without '..', '\\', '%', '?', '#', ';', a drive letter or a leading '/'.");
        }
        foreach (var segment in trimmed.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                throw TrackingStore.Invalid(field, $"Artifact path '{Safe(path)}' has an empty, '.' or '..' segment.");
            }
        }
        return trimmed;
    }

    private static string Safe(string s) => new([.. s.Take(100).Select(c => char.IsControl(c) ? '?' : c)]);
}
