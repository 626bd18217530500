using Gureum.ML.Models;
using Gureum.ML.Serving;
using Gureum.ML.Training;

namespace Gureum.Server.Features.Serving;

/// <summary>Request latencies in fixed buckets (lock-free), good enough for p50/p99 and cheap on the hot path.</summary>
public sealed class LatencyHistogram
{
    /// <summary>Upper bounds in milliseconds; the last bucket is everything above.</summary>
    public static readonly double[] BoundsMs =
        [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000, 10000, 30000];

    private readonly long[] _counts = new long[BoundsMs.Length + 1];

    public void Record(double ms)
    {
        var i = Array.BinarySearch(BoundsMs, ms);
        if (i < 0) i = ~i;
        Interlocked.Increment(ref _counts[i]);
    }

    public long[] Snapshot() => (long[])_counts.Clone();

    /// <summary>The bucket bound under which <paramref name="q"/> of the requests fall (null with no requests).</summary>
    public static double? Quantile(long[] counts, double q)
    {
        var total = counts.Sum();
        if (total == 0) return null;
        var target = (long)Math.Ceiling(q * total);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= target) return i < BoundsMs.Length ? BoundsMs[i] : BoundsMs[^1];
        }
        return BoundsMs[^1];
    }
}

/// <summary>Counts for one served version; <see cref="TakeDelta"/> hands what accumulated since the last flush to storage.</summary>
public sealed class VersionStats
{
    private long _requests, _errors, _rows;
    private double _latencySum, _latencyMax;
    private readonly Lock _gate = new();
    private LatencyHistogram _window = new();
    private Dictionary<int, long> _statuses = [];

    public LatencyHistogram Total { get; } = new();
    public long Requests => Interlocked.Read(ref _requests);
    public long Errors => Interlocked.Read(ref _errors);
    public long Rows => Interlocked.Read(ref _rows);

    /// <summary>One answered request; a status of 500 and up counts as the model's error (a refused input is the caller's).</summary>
    public void Record(double ms, long rows, int status)
    {
        Interlocked.Increment(ref _requests);
        if (status >= 500) Interlocked.Increment(ref _errors);
        Interlocked.Add(ref _rows, rows);
        Total.Record(ms);
        lock (_gate)
        {
            _statuses[status] = _statuses.GetValueOrDefault(status) + 1;
            _window.Record(ms);
            _latencySum += ms;
            if (ms > _latencyMax) _latencyMax = ms;
        }
    }

    private long _flushedRequests, _flushedErrors, _flushedRows;

    public (long Requests, long Errors, long Rows, double LatencySum, double LatencyMax, long[] Histogram, Dictionary<int, long> Statuses) TakeDelta()
    {
        lock (_gate)
        {
            var requests = Requests; var errors = Errors; var rows = Interlocked.Read(ref _rows);
            var delta = (requests - _flushedRequests, errors - _flushedErrors, rows - _flushedRows, _latencySum, _latencyMax, _window.Snapshot(), _statuses);
            _statuses = [];
            (_flushedRequests, _flushedErrors, _flushedRows) = (requests, errors, rows);
            _latencySum = 0;
            _latencyMax = 0;
            _window = new LatencyHistogram();
            return delta;
        }
    }
}

/// <summary>
/// One registered model version loaded for serving on this node: an ONNX Runtime session (with a batcher when batching
/// is on and the model has a dynamic batch dimension) or a Gureum AutoML model. Requests hold a lease
/// (<see cref="TryAcquire"/>) so a version swapped out is disposed only after its in-flight requests finish.
/// </summary>
public sealed class ServedVersion : IAsyncDisposable
{
    private int _leases;
    private bool _retired;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();

    public required string Model { get; init; }
    public required int Version { get; init; }
    public required string Format { get; init; }
    /// <summary>What a reload must match to reuse this instance: the version and the settings it was loaded with.</summary>
    public required string LoadKey { get; init; }
    public OnnxRunner? Onnx { get; init; }
    public DynamicBatcher<Tensor[], Tensor[]>? Batcher { get; init; }
    public TrainedModel? AutoMl { get; init; }
    /// <summary>AutoML models' request queue: one ML.NET pipeline run costs about the same for 1 row as for dozens, so records batch.</summary>
    public DynamicBatcher<RecordsRequest, IReadOnlyList<Prediction>>? RecordBatcher { get; init; }

    /// <summary>Whether concurrent requests may share a model run (batching on, and an ONNX model with a batch dimension).</summary>
    public bool Batched { get; init; }
    /// <summary>Whichever batcher it has (ONNX tensors or AutoML records); null when requests run one by one.</summary>
    public IDynamicBatcher? AnyBatcher => (IDynamicBatcher?)Batcher ?? RecordBatcher;
    public required ModelFileSignature Signature { get; init; }
    public long MemoryBytes { get; init; }
    public DateTimeOffset LoadedAt { get; init; }
    public VersionStats Stats { get; } = new();
    public VersionStats ShadowStats { get; } = new();
    /// <summary>Direct (unbatched) calls running now, bounded by the endpoint's queue size.</summary>
    public int InFlight;

    public string Device => Onnx?.Device ?? "cpu";

    private long _flushedBatches, _flushedBatchedRows;

    /// <summary>Batches run (and their rows) since the last call; only the usage flush calls it.</summary>
    public (long Batches, long Rows) TakeBatchDelta()
    {
        if (AnyBatcher is not { } batcher) return (0, 0);
        var (batches, rows) = batcher.Counts;
        var delta = (batches - _flushedBatches, rows - _flushedBatchedRows);
        (_flushedBatches, _flushedBatchedRows) = (batches, rows);
        return delta;
    }

    public bool TryAcquire()
    {
        lock (_gate)
        {
            if (_retired) return false;
            _leases++;
            return true;
        }
    }

    public void Release()
    {
        lock (_gate)
        {
            if (--_leases == 0 && _retired) _drained.TrySetResult();
        }
    }

    /// <summary>Waits for in-flight requests (at most <paramref name="grace"/>), drains the batch queue, then frees the model.</summary>
    public async Task RetireAsync(TimeSpan grace)
    {
        await DrainAsync(grace).ConfigureAwait(false);
        Onnx?.Dispose();
    }

    /// <summary>Takes no more requests, waits for in-flight ones (at most <paramref name="grace"/>) and answers what is queued.</summary>
    public async Task DrainAsync(TimeSpan grace)
    {
        lock (_gate)
        {
            _retired = true;
            if (_leases == 0) _drained.TrySetResult();
        }
        await Task.WhenAny(_drained.Task, Task.Delay(grace)).ConfigureAwait(false);
        if (AnyBatcher is { } batcher) await batcher.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (AnyBatcher is { } batcher) await batcher.DisposeAsync().ConfigureAwait(false);
        Onnx?.Dispose();
    }
}

/// <summary>One request's records for an AutoML model, and whether it asked for contributions.</summary>
public sealed record RecordsRequest(IReadOnlyList<IReadOnlyDictionary<string, object?>> Rows, bool Explain);
