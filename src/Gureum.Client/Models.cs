using System.Text.Json;

namespace Gureum.Client;

/// <summary>One page of a list; pass <see cref="Next"/> back as the cursor to get the following page (null: last page).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

public sealed record Project(string Id, string Name, string? Description, DateTimeOffset CreatedAt);

/// <summary>An API key as listed: never its secret. <see cref="Status"/> is active, expired or revoked.</summary>
public sealed record ApiKey(
    string Id, string PublicId, string? ProjectId, string Name, IReadOnlyList<string> Scopes, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt);

/// <summary>The answer to a key creation: <see cref="Secret"/> is the full key, returned this once only.</summary>
public sealed record CreatedApiKey(ApiKey Key, string Secret);

public enum JobStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

public sealed record Job(
    string Id, string ProjectId, string Kind, JobStatus Status, double Percent, string? Message,
    JsonElement? Input, JsonElement? Result, string? Error, int Attempts, bool CancelRequested, string? Node,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt)
{
    public bool IsTerminal => Status.IsTerminal();
}

/// <summary>
/// One Server-Sent Event of a job: <see cref="Type"/> is <c>status</c>, <c>progress</c> or <c>log</c>;
/// the typed fields are those the event carries (null otherwise), <see cref="Data"/> is its whole JSON payload.
/// </summary>
public sealed record JobEvent(
    string Type, string? Id, JobStatus? Status, double? Percent, string? Message, string? Error, JsonElement Data)
{
    /// <summary>A status event for succeeded, failed or cancelled: the stream ends after it.</summary>
    public bool IsTerminal => Type == "status" && Status is { } s && s.IsTerminal();
}

public sealed record HealthCheck(string Status, string? Description);

/// <summary><c>GET /health/ready</c>: overall status (healthy, degraded, unhealthy) and each check.</summary>
public sealed record HealthReport(string Status, IReadOnlyDictionary<string, HealthCheck> Checks)
{
    public bool IsHealthy => Status == "healthy";
}

public static class JobStatusExtensions
{
    public static bool IsTerminal(this JobStatus status) => status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled;
}

// ---- datasets ----

/// <summary>A dataset: a name for a series of immutable versions. <see cref="LatestVersion"/> is null until the first upload.</summary>
public sealed record Dataset(
    string Id, string ProjectId, string Name, string? Description, DateTimeOffset CreatedAt, int? LatestVersion, int PendingRows);

/// <summary>
/// One immutable version of a dataset. <see cref="Source"/> is upload, retype or appends; <see cref="Errors"/> are the rows
/// that were skipped (with <c>onError=skip</c>), at most a few of them.
/// </summary>
public sealed record DatasetVersion(
    string Id, string DatasetId, int Number, string Sha256, long SizeBytes, long RowCount, long SkippedRows,
    string Source, int? DerivedFrom, DatasetFormat Format, DatasetSchema Schema, IReadOnlyList<DataError> Errors, DateTimeOffset CreatedAt);

/// <summary>How the file was read: <see cref="Format"/> is csv, jsonl or parquet.</summary>
public sealed record DatasetFormat(string Format, bool Gzip, string? Delimiter, bool? HasHeader, string? Encoding);

public sealed record DatasetSchema(IReadOnlyList<DatasetColumn> Columns);

/// <summary><see cref="Type"/> is integer, float, boolean, categorical, dateTime, text or id.</summary>
public sealed record DatasetColumn(string Name, string Type, bool Ignored, bool Overridden, string? DateTimeFormat);

/// <summary>A problem in the data, located by its 1-based line (or row) and column when known.</summary>
public sealed record DataError(long Line, string? Column, string Message);

/// <summary>A version's profile: per column statistics and the warnings (constant, high-missing, likely-id, mixed-types, target-leakage).</summary>
public sealed record DatasetProfile(long RowCount, IReadOnlyList<ColumnProfile> Columns, IReadOnlyList<ProfileWarning> Warnings);

/// <summary>Statistics of one column; only the fields that fit its type are set.</summary>
public sealed record ColumnProfile(
    string Name, string Type, long Count, long Missing, long Distinct, bool DistinctIsEstimate,
    double? Min, double? Max, double? Mean, double? Std, IReadOnlyDictionary<string, double>? Quantiles, IReadOnlyList<HistogramBin>? Histogram,
    IReadOnlyList<ValueCount>? TopValues, double? MinLength, double? MaxLength, double? MeanLength, string? MinDate, string? MaxDate);

public sealed record HistogramBin(double Start, double End, long Count);

public sealed record ValueCount(string Value, long Count);

public sealed record ProfileWarning(string Code, string Column, string Message);

/// <summary>The first rows of a version, typed: each row maps a column name to a JSON value (null for a missing cell).</summary>
public sealed record DatasetPreview(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyDictionary<string, JsonElement>> Rows);

/// <summary>The answer to appended rows: how many were accepted and how many now wait to be sealed into a version.</summary>
public sealed record AppendResult(int Accepted, int PendingRows);

/// <summary>How the server should read an uploaded file; null fields are detected.</summary>
/// <param name="Format">csv, tsv, jsonl or parquet.</param>
/// <param name="Delimiter">CSV only: <c>,</c> <c>;</c> <c>|</c> or <c>tab</c>.</param>
/// <param name="Header">CSV only: whether the first line names the columns.</param>
/// <param name="Encoding">CSV only: utf-8, utf-16, latin1, cp949 or euc-kr.</param>
/// <param name="OnError">reject (default: a bad row fails the upload) or skip (bad rows are left out and reported).</param>
/// <param name="Target">A target column, for the leakage warning.</param>
public sealed record DatasetUploadOptions(
    string? Format = null, string? Delimiter = null, bool? Header = null, string? Encoding = null, string? OnError = null, string? Target = null);

/// <summary>A per column change for a derived version: force a <see cref="Type"/>, or leave the column out.</summary>
public sealed record ColumnOverride(string? Type = null, bool Ignored = false);

/// <summary>
/// A training request: <see cref="Dataset"/> (id or name) and <see cref="Target"/> are required; the rest is chosen from
/// the data. <see cref="Trainer"/> (+ <see cref="Hyperparameters"/>) trains one configuration instead of searching.
/// </summary>
public sealed record TrainingSubmission(
    string Dataset, string Target, int? Version = null, int? TestVersion = null, string? Task = null, string? Metric = null,
    int? BudgetSeconds = null, int? Seed = null, IReadOnlyList<string>? IgnoreColumns = null, string? Trainer = null,
    IReadOnlyDictionary<string, double>? Hyperparameters = null);

public sealed record TrainingDatasetReference(string Id, int Version, int? TestVersion);

public sealed record TrainedModelReference(string Sha256, long SizeBytes, string Download);

/// <summary>A training job; <see cref="Report"/> (the full report as JSON) is set on a single get once it succeeded.</summary>
public sealed record TrainingJob(
    string Id, string ProjectId, JobStatus Status, double Percent, string? Message, string? Error,
    TrainingDatasetReference Dataset, string Target, string Task, string Metric, int BudgetSeconds, int Seed,
    string? BestTrainer, double? TestScore, TrainedModelReference? Model, JsonElement? Report,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt)
{
    public bool IsTerminal => Status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled;
}

public sealed record TrainingTrial(
    int Number, string Trainer, string Stage, IReadOnlyDictionary<string, double> Hyperparameters, IReadOnlyDictionary<string, double> Metrics,
    double? Score, double DurationSeconds, string Status, string? Error, int Attempt, DateTimeOffset FinishedAt);

/// <summary>Every trial of a training job, best first (or in the order they ran).</summary>
public sealed record Leaderboard(string Metric, bool HigherIsBetter, JobStatus Status, IReadOnlyList<TrainingTrial> Trials);

// ---- tracking ----

/// <summary>A group of runs; <see cref="Id"/> is its number in the project (MLflow's <c>experiment_id</c>; "0" is Default).</summary>
public sealed record Experiment(
    string Id, string Name, string LifecycleStage, IReadOnlyDictionary<string, string> Tags, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    /// <summary>The tag MLflow keeps an experiment's description in.</summary>
    public const string DescriptionTag = "mlflow.note.content";

    public string? Description => Tags.TryGetValue(DescriptionTag, out var description) ? description : null;
}

/// <summary>
/// One run: <see cref="Status"/> is RUNNING, SCHEDULED, FINISHED, FAILED or KILLED; <see cref="Source"/> is <c>training</c>
/// (a Gureum training job or one of its trials) or <c>external</c>; <see cref="Metrics"/> holds each metric's latest value.
/// </summary>
public sealed record Run(
    string Id, string Name, string ExperimentId, string Status, string LifecycleStage, DateTimeOffset StartTime, DateTimeOffset? EndTime,
    string Source, string? TrainingJobId, string? ParentRunId, string? DatasetVersionId, string UserId,
    IReadOnlyDictionary<string, string> Params, IReadOnlyDictionary<string, string> Tags, IReadOnlyDictionary<string, double> Metrics);

/// <summary>One point of a metric series; <see cref="Timestamp"/> is in Unix milliseconds, as MLflow logs it.</summary>
public sealed record MetricPoint(string Key, double Value, long Timestamp, long Step);

/// <summary>A page of a metric's points by step; <see cref="Next"/> is the cursor of the following page (null: the last one).</summary>
public sealed record MetricHistory(string Key, IReadOnlyList<MetricPoint> Points, string? Next);

/// <summary>One param across compared runs (null where a run lacks it); <see cref="Differs"/> marks the rows worth reading.</summary>
public sealed record ParamRow(string Key, IReadOnlyList<string?> Values, bool Differs);

/// <summary>One metric's series per compared run, in the order of <see cref="RunComparison.Runs"/>.</summary>
public sealed record MetricSeries(string Key, IReadOnlyList<IReadOnlyList<MetricPoint>> Runs);

public sealed record RunComparison(IReadOnlyList<Run> Runs, IReadOnlyList<ParamRow> Params, IReadOnlyList<MetricSeries> Metrics);

/// <summary>A file (with its size) or a directory of a run's artifacts; <see cref="Path"/> is relative to the run's artifact root.</summary>
public sealed record ArtifactEntry(string Path, bool IsDir, long? SizeBytes);

// ---- registry ----

/// <summary>Where an alias points, and who moved it there last.</summary>
public sealed record ModelAlias(string Alias, int Version, DateTimeOffset UpdatedAt, string UpdatedBy);

/// <summary>A registered model: a name for a series of immutable versions. <see cref="LatestVersion"/> is null until the first one.</summary>
public sealed record RegisteredModel(
    string Id, string Name, string Description, IReadOnlyDictionary<string, string> Tags, IReadOnlyList<ModelAlias> Aliases,
    int? LatestVersion, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>An input or output of a model: the ONNX element type or ML.NET column type; -1 in <see cref="Shape"/> for a dynamic dimension.</summary>
public sealed record ModelField(string Name, string Type, IReadOnlyList<long>? Shape);

/// <summary>What a model file takes and returns, as the server's load check read it. <see cref="Format"/> is onnx or mlNet.</summary>
public sealed record ModelSignature(string Format, IReadOnlyList<ModelField> Inputs, IReadOnlyList<ModelField> Outputs, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// One immutable version of a registered model. <see cref="Format"/> is onnx or mlnet; <see cref="Source"/> says where the
/// file came from (upload, a training job, a run artifact); <see cref="Download"/> is the path of its file.
/// </summary>
public sealed record ModelVersion(
    string Model, int Version, string Format, string Sha256, long SizeBytes, ModelSignature Signature, IReadOnlyDictionary<string, double> Metrics,
    string Source, string? RunId, string? TrainingJobId, string? DatasetVersionId, string Description, IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<string> Aliases, string CreatedBy, DateTimeOffset CreatedAt, string Download);

/// <summary>The optional <c>metadata</c> part of a model upload; <see cref="RunId"/> links the version to the run that made it (and so to its lineage).</summary>
public sealed record ModelVersionUpload(string? Description = null, IReadOnlyDictionary<string, string>? Tags = null, string? RunId = null);

/// <summary>One move of an alias: <see cref="FromVersion"/> null when it was created, <see cref="ToVersion"/> null when it was removed.</summary>
public sealed record AliasEvent(string Alias, int? FromVersion, int? ToVersion, string By, DateTimeOffset At);

public sealed record ModelAliases(IReadOnlyList<ModelAlias> Aliases, IReadOnlyList<AliasEvent> History);

/// <summary>A node of a lineage graph: <see cref="Kind"/> is datasetVersion, trainingJob, run or modelVersion; <see cref="Link"/> its API path.</summary>
public sealed record LineageNode(string Id, string Kind, string Label, string? Link);

/// <summary>An edge from an upstream node to what was made from it: <see cref="Relation"/> is trained, tested, recorded as or produced.</summary>
public sealed record LineageEdge(string From, string To, string Relation);

public sealed record ModelLineage(IReadOnlyList<LineageNode> Nodes, IReadOnlyList<LineageEdge> Edges);

// ---- serving ----

/// <summary>
/// One model behind an endpoint: a fixed <see cref="Version"/>, or an <see cref="Alias"/> the endpoint follows when it moves
/// (name exactly one). <see cref="Weight"/> is a relative share of traffic (default 1); a <see cref="Shadow"/> gets a copy of
/// every request and its answers are only logged.
/// </summary>
public sealed record Deployment(string Model, int? Version = null, string? Alias = null, double? Weight = null, bool Shadow = false);

/// <summary>Dynamic batching (ONNX); null fields take the server's defaults (32 rows, 1 ms, a queue of 1024). MaxBatchSize 1 turns it off.</summary>
public sealed record BatchingSettings(int? MaxBatchSize = null, double? MaxDelayMs = null, int? MaxQueue = null, int? Workers = null);

/// <summary>ONNX Runtime settings; null fields take the server's defaults. <see cref="Device"/> is cpu, cuda or auto.</summary>
public sealed record RuntimeSettings(int? IntraOpThreads = null, int? InterOpThreads = null, string? GraphOptimization = null, string? Device = null);

/// <summary>What an endpoint serves and how: a change (PUT) replaces all of it; null fields take the server's defaults.</summary>
public sealed record EndpointSpec(
    IReadOnlyList<Deployment> Deployments, BatchingSettings? Batching = null, RuntimeSettings? Runtime = null, int? TimeoutMs = null,
    int? MaxRowsPerRequest = null, long? MaxBodyBytes = null, double? SampleRate = null);

/// <summary>A model version loaded behind an endpoint, with its share of traffic and how it is doing on the node that answered.</summary>
public sealed record ServedVersion(
    string Model, int Version, string Format, double Weight, bool Shadow, string? Alias, string Device, bool Batching, long MemoryBytes,
    long Requests, long Errors, double? LatencyP50Ms, double? LatencyP99Ms, double? MeanBatchSize, DateTimeOffset LoadedAt);

/// <summary>
/// An endpoint: <see cref="Status"/> is loading (nothing serves yet), ready or failed (with <see cref="Reason"/>). While a
/// change loads, the previous versions keep serving and <see cref="Update"/> says how it goes ("loading", or "failed: ...").
/// <see cref="Generation"/> counts the changes.
/// </summary>
public sealed record ServingEndpoint(
    string Id, string Name, string Status, string? Reason, string? Update, int Generation, EndpointSpec Spec, IReadOnlyList<ServedVersion> Serving,
    string Predict, string Infer, long DroppedSamples, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public bool IsReady => Status == "ready" && Update is null;

    /// <summary>The endpoint did not load, or its latest change did not (the previous versions then keep serving).</summary>
    public bool HasFailed => Status == "failed" || Update?.StartsWith("failed", StringComparison.Ordinal) == true;
}

public sealed record ServingEndpointList(IReadOnlyList<ServingEndpoint> Items);

/// <summary>One sampled prediction: the request and answer bodies as sent (cut at a limit), from a live or a shadow version.</summary>
public sealed record PredictionSample(
    long Id, string Model, int Version, bool Shadow, string RequestId, DateTimeOffset At, int Status, double LatencyMs, string Input, string Output);
