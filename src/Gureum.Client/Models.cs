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
