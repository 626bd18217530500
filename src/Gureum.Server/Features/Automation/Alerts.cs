using System.Text.Json;
using Gureum.Server.Features.Monitoring;
using Gureum.Server.Features.Serving;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Automation;

public static class AlertKinds
{
    /// <summary>A feature (or the predictions) drifted to the rule's severity.</summary>
    public const string Drift = "drift";
    /// <summary>The live metric from feedback fell below the model's test metric by more than the threshold.</summary>
    public const string MetricDrop = "metric-drop";
    /// <summary>The share of failed requests reached the threshold.</summary>
    public const string ErrorRate = "error-rate";
    /// <summary>The 99th percentile latency (ms) reached the threshold.</summary>
    public const string LatencyP99 = "latency-p99";

    public static readonly IReadOnlyList<string> All = [Drift, MetricDrop, ErrorRate, LatencyP99];
}

/// <summary>
/// An alert rule. <c>threshold</c>: for drift the severity is named instead (<c>moderate</c> or <c>high</c>, default
/// high); for metric-drop the drop in the live metric (default 0.05); for error-rate a share (default 0.05); for
/// latency-p99 milliseconds (required). <c>minimumCount</c>: live rows, matched feedback or requests needed before the
/// rule can fire (defaults 100, 50, 20, 20).
/// </summary>
public sealed record CreateAlertRuleRequest(
    string? Kind, double? Threshold = null, string? Severity = null, string? Window = null, double? CooldownMinutes = null, long? MinimumCount = null,
    string? WebhookUrl = null);

public sealed record AlertRuleResponse(
    string Id, string Kind, double Threshold, string? Severity, string Window, double CooldownMinutes, long MinimumCount, string? WebhookUrl, bool Enabled,
    DateTimeOffset? LastFiredAt, DateTimeOffset CreatedAt);

public sealed record AlertEventResponse(
    string Id, string RuleId, string Kind, DateTimeOffset At, double Value, double Threshold, string Message, JsonElement Evidence, string Delivery, string? DeliveryError);

/// <summary>What a rule saw when it was checked: whether it fired, the value measured and why.</summary>
internal sealed record AlertCheck(bool Fired, double Value, string Message, object Evidence);

/// <summary>Alert rules on endpoints, the events they raised, and how a rule is checked against the monitoring data.</summary>
public static class Alerts
{
    private static readonly string[] Severities = ["none", "moderate", "high"];

    public static RouteGroupBuilder MapAlerts(this RouteGroupBuilder endpoints)
    {
        endpoints.MapPost("/{name}/alert-rules", Create).RequireScope(Scopes.ProjectWrite).WithIdempotency()
            .WithSummary("Alert on drift severity, a live metric drop, error rate or p99 latency over a window, with a cooldown and an optional webhook")
            .WithStandardErrors();
        endpoints.MapGet("/{name}/alert-rules", List).RequireScope(Scopes.ProjectRead).WithSummary("The endpoint's alert rules").WithStandardErrors();
        endpoints.MapDelete("/{name}/alert-rules/{id}", Delete).RequireScope(Scopes.ProjectWrite).WithSummary("Delete an alert rule").WithStandardErrors();
        endpoints.MapGet("/{name}/alerts", Events).RequireScope(Scopes.ProjectRead)
            .WithSummary("Alerts raised on the endpoint, newest first, with the evidence and the webhook delivery").WithStandardErrors();
        return endpoints;
    }

    private static async Task<Created<AlertRuleResponse>> Create(ProjectScope scope, string name, CreateAlertRuleRequest request, GureumDb db, OutboundUrls urls,
        TimeProvider clock, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        var kind = request.Kind is { } k && AlertKinds.All.Contains(k) ? k
            : throw GureumException.Invalid("kind", $"'kind' must be one of {string.Join(", ", AlertKinds.All)}.");
        double threshold;
        if (kind == AlertKinds.Drift)
        {
            if (request.Threshold is not null) throw GureumException.Invalid("threshold", "A drift rule takes 'severity' (moderate or high), not 'threshold'.");
            var severity = request.Severity ?? "high";
            threshold = Array.IndexOf(Severities, severity) is var rank and >= 1 ? rank
                : throw GureumException.Invalid("severity", "'severity' must be 'moderate' or 'high'.");
        }
        else
        {
            if (request.Severity is not null) throw GureumException.Invalid("severity", "'severity' applies to drift rules only; use 'threshold'.");
            threshold = request.Threshold ?? kind switch
            {
                AlertKinds.MetricDrop or AlertKinds.ErrorRate => 0.05,
                _ => throw GureumException.Invalid("threshold", "A latency-p99 rule needs 'threshold': the latency in milliseconds."),
            };
            var max = kind == AlertKinds.LatencyP99 ? 3_600_000 : 1;
            if (!double.IsFinite(threshold) || threshold <= 0 || threshold > max)
            {
                throw GureumException.Invalid("threshold", $"'threshold' must be above 0 and at most {max} for a {kind} rule.");
            }
        }
        var window = MonitoringEndpoints.ParseWindow("window", request.Window ?? "1h");
        var cooldown = request.CooldownMinutes ?? 60;
        if (!double.IsFinite(cooldown) || cooldown < 0 || cooldown > 30 * 24 * 60) throw GureumException.Invalid("cooldownMinutes", "'cooldownMinutes' must be from 0 to 43200 (30 days).");
        var minimum = request.MinimumCount ?? kind switch { AlertKinds.Drift => 100, AlertKinds.MetricDrop => 50, _ => 20 };
        if (minimum is < 1 or > 100_000_000) throw GureumException.Invalid("minimumCount", "'minimumCount' must be from 1 to 100000000.");
        if (request.WebhookUrl is not null) urls.Validate("webhookUrl", request.WebhookUrl);
        var rule = new AlertRule
        {
            Id = Ids.New(), ProjectId = scope.ProjectId, EndpointId = endpoint.Id, Kind = kind, Threshold = threshold, WindowSeconds = (int)window.TotalSeconds,
            CooldownSeconds = (int)Math.Round(cooldown * 60), MinimumCount = minimum, WebhookUrl = request.WebhookUrl, CreatedAt = clock.GetUtcNow(),
        };
        db.Add(rule);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/v1/projects/{scope.ProjectId}/endpoints/{endpoint.Name}/alert-rules/{rule.Id}", Describe(rule));
    }

    private static async Task<Ok<List<AlertRuleResponse>>> List(ProjectScope scope, string name, GureumDb db, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        var rules = await db.Set<AlertRule>().AsNoTracking().Where(r => r.EndpointId == endpoint.Id && r.ProjectId == scope.ProjectId).OrderBy(r => r.Id).ToListAsync(ct);
        return TypedResults.Ok(rules.ConvertAll(Describe));
    }

    private static async Task<NoContent> Delete(ProjectScope scope, string name, string id, GureumDb db, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        var deleted = await db.Set<AlertRule>().Where(r => r.Id == id && r.EndpointId == endpoint.Id && r.ProjectId == scope.ProjectId).ExecuteDeleteAsync(ct);
        return deleted == 1 ? TypedResults.NoContent()
            : throw new GureumException(ProblemCode.NotFound, $"Alert rule '{id}' was not found on endpoint '{name}'. List them with GET .../alert-rules.");
    }

    private static async Task<Ok<Page<AlertEventResponse>>> Events(ProjectScope scope, string name, int? limit, string? before, GureumDb db, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        var take = Paging.Limit(limit);
        var query = db.Set<AlertEvent>().AsNoTracking().Where(e => e.EndpointId == endpoint.Id && e.ProjectId == scope.ProjectId);
        if (before is not null) query = query.Where(e => string.Compare(e.Id, before) < 0);
        var events = await query.OrderByDescending(e => e.Id).Take(take + 1).ToListAsync(ct);
        return TypedResults.Ok(Paging.From(events.ConvertAll(Describe), take, e => e.Id));
    }

    internal static AlertRuleResponse Describe(AlertRule r) => new(
        r.Id, r.Kind, r.Threshold, r.Kind == AlertKinds.Drift ? Severities[(int)r.Threshold] : null,
        MonitoringEndpoints.FormatWindow(TimeSpan.FromSeconds(r.WindowSeconds)), r.CooldownSeconds / 60.0, r.MinimumCount, r.WebhookUrl, r.Enabled,
        r.LastFiredAt is { } at ? DateTimeOffset.FromUnixTimeSeconds(at) : null, r.CreatedAt);

    internal static AlertEventResponse Describe(AlertEvent e) => new(
        e.Id, e.RuleId, e.Kind, DateTimeOffset.FromUnixTimeSeconds(e.At), e.Value, e.Threshold, e.Message, JsonDocument.Parse(e.Evidence).RootElement.Clone(),
        e.Delivery, e.DeliveryError);

    /// <summary>Checks one rule over its window ending now.</summary>
    internal static async Task<AlertCheck> CheckAsync(GureumDb db, AlertRule rule, InferenceEndpoint endpoint, DriftOptions driftOptions, DateTimeOffset now, CancellationToken ct)
    {
        var start = now - TimeSpan.FromSeconds(rule.WindowSeconds);
        switch (rule.Kind)
        {
            case AlertKinds.Drift:
            {
                DriftReport report;
                try
                {
                    report = await Monitoring.Drift.ComputeAsync(db, endpoint, start, now, driftOptions, ct);
                }
                catch (GureumException e)
                {
                    return new AlertCheck(false, 0, e.Message, new { });
                }
                var drifted = report.Features.Where(f => Array.IndexOf(Severities, f.Severity) >= rule.Threshold).ToList();
                if (report.LiveRows < rule.MinimumCount)
                {
                    return new AlertCheck(false, drifted.Count, $"only {report.LiveRows} sampled live rows (needs {rule.MinimumCount})", new { report.LiveRows });
                }
                var evidence = new
                {
                    report.Model, report.Version, report.LiveRows, report.BaselineRows,
                    features = drifted.Select(f => new { f.Name, f.Severity, f.Psi, f.Ks, f.UnseenShare, f.MissingBaseline, f.MissingLive }),
                };
                return new AlertCheck(drifted.Count > 0, drifted.Count,
                    drifted.Count == 0 ? "no drift" : $"{drifted.Count} feature(s) drifted to {Severities[(int)rule.Threshold]} or worse: {string.Join(", ", drifted.Select(f => $"{f.Name} (PSI {f.Psi:0.###})"))}",
                    evidence);
            }
            case AlertKinds.MetricDrop:
            {
                var live = await Feedback.ComputeAsync(db, endpoint, start, now, ct);
                var metric = live.Metrics.FirstOrDefault(m => m.Live is not null && m.Test is not null);
                if (metric is null || live.Matched < rule.MinimumCount)
                {
                    return new AlertCheck(false, 0, $"{live.Matched} predictions with feedback (needs {rule.MinimumCount})", new { live.Matched });
                }
                var drop = metric.Name == "rmse" ? metric.Live!.Value - metric.Test!.Value : metric.Test!.Value - metric.Live!.Value;
                return new AlertCheck(drop >= rule.Threshold, Math.Round(drop, 6),
                    $"live {metric.Name} {metric.Live:0.####} against {metric.Test:0.####} in test ({(drop >= 0 ? "worse" : "better")} by {Math.Abs(drop):0.####})",
                    new { metric = metric.Name, metric.Live, metric.Test, live.Matched });
            }
            default:
            {
                var rows = await db.Set<EndpointUsage>().AsNoTracking()
                    .Where(u => u.EndpointId == endpoint.Id && u.ProjectId == endpoint.ProjectId && !u.Shadow && u.From >= start && u.From < now)
                    .Select(u => new { u.Requests, u.Errors, u.Histogram }).ToListAsync(ct);
                var requests = rows.Sum(r => r.Requests);
                if (requests < rule.MinimumCount)
                {
                    return new AlertCheck(false, 0, $"{requests} requests in the window (needs {rule.MinimumCount})", new { requests });
                }
                if (rule.Kind == AlertKinds.ErrorRate)
                {
                    var errors = rows.Sum(r => r.Errors);
                    var rate = (double)errors / requests;
                    return new AlertCheck(rate >= rule.Threshold, Math.Round(rate, 6), $"{errors} of {requests} requests failed ({rate:P1})", new { requests, errors });
                }
                var histogram = MonitoringEndpoints.SumHistograms(rows.Select(r => r.Histogram));
                var p99 = LatencyHistogram.Quantile(histogram, 0.99) ?? 0;
                return new AlertCheck(p99 >= rule.Threshold, p99, $"p99 latency {p99:0.##} ms over {requests} requests", new { requests, p99Ms = p99 });
            }
        }
    }
}
