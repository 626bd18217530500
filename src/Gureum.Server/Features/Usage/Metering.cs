using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gureum.Server.Features.Nodes;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Usage;

/// <summary>
/// What every billable call goes through: the key's rate limit before any work, a quota reservation once the units
/// are known, then the usage written durably before the answer. Projects with no quotas and keys with no rate limit
/// pay one dictionary lookup for each.
/// </summary>
public sealed class Metering(UsageMeter meter, MeteringOptions options, IGrainFactory grains, GureumDbFactory dbFactory, LiveNodes liveNodes, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (ProjectLimits Limits, DateTimeOffset Until)> _limits = new();
    private readonly TokenBuckets<Bucket> _buckets = new(clock);

    private sealed record ProjectLimits(Quota[] Quotas, RateLimitRule[] RateLimits);

    /// <summary>One token bucket: a key, the service (or pattern) the rule covers, and the rule's numbers.</summary>
    private readonly record struct Bucket(string KeyId, string Service, double RequestsPerSecond, int Burst);

    /// <summary>The id usage is counted under: a retry with the same Idempotency-Key on a route that replays answers is
    /// the same request; anything else is counted by the server's own request id.</summary>
    public static string RequestIdOf(HttpContext http, string keyId)
    {
        var key = http.Request.Headers[IdempotencyFilter.Header].ToString();
        if (key.Length == 0 || http.GetEndpoint()?.Metadata.GetMetadata<IdempotentRoute>() is null) return http.TraceIdentifier;
        return "idem:" + keyId + ":" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];
    }

    /// <summary>
    /// Refuses with 429 and a whole-second Retry-After when the key's bucket for this service is empty. In a cluster
    /// each of the <paramref name="nodes"/> that take these calls (default: every live node) grants an equal share of
    /// the rule's rate and burst, so the cluster as a whole grants the rule behind a round-robin balancer.
    /// </summary>
    public async ValueTask CheckRateAsync(string projectId, string keyId, string service, CancellationToken ct, int? nodes = null)
    {
        if (!options.Enabled) return;
        var rules = (await LimitsAsync(projectId, ct)).RateLimits;
        if (rules.Length == 0) return;
        var rule = rules.Where(r => (r.KeyId is null || r.KeyId == keyId) && ServicePattern.Covers(r.Service, service))
            .OrderByDescending(r => r.KeyId is null ? 0 : 1).ThenByDescending(r => ServicePattern.Specificity(r.Service))
            .FirstOrDefault();
        if (rule is null) return;
        var share = Math.Max(1, nodes ?? liveNodes.Count);
        var (rate, burst) = (rule.RequestsPerSecond / share, Math.Max(1, (int)Math.Ceiling((double)rule.Burst / share)));
        var wait = _buckets.TryTake(new Bucket(keyId, rule.Service == service ? service : rule.Service, rate, burst), rate, burst);
        if (wait == TimeSpan.Zero) return;
        var seconds = (int)Math.Max(1, Math.Ceiling(wait.TotalSeconds));
        throw new GureumException(ProblemCode.RateLimited,
            $"This API key may make {Format(rule.RequestsPerSecond)} requests per second to '{rule.Service}' (bursts of {rule.Burst}); retry after {seconds} s.")
        {
            RetryAfterSeconds = seconds,
            Extensions = new Dictionary<string, object?> { ["service"] = rule.Service, ["requestsPerSecond"] = rule.RequestsPerSecond, ["burst"] = rule.Burst },
        };
    }

    /// <summary>
    /// Holds <paramref name="quantity"/> units against the project's and key's quotas (429 when one would be passed).
    /// Complete the charge after the work to write the usage; disposing it uncompleted releases the units.
    /// </summary>
    public async ValueTask<UsageCharge> ReserveAsync(string projectId, string keyId, string service, string meter, double quantity, string requestId,
        CancellationToken ct, bool coalesce = false)
    {
        var quotas = options.Enabled ? (await LimitsAsync(projectId, ct)).Quotas : [];
        long? reservation = null;
        if (quotas.Any(q => q.Applies(keyId, service, meter)))
        {
            var decision = await grains.GetGrain<IUsageLedgerGrain>(projectId).Reserve(keyId, service, meter, quantity);
            if (!decision.Allowed) throw QuotaExceeded(decision, meter, quantity);
            reservation = decision.ReservationId;
        }
        return new UsageCharge(this, projectId, keyId, service, meter, quantity, requestId, reservation, coalesce);
    }

    /// <summary>
    /// Refuses with 429 when <paramref name="quantity"/> more units would pass a quota, holding nothing: for work
    /// accepted now and counted when it ends (asynchronous operations; training, asked with 0 until its quota is full).
    /// </summary>
    public async Task CheckQuotaAsync(string projectId, string keyId, string service, string meter, double quantity, string requestId, CancellationToken ct)
    {
        await using var held = await ReserveAsync(projectId, keyId, service, meter, quantity, requestId, ct);
    }

    /// <summary>Writes usage that needs no quota check (e.g. work accepted earlier, finished now).</summary>
    public Task RecordAsync(string projectId, string keyId, string service, string meterName, double quantity, string requestId, DateTimeOffset? at = null) =>
        meter.RecordAsync(projectId, keyId, service, meterName, quantity, requestId, at);

    internal async Task CompleteAsync(UsageCharge charge, double quantity)
    {
        await meter.RecordAsync(charge.ProjectId, charge.KeyId, charge.Service, charge.Meter, quantity, charge.RequestId, coalesce: charge.Coalesce);
        // A replayed request id is counted here too; the database counts it once, and the ledger reloads it from there.
        if (charge.Reservation is { } id) await grains.GetGrain<IUsageLedgerGrain>(charge.ProjectId).Settle(id, quantity);
    }

    internal Task ReleaseAsync(UsageCharge charge) =>
        charge.Reservation is { } id ? grains.GetGrain<IUsageLedgerGrain>(charge.ProjectId).Settle(id, 0) : Task.CompletedTask;

    /// <summary>Quotas or rate limits were changed: this node reads them again now, other nodes within seconds.</summary>
    public async Task ChangedAsync(string projectId)
    {
        _limits.TryRemove(projectId, out _);
        await grains.GetGrain<IUsageLedgerGrain>(projectId).Reload();
    }

    private async ValueTask<ProjectLimits> LimitsAsync(string projectId, CancellationToken ct)
    {
        if (_limits.TryGetValue(projectId, out var cached) && cached.Until > clock.GetUtcNow()) return cached.Limits;
        await using var db = dbFactory.Create();
        var limits = new ProjectLimits(
            await db.Set<Quota>().AsNoTracking().Where(q => q.ProjectId == projectId).ToArrayAsync(ct),
            await db.Set<RateLimitRule>().AsNoTracking().Where(r => r.ProjectId == projectId).ToArrayAsync(ct));
        _limits[projectId] = (limits, clock.GetUtcNow() + CacheFor);
        return limits;
    }

    private static GureumException QuotaExceeded(QuotaDecision d, string meter, double quantity)
    {
        var who = d.KeyId is null ? "this project" : $"API key {d.KeyId}";
        var what = d.Meter == Quota.Spend ? $"a spend of {Format(d.Limit)} per month on '{d.Service}'" : $"{Format(d.Limit)} {d.Meter} per month on '{d.Service}'";
        var used = d.Meter == Quota.Spend ? $"{Format(d.Used)} is spent" : $"{Format(d.Used)} are used";
        var seconds = (int)Math.Ceiling((d.ResetsAt - DateTimeOffset.UtcNow).TotalSeconds);
        return new GureumException(ProblemCode.QuotaExceeded,
            $"The quota of {who} allows {what}; {used} and this request needs {Format(quantity)} {meter} more. It resets at {d.ResetsAt:yyyy-MM-dd HH:mm} UTC; an operator can raise it (PUT /v1/projects/{{project}}/quotas).")
        {
            RetryAfterSeconds = Math.Max(1, seconds),
            Extensions = new Dictionary<string, object?>
            {
                ["quota"] = new { keyId = d.KeyId, service = d.Service, meter = d.Meter, limit = d.Limit },
                ["used"] = d.Used, ["requested"] = quantity, ["resetsAt"] = d.ResetsAt,
            },
        };
    }

    private static string Format(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>Units held for one request: <see cref="CompleteAsync"/> writes them as usage; disposing without it releases them.</summary>
public sealed class UsageCharge(Metering metering, string projectId, string keyId, string service, string meter, double quantity, string requestId, long? reservation,
    bool coalesce)
    : IAsyncDisposable
{
    private bool _done;
    public string ProjectId => projectId;
    public string KeyId => keyId;
    public string Service => service;
    public string Meter => meter;
    public string RequestId => requestId;
    internal long? Reservation => reservation;
    internal bool Coalesce => coalesce;

    /// <summary>Writes the usage durably (the reserved quantity unless told otherwise); the answer may go out after this.</summary>
    public async Task CompleteAsync(double? actual = null)
    {
        _done = true;
        await metering.CompleteAsync(this, actual ?? quantity);
    }

    public async ValueTask DisposeAsync()
    {
        if (_done) return;
        _done = true;
        await metering.ReleaseAsync(this);
    }
}
