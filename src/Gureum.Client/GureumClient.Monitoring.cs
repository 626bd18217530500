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

    /// <summary>The endpoint's alert rules.</summary>
    public Task<IReadOnlyList<AlertRule>> ListAlertRulesAsync(string project, string endpoint, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<AlertRule>>(HttpMethod.Get, EndpointPath(project, endpoint) + "/alert-rules", null, ct);

    /// <summary>Adds an alert rule (keys need <c>project:write</c>); the server fills the kind's defaults.</summary>
    public Task<AlertRule> CreateAlertRuleAsync(string project, string endpoint, AlertRuleRequest rule, CancellationToken ct = default) =>
        SendAsync<AlertRule>(HttpMethod.Post, EndpointPath(project, endpoint) + "/alert-rules", rule, ct);

    public Task DeleteAlertRuleAsync(string project, string endpoint, string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, EndpointPath(project, endpoint) + "/alert-rules/" + Uri.EscapeDataString(id), null, ct);

    /// <summary>The endpoint's retraining policy (404 when it has none).</summary>
    public Task<RetrainingPolicy> GetRetrainingPolicyAsync(string project, string endpoint, CancellationToken ct = default) =>
        SendAsync<RetrainingPolicy>(HttpMethod.Get, EndpointPath(project, endpoint) + "/retraining-policy", null, ct);

    /// <summary>Sets (creates or replaces) the endpoint's retraining policy.</summary>
    public Task<RetrainingPolicy> SetRetrainingPolicyAsync(string project, string endpoint, RetrainingPolicySpec spec, CancellationToken ct = default) =>
        SendAsync<RetrainingPolicy>(HttpMethod.Put, EndpointPath(project, endpoint) + "/retraining-policy", spec, ct);

    /// <summary>Removes the policy; its runs and their audit trail stay.</summary>
    public Task DeleteRetrainingPolicyAsync(string project, string endpoint, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, EndpointPath(project, endpoint) + "/retraining-policy", null, ct);

    /// <summary>Starts a retraining run now (a manual trigger).</summary>
    public Task<RetrainingRun> RunRetrainingNowAsync(string project, string endpoint, CancellationToken ct = default) =>
        SendAsync<RetrainingRun>(HttpMethod.Post, EndpointPath(project, endpoint) + "/retraining-policy/run", null, ct);

    /// <summary>The endpoint's retraining runs, newest first (without their events: <see cref="GetRetrainingRunAsync"/> has them).</summary>
    public Task<Page<RetrainingRun>> ListRetrainingRunsAsync(string project, string endpoint, CancellationToken ct = default) =>
        SendAsync<Page<RetrainingRun>>(HttpMethod.Get, EndpointPath(project, endpoint) + "/retraining-runs", null, ct);

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

/// <summary>
/// A new alert rule of <see cref="Kind"/> drift, metric-drop, error-rate or latency-p99. Drift takes <see cref="Severity"/>
/// (moderate or high); the others take <see cref="Threshold"/> (a drop, a share, or milliseconds for latency-p99).
/// </summary>
/// <param name="Window">15m, 1h, 6h, 1d, 7d or 30d; default 1h.</param>
/// <param name="MinimumCount">Live rows, matched feedback or requests needed before the rule can fire.</param>
public sealed record AlertRuleRequest(
    string Kind, double? Threshold = null, string? Severity = null, string? Window = null, double? CooldownMinutes = null, long? MinimumCount = null,
    string? WebhookUrl = null);

public sealed record AlertRule(
    string Id, string Kind, double Threshold, string? Severity, string Window, double CooldownMinutes, long MinimumCount, string? WebhookUrl, bool Enabled,
    DateTimeOffset? LastFiredAt, DateTimeOffset CreatedAt);

/// <summary>What starts a run: a cron schedule (UTC), alerts of these kinds, a new version of the dataset.</summary>
public sealed record RetrainingTriggers(string? Schedule = null, IReadOnlyList<string>? Alerts = null, bool NewDatasetVersion = false);

/// <summary>Overrides of the champion's training request; what is left out is reused.</summary>
public sealed record TrainingOverrides(
    int? BudgetSeconds = null, int? Seed = null, string? Metric = null, IReadOnlyList<string>? IgnoreColumns = null,
    string? Trainer = null, IReadOnlyDictionary<string, double>? Hyperparameters = null, double? TestFraction = null);

/// <summary>The challenger must beat the champion on <see cref="Metric"/> (default: the training metric) by more than <see cref="Margin"/>.</summary>
public sealed record PromotionRule(string? Metric = null, double Margin = 0);

public sealed record SmokeTest(int Samples = 20);

/// <summary><see cref="Share"/> of traffic for <see cref="Minutes"/> before full promotion; rolled back over <see cref="MaxErrorRate"/>.</summary>
public sealed record CanaryRule(double Share = 0.1, double Minutes = 0, double MaxErrorRate = 0.05);

/// <summary>A retraining policy. <see cref="Data"/>: latest (the dataset's newest version) or appends; <see cref="Canary"/> null promotes in one step.</summary>
public sealed record RetrainingPolicySpec(
    RetrainingTriggers? Triggers = null, string? Dataset = null, string Data = "latest", TrainingOverrides? Training = null, PromotionRule? Promotion = null,
    SmokeTest? SmokeTest = null, bool RequireApproval = true, CanaryRule? Canary = null, string? WebhookUrl = null, bool Enabled = true);

public sealed record RetrainingPolicy(
    string Id, string Endpoint, RetrainingPolicySpec Spec, string Model, int ChampionVersion, DateTimeOffset? NextScheduledAt, int? LastDatasetVersion,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

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
