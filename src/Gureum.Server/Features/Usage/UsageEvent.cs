using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Usage;

/// <summary>
/// One billable unit count: which project and key used which service, what was counted (pages, characters, audio
/// seconds, images, predictions, core-seconds, GB-days) and for which request. Written once per request id, and kept
/// when its project is deleted (the month is still billed).
/// </summary>
public sealed class UsageEvent
{
    public long Id { get; init; }
    public required string ProjectId { get; init; }
    public required string KeyId { get; init; }
    /// <summary>ocr, tts, stt, translate, faces, predict:{endpoint}, training, storage</summary>
    public required string Service { get; init; }
    /// <summary>pages, characters, audio-seconds, images, predictions, core-seconds, gb-days</summary>
    public required string Meter { get; init; }
    public double Quantity { get; init; }
    public DateTimeOffset At { get; init; }
    public required string RequestId { get; init; }
}

/// <summary>
/// Usage summed per project, key, service and meter over one hour, day or month (UTC), updated in the same
/// transaction as the events, so usage queries, quotas and invoices never scan the events.
/// </summary>
public sealed class UsageAggregate
{
    public required string ProjectId { get; init; }
    public required string KeyId { get; init; }
    public required string Service { get; init; }
    public required string Meter { get; init; }
    /// <summary><see cref="UsagePeriods.Hour"/>, <see cref="UsagePeriods.Day"/> or <see cref="UsagePeriods.Month"/>.</summary>
    public required string Granularity { get; init; }
    /// <summary>Start of the period, Unix seconds (UTC): an integer orders and compares the same on SQLite and PostgreSQL.</summary>
    public long PeriodStart { get; init; }
    public double Quantity { get; init; }
}

internal sealed class UsageEventConfiguration : IEntityTypeConfiguration<UsageEvent>
{
    public void Configure(EntityTypeBuilder<UsageEvent> b)
    {
        b.ToTable("usage_events");
        b.HasKey(e => e.Id);
        b.Property(e => e.KeyId).HasMaxLength(26);
        b.Property(e => e.Service).HasMaxLength(128);
        b.Property(e => e.Meter).HasMaxLength(32);
        b.Property(e => e.RequestId).HasMaxLength(128);
        b.HasIndex(e => new { e.ProjectId, e.At });
        // A replayed request (same id) counts once per service and meter.
        b.HasIndex(e => new { e.ProjectId, e.RequestId, e.Service, e.Meter }).IsUnique();
        // No foreign key: usage outlives a deleted project, so its month can still be billed.
        b.Property(e => e.ProjectId).HasMaxLength(26);
    }
}

internal sealed class UsageAggregateConfiguration : IEntityTypeConfiguration<UsageAggregate>
{
    public void Configure(EntityTypeBuilder<UsageAggregate> b)
    {
        b.ToTable("usage_aggregates");
        b.HasKey(a => new { a.ProjectId, a.Granularity, a.PeriodStart, a.KeyId, a.Service, a.Meter });
        b.Property(a => a.KeyId).HasMaxLength(26);
        b.Property(a => a.Service).HasMaxLength(128);
        b.Property(a => a.Meter).HasMaxLength(32);
        b.Property(a => a.Granularity).HasMaxLength(8);
        // The admin's all-projects report reads one period across projects.
        b.HasIndex(a => new { a.Granularity, a.PeriodStart });
        b.Property(a => a.ProjectId).HasMaxLength(26);
    }
}

/// <summary>UTC period arithmetic shared by the writer, the reports, quotas and invoices.</summary>
public static class UsagePeriods
{
    public const string Hour = "hour";
    public const string Day = "day";
    public const string Month = "month";

    public static DateTimeOffset Start(DateTimeOffset at, string granularity)
    {
        var u = at.ToUniversalTime();
        return granularity switch
        {
            Hour => new DateTimeOffset(u.Year, u.Month, u.Day, u.Hour, 0, 0, TimeSpan.Zero),
            Day => new DateTimeOffset(u.Year, u.Month, u.Day, 0, 0, 0, TimeSpan.Zero),
            _ => new DateTimeOffset(u.Year, u.Month, 1, 0, 0, 0, TimeSpan.Zero),
        };
    }

    public static DateTimeOffset Next(DateTimeOffset start, string granularity) => granularity switch
    {
        Hour => start.AddHours(1),
        Day => start.AddDays(1),
        _ => start.AddMonths(1),
    };

    public static long Seconds(DateTimeOffset at) => at.ToUnixTimeSeconds();

    public static DateTimeOffset FromSeconds(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds);

    /// <summary>A period's label in reports: 2026-12, 2026-12-07, 2026-12-07T11:00Z.</summary>
    public static string Label(DateTimeOffset start, string granularity) => granularity switch
    {
        Hour => start.ToString("yyyy-MM-dd'T'HH':00Z'", System.Globalization.CultureInfo.InvariantCulture),
        Day => start.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        _ => start.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture),
    };
}
