using System.Text.Json;
using Cronos;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Features.Automation;

/// <summary>What starts a retraining run: a cron schedule (UTC), alerts of these kinds on the endpoint, a new version of the dataset.</summary>
public sealed record RetrainingTriggers(string? Schedule = null, IReadOnlyList<string>? Alerts = null, bool NewDatasetVersion = false);

/// <summary>Overrides of the champion's training request; what is left out is reused from the champion's training job.</summary>
public sealed record TrainingOverrides(
    int? BudgetSeconds = null, int? Seed = null, string? Metric = null, IReadOnlyList<string>? IgnoreColumns = null,
    string? Trainer = null, Dictionary<string, double>? Hyperparameters = null, double? TestFraction = null);

/// <summary>The challenger must beat the champion on <see cref="Metric"/> (default: the training metric) by more than <see cref="Margin"/>.</summary>
public sealed record PromotionRule(string? Metric = null, double Margin = 0);

/// <summary>The latest <see cref="Samples"/> successful requests of the endpoint are replayed against the challenger; each must answer.</summary>
public sealed record SmokeTest(int Samples = 20);

/// <summary>After approval (or at once), the challenger gets <see cref="Share"/> of traffic for <see cref="Minutes"/> before full promotion;
/// a canary whose error rate exceeds <see cref="MaxErrorRate"/> is rolled back.</summary>
public sealed record CanaryRule(double Share = 0.1, double Minutes = 0, double MaxErrorRate = 0.05);

/// <summary>
/// A retraining policy. <see cref="Dataset"/>: a dataset id or name (default: the one the champion was trained on);
/// <see cref="Data"/>: <c>latest</c> (its newest version) or <c>appends</c> (rows appended since are sealed into a new
/// version first). <see cref="Canary"/> null promotes in one step. <see cref="WebhookUrl"/> hears every outcome.
/// </summary>
public sealed record RetrainingPolicySpec(
    RetrainingTriggers? Triggers = null,
    string? Dataset = null,
    string Data = "latest",
    TrainingOverrides? Training = null,
    PromotionRule? Promotion = null,
    SmokeTest? SmokeTest = null,
    bool RequireApproval = true,
    CanaryRule? Canary = null,
    string? WebhookUrl = null,
    bool Enabled = true)
{
    public RetrainingTriggers TriggersOrDefault => Triggers ?? new RetrainingTriggers();
    public PromotionRule PromotionOrDefault => Promotion ?? new PromotionRule();
    public SmokeTest SmokeTestOrDefault => SmokeTest ?? new SmokeTest();

    public string ToJson() => JsonSerializer.Serialize(this, JsonDefaults.Web);

    public static RetrainingPolicySpec FromJson(string json) => JsonSerializer.Deserialize<RetrainingPolicySpec>(json, JsonDefaults.Web)!;

    /// <summary>The next time the schedule fires after <paramref name="after"/>, or null without a schedule.</summary>
    public DateTimeOffset? NextOccurrence(DateTimeOffset after) =>
        TriggersOrDefault.Schedule is { } cron ? CronExpression.Parse(cron).GetNextOccurrence(after, TimeZoneInfo.Utc) : null;

    public void Validate(OutboundUrls urls)
    {
        var triggers = TriggersOrDefault;
        if (triggers.Schedule is { } schedule)
        {
            try
            {
                var cron = CronExpression.Parse(schedule);
                var first = cron.GetNextOccurrence(DateTimeOffset.UtcNow, TimeZoneInfo.Utc);
                var second = first is null ? null : cron.GetNextOccurrence(first.Value, TimeZoneInfo.Utc);
                if (second is not null && second - first < TimeSpan.FromMinutes(1))
                {
                    throw GureumException.Invalid("triggers.schedule", "'triggers.schedule' may fire at most once a minute.");
                }
            }
            catch (CronFormatException e)
            {
                throw GureumException.Invalid("triggers.schedule", $"'triggers.schedule' is not a cron expression (minute hour day month weekday, UTC): {e.Message}");
            }
        }
        foreach (var kind in triggers.Alerts ?? [])
        {
            if (!AlertKinds.All.Contains(kind))
            {
                throw GureumException.Invalid("triggers.alerts", $"'triggers.alerts' names '{kind}'; alert kinds are {string.Join(", ", AlertKinds.All)}.");
            }
        }
        if (Data is not ("latest" or "appends"))
        {
            throw GureumException.Invalid("data", "'data' must be 'latest' (the dataset's newest version) or 'appends' (rows appended since are sealed into a new version first).");
        }
        if (Training?.BudgetSeconds is < 1 or > 24 * 3600) throw GureumException.Invalid("training.budgetSeconds", "'training.budgetSeconds' must be from 1 to 86400.");
        if (Promotion is { } p && (!double.IsFinite(p.Margin) || p.Margin < 0 || p.Margin > 1_000_000))
        {
            throw GureumException.Invalid("promotion.margin", "'promotion.margin' must be a number from 0 up (how much better the challenger must be).");
        }
        if (SmokeTest is { Samples: < 0 or > 1000 }) throw GureumException.Invalid("smokeTest.samples", "'smokeTest.samples' must be from 0 to 1000.");
        if (Canary is { } c)
        {
            if (!double.IsFinite(c.Share) || c.Share is <= 0 or >= 1) throw GureumException.Invalid("canary.share", "'canary.share' must be between 0 and 1 (e.g. 0.1 for 10% of traffic).");
            if (!double.IsFinite(c.Minutes) || c.Minutes is < 0 or > 7 * 24 * 60) throw GureumException.Invalid("canary.minutes", "'canary.minutes' must be from 0 to 10080 (a week).");
            if (!double.IsFinite(c.MaxErrorRate) || c.MaxErrorRate is < 0 or > 1) throw GureumException.Invalid("canary.maxErrorRate", "'canary.maxErrorRate' must be from 0 to 1.");
        }
        if (WebhookUrl is not null) urls.Validate("webhookUrl", WebhookUrl);
    }
}
