using System.Text.Json;
using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Serving;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Monitoring;

public sealed record LatencySummary(double? P50, double? P90, double? P99, double? Mean, double? Max);

/// <summary>One served version over the whole window.</summary>
public sealed record VersionMetrics(
    string Model, int Version, bool Shadow, long Requests, long Errors, double ErrorRate, long Rows, double RequestsPerSecond,
    double? RowsPerRequest, LatencySummary LatencyMs, IReadOnlyDictionary<string, long> Statuses, long Batches, double? MeanBatchSize);

/// <summary>One version over one bucket of the window, for charts.</summary>
public sealed record MetricsPoint(DateTimeOffset Start, string Model, int Version, bool Shadow, long Requests, long Errors, double RequestsPerSecond,
    double? P50, double? P99);

public sealed record EndpointMetrics(string Endpoint, DateTimeOffset From, DateTimeOffset To, int BucketSeconds,
    IReadOnlyList<VersionMetrics> Versions, IReadOnlyList<MetricsPoint> Series);

/// <summary>
/// Monitoring of endpoints from the counts and latency histograms every node writes per version every few seconds
/// (<c>endpoint_usage</c>): they survive restarts, add up across nodes and cost one indexed range read per query.
/// </summary>
public static class MonitoringEndpoints
{
    private const int MaxBuckets = 500;
    private static readonly Dictionary<string, TimeSpan> Windows = new()
    {
        ["15m"] = TimeSpan.FromMinutes(15), ["1h"] = TimeSpan.FromHours(1), ["6h"] = TimeSpan.FromHours(6), ["1d"] = TimeSpan.FromDays(1),
        ["7d"] = TimeSpan.FromDays(7), ["30d"] = TimeSpan.FromDays(30),
    };

    public static IServiceCollection AddMonitoring(this IServiceCollection services, IConfiguration configuration)
    {
        var drift = new DriftOptions();
        configuration.GetSection("Gureum:Monitoring:Drift").Bind(drift);
        return services.AddSingleton(drift);
    }

    public static IEndpointRouteBuilder MapMonitoring(this IEndpointRouteBuilder app)
    {
        var endpoints = app.MapProjectGroup("/endpoints").WithTags("Monitoring");
        endpoints.MapGet("/{name}/metrics", Metrics).RequireScope(Scopes.ProjectRead)
            .WithSummary("Requests, errors, throughput, rows per request and latency p50/p90/p99 per version over ?window=15m|1h|6h|1d|7d|30d (or ?from&to), with a series of ?buckets points for charts")
            .WithStandardErrors();
        endpoints.MapDrift();
        endpoints.MapFeedback();
        return app;
    }

    private static async Task<Ok<EndpointMetrics>> Metrics(ProjectScope scope, string name, string? window, string? from, string? to, int? buckets,
        GureumDb db, TimeProvider clock, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        var (start, end) = Range(window, from, to, clock.GetUtcNow());
        var count = buckets ?? 60;
        if (count is < 1 or > MaxBuckets) throw GureumException.Invalid("buckets", $"'buckets' must be from 1 to {MaxBuckets}.");
        var bucketSeconds = (int)Math.Max(1, Math.Ceiling((end - start).TotalSeconds / count));

        var rows = await db.Set<EndpointUsage>().AsNoTracking()
            .Where(u => u.EndpointId == endpoint.Id && u.ProjectId == scope.ProjectId && u.From >= start && u.From < end)
            .ToListAsync(ct);
        var seconds = (end - start).TotalSeconds;
        var versions = rows.GroupBy(r => (r.Model, r.Version, r.Shadow))
            .Select(g =>
            {
                var histogram = Sum(g);
                var requests = g.Sum(r => r.Requests);
                var errors = g.Sum(r => r.Errors);
                var rowsTotal = g.Sum(r => r.Rows);
                return new VersionMetrics(g.Key.Model, g.Key.Version, g.Key.Shadow, requests, errors, requests == 0 ? 0 : Math.Round((double)errors / requests, 6),
                    rowsTotal, Math.Round(requests / seconds, 3), requests == 0 ? null : Math.Round((double)rowsTotal / requests, 3),
                    new LatencySummary(LatencyHistogram.Quantile(histogram, 0.5), LatencyHistogram.Quantile(histogram, 0.9), LatencyHistogram.Quantile(histogram, 0.99),
                        requests == 0 ? null : Math.Round(g.Sum(r => r.LatencyMsSum) / requests, 3), requests == 0 ? null : g.Max(r => r.LatencyMsMax)),
                    SumStatuses(g.Select(r => r.Statuses)), g.Sum(r => r.Batches),
                    g.Sum(r => r.Batches) is > 0 and var batches ? Math.Round((double)g.Sum(r => r.BatchedRows) / batches, 3) : null);
            })
            .OrderBy(v => v.Shadow).ThenBy(v => v.Model, StringComparer.Ordinal).ThenBy(v => v.Version)
            .ToList();
        var series = rows.GroupBy(r => (Bucket: (long)((r.From - start).TotalSeconds / bucketSeconds), r.Model, r.Version, r.Shadow))
            .Select(g =>
            {
                var histogram = Sum(g);
                var requests = g.Sum(r => r.Requests);
                return new MetricsPoint(start.AddSeconds(g.Key.Bucket * bucketSeconds), g.Key.Model, g.Key.Version, g.Key.Shadow, requests, g.Sum(r => r.Errors),
                    Math.Round(requests / (double)bucketSeconds, 3), LatencyHistogram.Quantile(histogram, 0.5), LatencyHistogram.Quantile(histogram, 0.99));
            })
            .OrderBy(p => p.Start).ThenBy(p => p.Shadow).ThenBy(p => p.Model, StringComparer.Ordinal).ThenBy(p => p.Version)
            .ToList();
        return TypedResults.Ok(new EndpointMetrics(endpoint.Name, start, end, bucketSeconds, versions, series));
    }

    private static long[] Sum(IEnumerable<EndpointUsage> rows) => SumHistograms(rows.Select(r => r.Histogram));

    /// <summary>Counts per HTTP status of several flushes added up, by status text ("200", "400", "500").</summary>
    private static SortedDictionary<string, long> SumStatuses(IEnumerable<string> flushes)
    {
        var total = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var flush in flushes)
        {
            foreach (var (status, count) in JsonSerializer.Deserialize<Dictionary<string, long>>(flush) ?? [])
            {
                total[status] = total.GetValueOrDefault(status) + count;
            }
        }
        return total;
    }

    /// <summary>The latency histograms (JSON arrays of counts per bucket) of several flushes added up.</summary>
    internal static long[] SumHistograms(IEnumerable<string> histograms)
    {
        var total = new long[LatencyHistogram.BoundsMs.Length + 1];
        foreach (var histogram in histograms)
        {
            var counts = JsonSerializer.Deserialize<long[]>(histogram) ?? [];
            for (var i = 0; i < Math.Min(counts.Length, total.Length); i++) total[i] += counts[i];
        }
        return total;
    }

    /// <summary>A named window (15m, 1h, 6h, 1d, 7d, 30d).</summary>
    internal static TimeSpan ParseWindow(string field, string window) => Windows.TryGetValue(window, out var w) ? w
        : throw GureumException.Invalid(field, $"'{field}' must be one of {string.Join(", ", Windows.Keys)}.");

    internal static string FormatWindow(TimeSpan span) => Windows.FirstOrDefault(w => w.Value == span).Key ?? $"{span.TotalMinutes:0}m";

    internal static (DateTimeOffset From, DateTimeOffset To) Range(string? window, string? from, string? to, DateTimeOffset now)
    {
        if (window is not null && (from is not null || to is not null)) throw GureumException.Invalid("window", "Send 'window' or 'from'/'to', not both.");
        if (from is null && to is null)
        {
            var span = Windows.TryGetValue(window ?? "1h", out var w) ? w
                : throw GureumException.Invalid("window", $"'window' must be one of {string.Join(", ", Windows.Keys)}, or send 'from' and 'to'.");
            return (now - span, now);
        }
        var end = to is null ? now : QueryTime.Parse("to", to);
        var start = from is null ? end - TimeSpan.FromHours(1) : QueryTime.Parse("from", from);
        if (end <= start) throw GureumException.Invalid("to", "'to' must be after 'from'.");
        if (end - start > TimeSpan.FromDays(400)) throw GureumException.Invalid("from", "A window covers at most 400 days.");
        return (start, end);
    }
}
