using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Features.Serving;

/// <summary>
/// Everything a prediction leaves behind, kept off the request path: sampled inputs and outputs, shadow runs, and
/// per-version counts and latencies. Requests only write to bounded in-memory queues (a full queue drops the sample and
/// counts the drop, it never slows or fails a prediction); one background loop runs the shadows and writes to the
/// database in batches.
/// </summary>
public sealed partial class PredictionLog(GureumDbFactory dbFactory, EndpointHost host, ServingOptions options, TimeProvider clock, ILogger<PredictionLog> logger)
    : BackgroundService
{
    /// <summary>Inputs and outputs are cut at this many bytes per sample.</summary>
    public const int MaxSampleBytes = 64 * 1024;

    private readonly Channel<PredictionSample> _samples = Channel.CreateBounded<PredictionSample>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Channel<ShadowWork> _shadows = Channel.CreateBounded<ShadowWork>(
        new BoundedChannelOptions(1_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private sealed record ShadowWork(LiveEndpoint Live, ServedVersion Version, EndpointSpec Spec, Protocol Protocol, InferenceBody Body, string RequestId);

    public void Sample(LiveEndpoint live, ServedVersion version, bool shadow, string requestId, int status, double ms, byte[] input, byte[]? output)
    {
        var sample = new PredictionSample
        {
            ProjectId = live.ProjectId, EndpointId = live.Id, Model = version.Model, Version = version.Version, Shadow = shadow, RequestId = requestId,
            At = clock.GetUtcNow(), Status = status, LatencyMs = ms,
            Input = Predictor.Text(input, MaxSampleBytes), Output = Predictor.Text(output, MaxSampleBytes),
        };
        if (!_samples.Writer.TryWrite(sample)) Interlocked.Increment(ref live.DroppedSamples);
    }

    /// <summary>Queues a copy of a request for a shadow version; its answer is logged with the live request's id.</summary>
    public void Shadow(LiveEndpoint live, ServedVersion version, EndpointSpec spec, Protocol protocol, InferenceBody body, string requestId)
    {
        if (!_shadows.Writer.TryWrite(new ShadowWork(live, version, spec, protocol, body, requestId))) Interlocked.Increment(ref live.DroppedSamples);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(RunShadowsAsync(stoppingToken), WriteSamplesAsync(stoppingToken), FlushUsageAsync(stoppingToken));

    private async Task RunShadowsAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var work in _shadows.Reader.ReadAllAsync(ct))
            {
                await RunShadowAsync(work);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task RunShadowAsync(ShadowWork work)
    {
        var started = Stopwatch.GetTimestamp();
        var status = 200;
        byte[]? output = null;
        long rows = 0;
        if (!work.Version.TryAcquire()) return;
        try
        {
            using var document = Predictor.ParseJson(work.Body.Json);
            var input = Predictor.Parse(work.Version, document.RootElement, work.Protocol, work.Spec.MaxRowsPerRequest, work.Body.JsonLength / 2 + 1, work.Body.Binary());
            rows = input.RowCount;
            var answer = await Predictor.RunAsync(work.Version, work.Spec, input, explain: false);
            var buffer = new ArrayBufferWriter<byte>(1024);
            await using (var writer = new Utf8JsonWriter(buffer))
            {
                Predictor.WriteGureum(writer, work.Version, answer, input, work.RequestId);
            }
            output = buffer.WrittenSpan.ToArray();
        }
        catch (GureumException e)
        {
            status = ProblemCodes.Describe(e.Code).Status;
            output = JsonSerializer.SerializeToUtf8Bytes(new { error = e.Message });
        }
        catch (Exception e)
        {
            status = 500;
            output = JsonSerializer.SerializeToUtf8Bytes(new { error = e.Message });
        }
        finally
        {
            work.Version.Release();
        }
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        work.Version.ShadowStats.Record(ms, rows, status);
        Sample(work.Live, work.Version, shadow: true, work.RequestId, status, ms, work.Body.JsonBytes(), output);
    }

    private async Task WriteSamplesAsync(CancellationToken ct)
    {
        var batch = new List<PredictionSample>(500);
        var reader = _samples.Reader;
        while (true)
        {
            try
            {
                if (!await reader.WaitToReadAsync(ct)) return;
                // Gather for a moment so one insert carries many samples.
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            }
            catch (OperationCanceledException)
            {
                // Shutting down: write what is queued, then stop.
            }
            while (batch.Count < 500 && reader.TryRead(out var sample)) batch.Add(sample);
            if (batch.Count > 0)
            {
                await SaveAsync(batch, "prediction_samples");
                batch.Clear();
            }
            if (ct.IsCancellationRequested && !reader.TryPeek(out _)) return;
        }
    }

    private async Task FlushUsageAsync(CancellationToken ct)
    {
        var from = clock.GetUtcNow();
        using var timer = new PeriodicTimer(options.UsageFlushInterval, clock);
        while (true)
        {
            var stopping = false;
            try
            {
                await timer.WaitForNextTickAsync(ct);
            }
            catch (OperationCanceledException)
            {
                stopping = true;
            }
            var to = clock.GetUtcNow();
            await WriteUsageAsync(from, to);
            from = to;
            if (stopping) return;
        }
    }

    private async Task WriteUsageAsync(DateTimeOffset from, DateTimeOffset to)
    {
        var rows = new List<EndpointUsage>();
        foreach (var live in host.All)
        {
            if (live.Routes is not { } routes) continue;
            foreach (var route in routes.All.DistinctBy(r => (r.Version, r.Shadow)))
            {
                var stats = route.Shadow ? route.Version.ShadowStats : route.Version.Stats;
                var d = stats.TakeDelta();
                var (batches, batchedRows) = route.Shadow ? (0, 0) : route.Version.TakeBatchDelta();
                if (d.Requests == 0) continue;
                rows.Add(new EndpointUsage
                {
                    ProjectId = live.ProjectId, EndpointId = live.Id, Model = route.Version.Model, Version = route.Version.Version, Shadow = route.Shadow,
                    From = from, To = to, Requests = d.Requests, Errors = d.Errors, Rows = d.Rows, LatencyMsSum = d.LatencySum, LatencyMsMax = d.LatencyMax,
                    Histogram = JsonSerializer.Serialize(d.Histogram), Statuses = JsonSerializer.Serialize(d.Statuses),
                    Batches = batches, BatchedRows = batchedRows,
                });
            }
        }
        if (rows.Count > 0) await SaveAsync(rows, "endpoint_usage");
    }

    /// <summary>Best-effort: a project deleted meanwhile, or the database away, costs these rows and a warning, nothing else.</summary>
    private async Task SaveAsync<T>(List<T> rows, string table) where T : class
    {
        try
        {
            await using var db = dbFactory.Create();
            db.Set<T>().AddRange(rows);
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogRowsLost(logger, rows.Count, table, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} rows for {Table} could not be written")]
    private static partial void LogRowsLost(ILogger logger, int count, string table, Exception exception);
}
