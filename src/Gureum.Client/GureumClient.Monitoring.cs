using System.Text.Json;

namespace Gureum.Client;

/// <summary>Monitoring and retraining automation: drift, alerts, retraining runs and the approvals inbox.</summary>
public sealed partial class GureumClient
{
    /// <summary>The nodes of the cluster (one without cluster mode) with their capabilities and load (admin key).</summary>
    public Task<IReadOnlyList<ClusterNode>> ListNodesAsync(CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<ClusterNode>>(HttpMethod.Get, "v1/nodes", null, ct);

    /// <summary>Input drift of an AutoML endpoint over a window (15m, 1h, 6h, 1d, 7d, 30d) against its training data.</summary>
    public Task<DriftReport> GetDriftAsync(string project, string endpoint, string window = "1h", CancellationToken ct = default) =>
        SendAsync<DriftReport>(HttpMethod.Get, EndpointPath(project, endpoint) + "/drift" + Query(("window", window)), null, ct);

    /// <summary>
    /// The live metric from the true labels sent back for sampled predictions over a window (15m … 30d), beside the model
    /// version's test metric: accuracy and AUC for binary models, accuracy for multiclass, RMSE for regression.
    /// </summary>
    public Task<LiveMetrics> GetLiveMetricsAsync(string project, string endpoint, string window = "1d", CancellationToken ct = default) =>
        SendAsync<LiveMetrics>(HttpMethod.Get, EndpointPath(project, endpoint) + "/feedback" + Query(("window", window)), null, ct);

    /// <summary>True labels of earlier predictions, by the <c>requestId</c> each answer carries (keys need <c>predict</c>).</summary>
    public Task<FeedbackAccepted> SendFeedbackAsync(string project, string endpoint, IReadOnlyList<FeedbackItem> feedback, CancellationToken ct = default) =>
        SendAsync<FeedbackAccepted>(HttpMethod.Post, EndpointPath(project, endpoint) + "/feedback", new { feedback }, ct);

    /// <summary>Alerts raised on an endpoint, newest first.</summary>
    public Task<Page<AlertEvent>> ListAlertsAsync(string project, string endpoint, CancellationToken ct = default) =>
        SendAsync<Page<AlertEvent>>(HttpMethod.Get, EndpointPath(project, endpoint) + "/alerts", null, ct);

    /// <summary>Retraining runs waiting for a decision, with their evidence.</summary>
    public Task<IReadOnlyList<RetrainingRun>> ListApprovalsAsync(string project, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<RetrainingRun>>(HttpMethod.Get, ProjectPath(project, "approvals"), null, ct);

    /// <summary>A retraining run with every step it took.</summary>
    public Task<RetrainingRun> GetRetrainingRunAsync(string project, string id, CancellationToken ct = default) =>
        SendAsync<RetrainingRun>(HttpMethod.Get, ProjectPath(project, "retraining-runs/" + Uri.EscapeDataString(id)), null, ct);

    /// <summary>Approves (the challenger goes on to canary and promotion) or rejects a pending run (keys need <c>project:write</c>).</summary>
    public Task<RetrainingRun> DecideAsync(string project, string id, bool approve, string? comment, CancellationToken ct = default) =>
        SendAsync<RetrainingRun>(HttpMethod.Post, ProjectPath(project, $"approvals/{Uri.EscapeDataString(id)}/{(approve ? "approve" : "reject")}"), new { comment }, ct);
}

/// <summary>The true outcome of row <see cref="Row"/> of the prediction <see cref="RequestId"/>: a class, a boolean or a number.</summary>
public sealed record FeedbackItem(string RequestId, int Row, JsonElement Label);

public sealed record FeedbackAccepted(int Accepted);

/// <summary>A metric over the window's matched feedback (<see cref="Live"/>) and on the held-out test rows (<see cref="Test"/>); null where unknown.</summary>
public sealed record LiveMetric(string Name, double? Live, double? Test, double? Delta);

/// <summary><see cref="Matched"/>: feedback paired with a sampled prediction of the window; <see cref="Unmatched"/>: feedback without one.</summary>
public sealed record LiveMetrics(string Endpoint, DateTimeOffset From, DateTimeOffset To, string Task, long Matched, long Unmatched, IReadOnlyList<LiveMetric> Metrics);

public sealed record DriftBin(string Label, double? Start, double? End, double Baseline, double Live);

public sealed record FeatureDrift(
    string Name, string Type, string Severity, double Psi, double? Ks, double? ChiSquare, double? UnseenShare,
    double MissingBaseline, double MissingLive, long LiveValues, IReadOnlyList<DriftBin> Bins);

public sealed record DriftReport(
    string Endpoint, string Model, int Version, string DatasetVersion, DateTimeOffset From, DateTimeOffset To, long BaselineRows, long LiveRows,
    long SampledRequests, IReadOnlyList<FeatureDrift> Features);

public sealed record AlertEvent(string Id, string RuleId, string Kind, DateTimeOffset At, double Value, double Threshold, string Message, JsonElement Evidence,
    string Delivery, string? DeliveryError);

public sealed record RetrainingEvent(DateTimeOffset At, string Step, string Outcome, string Message, JsonElement Data);

public sealed record RetrainingRun(
    string Id, string Endpoint, string Trigger, JsonElement TriggerDetail, string Status, string? Reason, string Model, int ChampionVersion,
    string? ChallengerTrainingJob, int? ChallengerVersion, JsonElement? Evidence, string? DecidedBy, string? DecisionComment, DateTimeOffset? DecidedAt,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<RetrainingEvent>? Events);

public sealed record GpuInfo(string Model, long MemoryBytes);

public sealed record NodeLoad(int RunningJobs, int LoadedModels, double CpuPercent, long MemoryUsedBytes);

public sealed record ClusterNode(
    string Name, bool Alive, string? Url, int Cores, long MemoryBytes, IReadOnlyList<GpuInfo> Gpus, IReadOnlyDictionary<string, string> Labels,
    NodeLoad Load, DateTimeOffset StartedAt, DateTimeOffset LastSeenAt);
