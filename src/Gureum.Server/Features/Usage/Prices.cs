using System.Text.Json;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Usage;

/// <summary>The price of one unit of a meter on a service (or a pattern: <c>predict</c>, <c>*</c>), and the units free each month.</summary>
public sealed record Price(string Service, string Meter, decimal UnitPrice, double FreeUnitsPerMonth = 0);

public sealed record PriceList(string Currency, IReadOnlyList<Price> Prices)
{
    /// <summary>The most specific price for a service and meter; none means the usage is free.</summary>
    public Price? Find(string service, string meter) => Prices
        .Where(p => p.Meter == meter && ServicePattern.Covers(p.Service, service))
        .OrderByDescending(p => ServicePattern.Specificity(p.Service))
        .FirstOrDefault();
}

/// <summary><c>Gureum:Metering</c>: the currency and the default price list (the API may replace it).</summary>
public sealed class MeteringOptions
{
    public const string Section = "Gureum:Metering";
    /// <summary>False turns billing off on this server: no usage is written, no quota or rate limit applies.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>How often the usage journal is fsynced: what a power cut (not a process crash) can lose at most.</summary>
    public TimeSpan FsyncInterval { get; set; } = TimeSpan.FromMilliseconds(100);
    /// <summary>True: every call waits for the fsync of its usage before answering (nothing lost even on a power cut; slower).</summary>
    public bool SyncEachCall { get; set; }
    public string Currency { get; set; } = "USD";
    public List<Price> Prices { get; set; } = [];
}

/// <summary>
/// The price list in force: the one an operator last PUT, kept in the database; before that, the configured one.
/// Cached for a few seconds so quota checks and invoices do not read it per request.
/// </summary>
public sealed class PriceBook(GureumDbFactory dbFactory, MeteringOptions options, TimeProvider clock)
{
    private const string SettingName = "prices";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private (PriceList List, DateTimeOffset Until)? _cached;

    public PriceList Defaults => new(options.Currency, options.Prices);

    public async Task<PriceList> GetAsync(CancellationToken ct = default)
    {
        if (_cached is { } c && c.Until > clock.GetUtcNow()) return c.List;
        await using var db = dbFactory.Create();
        var stored = await db.Set<ServerSetting>().AsNoTracking().FirstOrDefaultAsync(s => s.Name == SettingName, ct);
        var list = stored is null ? Defaults : JsonSerializer.Deserialize<PriceList>(stored.Json, JsonDefaults.Web)!;
        _cached = (list, clock.GetUtcNow() + CacheFor);
        return list;
    }

    public async Task<PriceList> SetAsync(PriceList list, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var json = JsonSerializer.Serialize(list, JsonDefaults.Web);
        var stored = await db.Set<ServerSetting>().FirstOrDefaultAsync(s => s.Name == SettingName, ct);
        if (stored is null) db.Add(new ServerSetting { Name = SettingName, Json = json, UpdatedAt = clock.GetUtcNow() });
        else
        {
            stored.Json = json;
            stored.UpdatedAt = clock.GetUtcNow();
        }
        await db.SaveChangesAsync(ct);
        _cached = (list, clock.GetUtcNow() + CacheFor);
        return list;
    }
}

public sealed record InvoiceLine(string Service, string Meter, double Quantity, double FreeUnits, double BillableQuantity, decimal UnitPrice, decimal Amount);

public sealed record Invoice(string ProjectId, string Month, string Status, string Currency, IReadOnlyList<InvoiceLine> Lines, decimal Total, DateTimeOffset GeneratedAt);

/// <summary>Invoices from the month aggregates: one line per priced service and meter, the free units taken off first.</summary>
public static class Invoicing
{
    /// <param name="usage">The month's quantity per service and meter, summed over keys.</param>
    public static (IReadOnlyList<InvoiceLine> Lines, decimal Total) Compute(PriceList prices, IEnumerable<(string Service, string Meter, double Quantity)> usage)
    {
        // Usage under one price (e.g. every predict:{endpoint} under "predict") shares that price's free units: one line.
        var lines = usage
            .GroupBy(u => prices.Find(u.Service, u.Meter) is { } p ? (p.Service, u.Meter, Price: (Price?)p) : (u.Service, u.Meter, Price: null))
            .Select(g =>
            {
                var quantity = g.Sum(u => u.Quantity);
                var free = Math.Min(quantity, g.Key.Price?.FreeUnitsPerMonth ?? 0);
                var billable = quantity - free;
                var unitPrice = g.Key.Price?.UnitPrice ?? 0m;
                return new InvoiceLine(g.Key.Item1, g.Key.Meter, quantity, free, billable, unitPrice, Math.Round((decimal)billable * unitPrice, 6, MidpointRounding.AwayFromZero));
            })
            .OrderBy(l => l.Service, StringComparer.Ordinal).ThenBy(l => l.Meter, StringComparer.Ordinal)
            .ToList();
        return (lines, Math.Round(lines.Sum(l => l.Amount), 2, MidpointRounding.AwayFromZero));
    }

    /// <summary>What a month's usage of one service and meter costs so far, for spend caps.</summary>
    public static decimal Cost(PriceList prices, IEnumerable<(string Service, string Meter, double Quantity)> usage) =>
        Compute(prices, usage).Lines.Sum(l => l.Amount);
}
