using System.Globalization;

namespace Gureum.Client;

/// <summary>
/// Metering and billing: usage, prices, invoices, quotas and rate limits. A call over a quota or a rate limit answers
/// 429 (<see cref="GureumApiException.RetryAfter"/> says when to try again for a rate limit).
/// </summary>
public sealed partial class GureumClient
{
    /// <summary>The project's metered usage (keys need <c>project:read</c>).</summary>
    public Task<UsageReport> GetUsageAsync(string project, UsageQuery? query = null, CancellationToken ct = default) =>
        SendAsync<UsageReport>(HttpMethod.Get, ProjectPath(project, "usage") + UsageQueryString(query, null), null, ct);

    /// <summary>Every project's usage (admin key); <see cref="UsageQuery.GroupBy"/> may include <c>project</c>.</summary>
    public Task<UsageReport> GetAllUsageAsync(UsageQuery? query = null, CancellationToken ct = default) =>
        SendAsync<UsageReport>(HttpMethod.Get, "v1/usage" + UsageQueryString(query, null), null, ct);

    /// <summary>
    /// The usage as CSV, copied into <paramref name="destination"/> as it arrives: a header line (the grouped columns, then
    /// meter and quantity) and a line per group. <paramref name="project"/> null: every project's (admin key).
    /// </summary>
    public async Task DownloadUsageCsvAsync(string? project, Stream destination, UsageQuery? query = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        await DownloadAsync((project is null ? "v1/usage" : ProjectPath(project, "usage")) + UsageQueryString(query, "csv"), destination, ct);
    }

    /// <summary>Every project's usage and total for one month (admin key).</summary>
    public Task<MonthlyUsageRecord> GetUsageRecordAsync(int year, int month, CancellationToken ct = default) =>
        SendAsync<MonthlyUsageRecord>(HttpMethod.Get,
            string.Create(CultureInfo.InvariantCulture, $"v1/usage/records/{year}/{month}"), null, ct);

    /// <summary>The price list (any key).</summary>
    public Task<PriceList> GetPricesAsync(CancellationToken ct = default) =>
        SendAsync<PriceList>(HttpMethod.Get, "v1/prices", null, ct);

    /// <summary>Replaces the whole price list (admin key); answers the new list.</summary>
    public Task<PriceList> SetPricesAsync(PriceList prices, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(prices);
        return SendAsync<PriceList>(HttpMethod.Put, "v1/prices", prices, ct);
    }

    /// <summary>The project's invoices, one per month with usage: open for the current month, closed before.</summary>
    public Task<InvoiceList> ListInvoicesAsync(string project, CancellationToken ct = default) =>
        SendAsync<InvoiceList>(HttpMethod.Get, ProjectPath(project, "invoices"), null, ct);

    /// <param name="month">yyyy-MM, e.g. 2026-12.</param>
    public Task<Invoice> GetInvoiceAsync(string project, string month, CancellationToken ct = default) =>
        SendAsync<Invoice>(HttpMethod.Get, ProjectPath(project, "invoices/" + Uri.EscapeDataString(month)), null, ct);

    /// <summary>The project's quotas with this month's use of each (keys need <c>project:read</c>).</summary>
    public Task<QuotaList> GetQuotasAsync(string project, CancellationToken ct = default) =>
        SendAsync<QuotaList>(HttpMethod.Get, ProjectPath(project, "quotas"), null, ct);

    /// <summary>Replaces the project's whole set of quotas (admin key); answers them as <see cref="GetQuotasAsync"/> does.</summary>
    public Task<QuotaList> SetQuotasAsync(string project, IReadOnlyList<QuotaRule> quotas, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(quotas);
        return SendAsync<QuotaList>(HttpMethod.Put, ProjectPath(project, "quotas"), new { quotas }, ct);
    }

    /// <summary>The project's rate limits (keys need <c>project:read</c>).</summary>
    public Task<RateLimitList> GetRateLimitsAsync(string project, CancellationToken ct = default) =>
        SendAsync<RateLimitList>(HttpMethod.Get, ProjectPath(project, "rate-limits"), null, ct);

    /// <summary>Replaces the project's whole set of rate limits (admin key); answers the new set.</summary>
    public Task<RateLimitList> SetRateLimitsAsync(string project, IReadOnlyList<RateLimit> rateLimits, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(rateLimits);
        return SendAsync<RateLimitList>(HttpMethod.Put, ProjectPath(project, "rate-limits"), new { rateLimits }, ct);
    }

    private static string UsageQueryString(UsageQuery? query, string? format) => Query(
        ("from", query?.From is { } from ? IsoUtc(from) : null),
        ("to", query?.To is { } to ? IsoUtc(to) : null),
        ("groupBy", query?.GroupBy is { Count: > 0 } groupBy ? string.Join(',', groupBy) : null),
        ("format", format));

    private static string IsoUtc(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
}
