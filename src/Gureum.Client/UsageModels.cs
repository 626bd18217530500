namespace Gureum.Client;

/// <summary>
/// What <see cref="GureumClient.GetUsageAsync"/> asks for. Null fields take the server's defaults: from the start of the
/// current UTC month to now, grouped by service.
/// </summary>
/// <param name="To">Exclusive; must be after <paramref name="From"/>, at most 3 years later.</param>
/// <param name="GroupBy">Any of <c>service</c>, <c>key</c> and one of <c>day</c>, <c>hour</c>, <c>month</c> (and <c>project</c> for
/// <see cref="GureumClient.GetAllUsageAsync"/>); the meter is always grouped.</param>
public sealed record UsageQuery(DateTimeOffset? From = null, DateTimeOffset? To = null, IReadOnlyList<string>? GroupBy = null);

/// <summary>One group of usage: the fields not grouped by are null; <see cref="Period"/> is the day, hour or month label when grouped by time.</summary>
public sealed record UsageRow(string? ProjectId, string? Service, string? KeyId, string? Period, string Meter, double Quantity);

/// <summary>Metered usage between <see cref="From"/> and <see cref="To"/>, one row per group.</summary>
public sealed record UsageReport(DateTimeOffset From, DateTimeOffset To, IReadOnlyList<string> GroupBy, IReadOnlyList<UsageRow> Rows);

/// <summary>
/// The price of one meter of a service. <see cref="Service"/> <c>predict</c> matches every <c>predict:{endpoint}</c> service.
/// </summary>
/// <param name="FreeUnitsPerMonth">Units of each project's month that are not billed.</param>
public sealed record Price(string Service, string Meter, decimal UnitPrice, double FreeUnitsPerMonth = 0);

public sealed record PriceList(string Currency, IReadOnlyList<Price> Prices);

/// <summary>A month's invoice as listed: <see cref="Status"/> is open for the current month, closed before.</summary>
/// <param name="Month">yyyy-MM.</param>
public sealed record InvoiceSummary(string Month, string Status, decimal Total, string Currency);

public sealed record InvoiceList(IReadOnlyList<InvoiceSummary> Invoices);

/// <summary>One service and meter of an invoice: <c>Amount = BillableQuantity × UnitPrice</c>, <c>BillableQuantity = Quantity − FreeUnits</c> (not below 0).</summary>
public sealed record InvoiceLine(
    string Service, string Meter, double Quantity, double FreeUnits, double BillableQuantity, decimal UnitPrice, decimal Amount);

/// <summary>One project's bill for one month (yyyy-MM).</summary>
public sealed record Invoice(
    string ProjectId, string Month, string Status, string Currency, IReadOnlyList<InvoiceLine> Lines, decimal Total, DateTimeOffset GeneratedAt);

/// <summary>
/// A monthly limit on one meter of a service. <see cref="Service"/> <c>*</c> means every service; <see cref="Meter"/>
/// <c>spend</c> caps the month's spend in the price list's currency; <see cref="KeyId"/> null applies to the whole project.
/// </summary>
/// <param name="Used">This month's use so far (read only).</param>
/// <param name="ResetsAt">When <paramref name="Used"/> starts again from 0 (read only).</param>
public sealed record Quota(string? KeyId, string Service, string Meter, double Limit, double Used = 0, DateTimeOffset? ResetsAt = null)
{
    /// <summary>The quota as <see cref="GureumClient.SetQuotasAsync"/> sends it.</summary>
    public QuotaRule Rule => new(KeyId, Service, Meter, Limit);
}

/// <summary>A quota as it is set (see <see cref="Quota"/>).</summary>
public sealed record QuotaRule(string? KeyId, string Service, string Meter, double Limit);

public sealed record QuotaList(IReadOnlyList<Quota> Quotas);

/// <summary>
/// A token bucket: <see cref="RequestsPerSecond"/> sustained, <see cref="Burst"/> at once. <see cref="KeyId"/> null applies
/// to each key of the project separately; <see cref="Service"/> <c>*</c> to every service.
/// </summary>
public sealed record RateLimit(string? KeyId, string Service, double RequestsPerSecond, int Burst);

public sealed record RateLimitList(IReadOnlyList<RateLimit> RateLimits);

public sealed record MeterQuantity(string Service, string Meter, double Quantity);

public sealed record ProjectUsageRecord(string ProjectId, string ProjectName, IReadOnlyList<MeterQuantity> Meters, decimal Total);

/// <summary>Every project's usage and total for one month: the record to bill from.</summary>
public sealed record MonthlyUsageRecord(int Year, int Month, DateTimeOffset GeneratedAt, string Currency, IReadOnlyList<ProjectUsageRecord> Projects);
