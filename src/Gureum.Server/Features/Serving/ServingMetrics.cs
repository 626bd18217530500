using System.Diagnostics.Metrics;

namespace Gureum.Server.Features.Serving;

/// <summary>
/// Every loaded endpoint version's counts on <c>/metrics</c> (meter <c>Gureum.Serving</c>): requests, model errors and
/// rows as counters, p50/p99 latency since load as gauges. Read from the counters serving keeps anyway when Prometheus
/// scrapes, so the prediction path pays nothing for them.
/// </summary>
public sealed class ServingMetrics : IDisposable
{
    public const string MeterName = "Gureum.Serving";
    private readonly Meter _meter = new(MeterName);

    public ServingMetrics(EndpointHost host)
    {
        _meter.CreateObservableCounter("gureum.endpoint.requests", () => Observe(host, s => s.Requests), "{request}", "Prediction requests answered per endpoint version");
        _meter.CreateObservableCounter("gureum.endpoint.errors", () => Observe(host, s => s.Errors), "{request}", "Requests the model failed (status 500 and up)");
        _meter.CreateObservableCounter("gureum.endpoint.rows", () => Observe(host, s => s.Rows), "{row}", "Rows predicted");
        _meter.CreateObservableGauge("gureum.endpoint.latency.p50", () => Observe(host, s => LatencyHistogram.Quantile(s.Total.Snapshot(), 0.5) ?? 0), "ms", "Median latency since the version loaded");
        _meter.CreateObservableGauge("gureum.endpoint.latency.p99", () => Observe(host, s => LatencyHistogram.Quantile(s.Total.Snapshot(), 0.99) ?? 0), "ms", "99th percentile latency since the version loaded");
    }

    private static IEnumerable<Measurement<T>> Observe<T>(EndpointHost host, Func<VersionStats, T> read) where T : struct
    {
        foreach (var live in host.All)
        {
            if (live.Routes is not { } routes) continue;
            foreach (var route in routes.All.DistinctBy(r => (r.Version, r.Shadow)))
            {
                yield return new Measurement<T>(read(route.Shadow ? route.Version.ShadowStats : route.Version.Stats),
                    new KeyValuePair<string, object?>("project", live.ProjectId), new KeyValuePair<string, object?>("endpoint", live.Name),
                    new KeyValuePair<string, object?>("model", route.Version.Model), new KeyValuePair<string, object?>("version", route.Version.Version),
                    new KeyValuePair<string, object?>("shadow", route.Shadow));
            }
        }
    }

    public void Dispose() => _meter.Dispose();
}
