using Gureum.Server.Features.Monitoring;
using Gureum.Server.Features.Serving;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Automation;

/// <summary><c>Gureum:Automation</c>: how often alert rules and retraining triggers are checked.</summary>
public sealed class AutomationOptions
{
    public double SweepSeconds { get; set; } = 30;
}

/// <summary>
/// Every sweep, on every node: checks alert rules (an alert is raised by the node that claims the rule's cooldown with a
/// conditional update), delivers their webhooks, and turns alerts, due schedules and new dataset versions into
/// retraining runs. Schedules are cursors in the policy row rather than Orleans reminders: they live in the same
/// database on SQLite and PostgreSQL, and a claimed cursor plus the run's unique trigger key make each fire once.
/// </summary>
public sealed partial class AutomationHost(
    GureumDbFactory dbFactory, RetrainingRuns runs, WebhookSender webhooks, DriftOptions driftOptions, AutomationOptions options,
    IHostApplicationLifetime lifetime, TimeProvider clock, ILogger<AutomationHost> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAfterStartAsync(lifetime, TimeSpan.FromSeconds(Math.Max(0.2, options.SweepSeconds)), clock, SweepAsync,
            e => LogSweepFailed(logger, e), stoppingToken);

    /// <summary>One pass over every rule and policy (public so tests can run one without waiting for the timer).</summary>
    public async Task SweepAsync(CancellationToken ct)
    {
        await CheckAlertsAsync(ct);
        await CheckPoliciesAsync(ct);
        await runs.ResumeApprovedAsync(ct);
    }

    private async Task CheckAlertsAsync(CancellationToken ct)
    {
        List<AlertRule> rules;
        await using (var db = dbFactory.Create())
        {
            rules = await db.Set<AlertRule>().AsNoTracking().Where(r => r.Enabled).ToListAsync(ct);
        }
        foreach (var rule in rules)
        {
            var now = clock.GetUtcNow();
            if (rule.LastFiredAt is { } last && last + rule.CooldownSeconds > now.ToUnixTimeSeconds()) continue;
            await using var db = dbFactory.Create();
            var endpoint = await db.Set<InferenceEndpoint>().AsNoTracking().FirstOrDefaultAsync(e => e.Id == rule.EndpointId, ct);
            if (endpoint is null) continue;
            var check = await Alerts.CheckAsync(db, rule, endpoint, driftOptions, now, ct);
            if (!check.Fired) continue;
            var claimed = await db.Set<AlertRule>().Where(r => r.Id == rule.Id && r.LastFiredAt == rule.LastFiredAt)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.LastFiredAt, now.ToUnixTimeSeconds()), ct);
            if (claimed == 0) continue; // another node raised it
            var alert = new AlertEvent
            {
                Id = Ids.New(), ProjectId = rule.ProjectId, EndpointId = rule.EndpointId, RuleId = rule.Id, Kind = rule.Kind, At = now.ToUnixTimeSeconds(),
                Value = check.Value, Threshold = rule.Threshold, Message = check.Message.Length > 2000 ? check.Message[..2000] : check.Message,
                Evidence = System.Text.Json.JsonSerializer.Serialize(check.Evidence, JsonDefaults.Web),
            };
            db.Add(alert);
            await db.SaveChangesAsync(ct);
            LogAlert(logger, rule.Kind, endpoint.Name, alert.Message);
            if (rule.WebhookUrl is { } url)
            {
                var error = await webhooks.SendAsync(url, "alert." + rule.Kind, new
                {
                    alertId = alert.Id, endpoint = endpoint.Name, projectId = rule.ProjectId, kind = rule.Kind, at = now, value = alert.Value, threshold = rule.Threshold,
                    message = alert.Message, evidence = check.Evidence,
                }, ct);
                alert.Delivery = error is null ? "delivered" : "failed";
                alert.DeliveryError = error is { Length: > 1000 } ? error[..1000] : error;
                await db.SaveChangesAsync(ct);
            }
            await TriggerOnAlertAsync(db, endpoint, alert, ct);
        }
    }

    private async Task TriggerOnAlertAsync(GureumDb db, InferenceEndpoint endpoint, AlertEvent alert, CancellationToken ct)
    {
        var policy = await db.Set<RetrainingPolicy>().AsNoTracking().FirstOrDefaultAsync(p => p.EndpointId == endpoint.Id && p.Enabled, ct);
        if (policy is null || !(RetrainingPolicySpec.FromJson(policy.Spec).TriggersOrDefault.Alerts ?? []).Contains(alert.Kind)) return;
        await StartAsync(db, policy, endpoint, "alert", "alert:" + alert.Id, new { alertId = alert.Id, alert.Kind, alert.Message, alert.Value, alert.Threshold }, ct);
    }

    private async Task CheckPoliciesAsync(CancellationToken ct)
    {
        List<RetrainingPolicy> policies;
        await using (var db = dbFactory.Create())
        {
            policies = await db.Set<RetrainingPolicy>().AsNoTracking().Where(p => p.Enabled).ToListAsync(ct);
        }
        foreach (var policy in policies)
        {
            var spec = RetrainingPolicySpec.FromJson(policy.Spec);
            var now = clock.GetUtcNow();
            await using var db = dbFactory.Create();
            var endpoint = await db.Set<InferenceEndpoint>().AsNoTracking().FirstOrDefaultAsync(e => e.Id == policy.EndpointId, ct);
            if (endpoint is null) continue;
            if (policy.NextScheduledAt is { } due && due <= now.ToUnixTimeSeconds())
            {
                var next = spec.NextOccurrence(now)?.ToUnixTimeSeconds();
                var claimed = await db.Set<RetrainingPolicy>().Where(p => p.Id == policy.Id && p.NextScheduledAt == due)
                    .ExecuteUpdateAsync(s => s.SetProperty(p => p.NextScheduledAt, next), ct);
                if (claimed == 1)
                {
                    await StartAsync(db, policy, endpoint, "schedule", $"schedule:{due}", new { schedule = spec.TriggersOrDefault.Schedule, at = DateTimeOffset.FromUnixTimeSeconds(due) }, ct);
                }
            }
            if (spec.TriggersOrDefault.NewDatasetVersion)
            {
                ResolvedDeployment champion;
                try
                {
                    champion = await RetrainingEndpoints.ChampionAsync(db, endpoint, ct);
                }
                catch (Infrastructure.Problems.GureumException)
                {
                    continue;
                }
                var dataset = spec.Dataset ?? await RetrainingEndpoints.ChampionDatasetAsync(db, champion, ct);
                var latest = await LatestDatasetVersionAsync(db, policy.ProjectId, dataset, ct);
                if (latest is { } number && number > (policy.LastDatasetVersion ?? 0))
                {
                    var claimed = await db.Set<RetrainingPolicy>().Where(p => p.Id == policy.Id && p.LastDatasetVersion == policy.LastDatasetVersion)
                        .ExecuteUpdateAsync(s => s.SetProperty(p => p.LastDatasetVersion, number), ct);
                    if (claimed == 1)
                    {
                        await StartAsync(db, policy, endpoint, "dataset", $"dataset:{dataset}:{number}", new { dataset, version = number }, ct);
                    }
                }
            }
        }
    }

    private async Task StartAsync(GureumDb db, RetrainingPolicy policy, InferenceEndpoint endpoint, string trigger, string key, object detail, CancellationToken ct)
    {
        ResolvedDeployment champion;
        try
        {
            champion = await RetrainingEndpoints.ChampionAsync(db, endpoint, ct);
        }
        catch (Infrastructure.Problems.GureumException e)
        {
            LogNoChampion(logger, endpoint.Name, e.Message);
            return;
        }
        var run = await runs.StartAsync(policy, trigger, key, detail, champion.Model.Name, champion.Version.Version, ct);
        if (run is not null) LogRun(logger, trigger, endpoint.Name, run.Id, run.Status);
    }

    internal static async Task<int?> LatestDatasetVersionAsync(GureumDb db, string projectId, string dataset, CancellationToken ct) =>
        await db.DatasetVersions.AsNoTracking()
            .Where(v => v.ProjectId == projectId && db.Datasets.Any(d => d.Id == v.DatasetId && d.ProjectId == projectId && (d.Id == dataset || d.Name == dataset)))
            .MaxAsync(v => (int?)v.Number, ct);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Automation sweep failed; retrying")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Kind} on endpoint {Endpoint}: {Message}")]
    private static partial void LogAlert(ILogger logger, string kind, string endpoint, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retraining {Trigger} trigger on endpoint {Endpoint}: run {RunId} {Status}")]
    private static partial void LogRun(ILogger logger, string trigger, string endpoint, string runId, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retraining trigger on endpoint {Endpoint} ignored: {Reason}")]
    private static partial void LogNoChampion(ILogger logger, string endpoint, string reason);
}
