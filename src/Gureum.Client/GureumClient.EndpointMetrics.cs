namespace Gureum.Client;

public sealed partial class GureumClient
{
    /// <summary>
    /// Requests, errors, throughput and latency per served version over a window (15m, 1h, 6h, 1d, 7d, 30d), with a series of
    /// <paramref name="buckets"/> points for charts.
    /// </summary>
    public Task<EndpointMetrics> GetEndpointMetricsAsync(string project, string endpoint, string window = "1h", int? buckets = null, CancellationToken ct = default) =>
        SendAsync<EndpointMetrics>(HttpMethod.Get, EndpointPath(project, endpoint, "metrics")
            + Query(("window", window), ("buckets", buckets?.ToString(System.Globalization.CultureInfo.InvariantCulture))), null, ct);
}

public sealed record LatencySummary(double? P50, double? P90, double? P99, double? Mean, double? Max);

/// <summary>One served version over the whole window; <see cref="Statuses"/> counts answers per HTTP status.</summary>
public sealed record VersionMetrics(
    string Model, int Version, bool Shadow, long Requests, long Errors, double ErrorRate, long Rows, double RequestsPerSecond,
    double? RowsPerRequest, LatencySummary LatencyMs, IReadOnlyDictionary<string, long> Statuses, long Batches, double? MeanBatchSize);

/// <summary>One version over one bucket of the window (starting at <see cref="Start"/>), for charts.</summary>
public sealed record MetricsPoint(DateTimeOffset Start, string Model, int Version, bool Shadow, long Requests, long Errors, double RequestsPerSecond,
    double? P50, double? P99);

public sealed record EndpointMetrics(string Endpoint, DateTimeOffset From, DateTimeOffset To, int BucketSeconds,
    IReadOnlyList<VersionMetrics> Versions, IReadOnlyList<MetricsPoint> Series);
