using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Usage;

/// <summary>The answer to a reservation: allowed (with its id), or which quota refused and how full it is.</summary>
[GenerateSerializer, Alias("gureum.usage.QuotaDecision")]
public sealed class QuotaDecision
{
    [Id(0)] public bool Allowed { get; init; }
    [Id(1)] public long ReservationId { get; init; }
    [Id(2)] public string? KeyId { get; init; }
    [Id(3)] public string? Service { get; init; }
    [Id(4)] public string? Meter { get; init; }
    [Id(5)] public double Limit { get; init; }
    [Id(6)] public double Used { get; init; }
    [Id(7)] public DateTimeOffset ResetsAt { get; init; }
}

[Alias("gureum.usage.IUsageLedgerGrain")]
public interface IUsageLedgerGrain : IGrainWithStringKey
{
    /// <summary>Holds <paramref name="quantity"/> units against every quota that covers them, or refuses without holding any.</summary>
    [Alias("reserve")]
    Task<QuotaDecision> Reserve(string keyId, string service, string meter, double quantity);

    /// <summary>Turns a reservation into usage of <paramref name="quantity"/> units (0 releases it: failed, or a replay).</summary>
    [Alias("settle")]
    Task Settle(long reservationId, double quantity);

    /// <summary>Quotas were changed: read them again.</summary>
    [Alias("reload")]
    Task Reload();
}

/// <summary>
/// One activation per project in the whole cluster holds the month's usage and the reservations of requests in
/// flight, so concurrent requests (on any node) can never together pass a quota: each reserves before its work and
/// is refused once reserved plus used would exceed the limit. Seeded from the month aggregates when activated.
/// </summary>
internal sealed class UsageLedgerGrain(GureumDbFactory dbFactory, PriceBook prices, UsageMeter meter, TimeProvider clock) : Grain, IUsageLedgerGrain
{
    /// <summary>A request that dies between reserve and settle (its node lost) stops holding units after this.</summary>
    private static readonly TimeSpan ReservationLifetime = TimeSpan.FromMinutes(10);

    private readonly Dictionary<(string Key, string Service, string Meter), double> _used = [];
    private readonly Dictionary<long, (string Key, string Service, string Meter, double Quantity, DateTimeOffset Expires)> _reserved = [];
    private List<Quota> _quotas = [];
    private DateTimeOffset _month;
    private long _nextReservation;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await LoadQuotasAsync();
        // Usage of this node still in its journal counts too.
        await meter.FlushAsync(cancellationToken);
        await LoadMonthAsync(UsagePeriods.Start(clock.GetUtcNow(), UsagePeriods.Month));
    }

    public async Task<QuotaDecision> Reserve(string keyId, string service, string meter, double quantity)
    {
        var now = clock.GetUtcNow();
        var month = UsagePeriods.Start(now, UsagePeriods.Month);
        if (month != _month) await LoadMonthAsync(month);
        foreach (var expired in _reserved.Where(r => r.Value.Expires < now).Select(r => r.Key).ToList()) _reserved.Remove(expired);

        var resetsAt = UsagePeriods.Next(_month, UsagePeriods.Month);
        var priceList = await prices.GetAsync();
        foreach (var quota in _quotas.Where(q => q.Applies(keyId, service, meter)))
        {
            var held = Held(quota).ToList();
            var used = quota.Fill(priceList, held);
            var asked = quota.Fill(priceList, held.Append((service, meter, quantity))) - used;
            // A zero-unit ask (e.g. a training job whose cost is known only at its end) is refused once the quota is full.
            if (asked > 0 ? used + asked > quota.Limit + 1e-9 : used >= quota.Limit)
            {
                return new QuotaDecision
                {
                    Allowed = false, KeyId = quota.KeyId, Service = quota.Service, Meter = quota.Meter, Limit = quota.Limit, Used = used, ResetsAt = resetsAt,
                };
            }
        }
        var id = ++_nextReservation;
        _reserved[id] = (keyId, service, meter, quantity, now + ReservationLifetime);
        return new QuotaDecision { Allowed = true, ReservationId = id, ResetsAt = resetsAt };
    }

    public Task Settle(long reservationId, double quantity)
    {
        if (_reserved.Remove(reservationId, out var r) && quantity > 0)
        {
            _used[(r.Key, r.Service, r.Meter)] = _used.GetValueOrDefault((r.Key, r.Service, r.Meter)) + quantity;
        }
        return Task.CompletedTask;
    }

    public Task Reload() => LoadQuotasAsync();

    /// <summary>Used and reserved units this quota covers, per service and meter.</summary>
    private IEnumerable<(string Service, string Meter, double Quantity)> Held(Quota quota) =>
        _used.Select(u => (u.Key.Key, u.Key.Service, u.Key.Meter, Quantity: u.Value))
            .Concat(_reserved.Values.Select(r => (r.Key, r.Service, r.Meter, r.Quantity)))
            .Where(u => quota.Covers(u.Key, u.Service))
            .Select(u => (u.Service, u.Meter, u.Quantity));

    private async Task LoadQuotasAsync()
    {
        var projectId = this.GetPrimaryKeyString();
        await using var db = dbFactory.Create();
        _quotas = await db.Set<Quota>().AsNoTracking().Where(q => q.ProjectId == projectId).ToListAsync();
    }

    private async Task LoadMonthAsync(DateTimeOffset month)
    {
        var projectId = this.GetPrimaryKeyString();
        var start = UsagePeriods.Seconds(month);
        await using var db = dbFactory.Create();
        var rows = await db.Set<UsageAggregate>().AsNoTracking()
            .Where(a => a.ProjectId == projectId && a.Granularity == UsagePeriods.Month && a.PeriodStart == start)
            .ToListAsync();
        _used.Clear();
        foreach (var row in rows) _used[(row.KeyId, row.Service, row.Meter)] = row.Quantity;
        _month = month;
    }
}
