using System.Diagnostics;
using System.Threading.Channels;

namespace Gureum.ML.Serving;

/// <summary>Dynamic batching for one served model: how many rows make a batch, how long a request may wait for company.</summary>
public sealed record BatchSettings
{
    /// <summary>Rows per model run; 1 turns batching off.</summary>
    public int MaxBatchSize { get; init; } = 32;
    /// <summary>How long the first request of a batch waits for more (0: take only what is already queued).</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(1);
    /// <summary>Requests waiting beyond this are refused (the caller answers 429), so memory stays bounded.</summary>
    public int MaxQueue { get; init; } = 1024;
    /// <summary>Batches run at once (each on its own thread).</summary>
    public int Workers { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 4);
}

/// <summary>A batcher whatever it carries: its counts, and a stop that answers what is queued.</summary>
public interface IDynamicBatcher : IAsyncDisposable
{
    /// <summary>Model runs so far and the rows they carried (rows / batches is the mean batch size).</summary>
    (long Batches, long Rows) Counts { get; }
}

/// <summary>Batchers for what Gureum serves.</summary>
public static class DynamicBatcher
{
    /// <summary>
    /// ONNX: requests' tensors concatenated along the first (batch) dimension into one run, the outputs sliced back.
    /// Requests batch together only when their tensors stack (same names, types and inner dimensions).
    /// </summary>
    public static DynamicBatcher<Tensor[], Tensor[]> ForTensors(Func<IReadOnlyList<Tensor>, Tensor[]> run, BatchSettings settings) => new(
        settings,
        rows: RowsOf,
        stacks: Stack,
        runMany: (batch, rows) =>
        {
            var inputs = new Tensor[batch[0].Length];
            for (var i = 0; i < inputs.Length; i++) inputs[i] = Tensor.Concat([.. batch.Select(b => b[i])]);
            var outputs = run(inputs);
            // An output without the batch dimension cannot be split back: each request is run on its own instead.
            if (outputs.Any(o => o.Shape.Length == 0 || o.Shape[0] != rows)) return null;
            var answers = new Tensor[batch.Count][];
            long start = 0;
            for (var b = 0; b < batch.Count; b++)
            {
                var count = RowsOf(batch[b]);
                answers[b] = [.. outputs.Select(o => o.Slice(start, count))];
                start += count;
            }
            return answers;
        },
        runOne: inputs => run(inputs));

    private static long RowsOf(Tensor[] inputs) => inputs.Length == 0 ? 1 : inputs[0].Rows;

    private static bool Stack(Tensor[] one, Tensor[] other)
    {
        if (one.Length != other.Length) return false;
        for (var i = 0; i < one.Length; i++)
        {
            if (one[i].Name != other[i].Name || !one[i].StacksWith(other[i])) return false;
        }
        return true;
    }
}

/// <summary>
/// Merges concurrent requests into one model run and splits the answer back (see <see cref="DynamicBatcher"/>).
/// The queue is bounded: <see cref="TryEnqueue"/> says no when it is full instead of growing. A batch whose run
/// fails is retried request by request, so one bad input fails only its own request.
/// </summary>
public sealed class DynamicBatcher<TRequest, TAnswer> : IDynamicBatcher
{
    private readonly BatchSettings _settings;
    private readonly Func<TRequest, long> _rowsOf;
    private readonly Func<TRequest, TRequest, bool> _stacks;
    private readonly Func<IReadOnlyList<TRequest>, long, IReadOnlyList<TAnswer>?> _runMany;
    private readonly Func<TRequest, TAnswer> _runOne;
    private readonly Channel<Item> _queue;
    private readonly Task[] _workers;
    private long _batches, _rows;

    /// <param name="settings">Batch size, delay, queue bound and worker threads.</param>
    /// <param name="rows">The rows a request carries (a batch holds at most <see cref="BatchSettings.MaxBatchSize"/>).</param>
    /// <param name="stacks">Whether two requests may share a run.</param>
    /// <param name="runMany">One run for several requests: an answer per request in order, or null to run them one by one.</param>
    /// <param name="runOne">A run for one request.</param>
    public DynamicBatcher(BatchSettings settings, Func<TRequest, long> rows, Func<TRequest, TRequest, bool> stacks,
        Func<IReadOnlyList<TRequest>, long, IReadOnlyList<TAnswer>?> runMany, Func<TRequest, TAnswer> runOne)
    {
        (_settings, _rowsOf, _stacks, _runMany, _runOne) = (settings, rows, stacks, runMany, runOne);
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(settings.MaxQueue)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = false,
            SingleReader = settings.Workers == 1,
        });
        _workers = [.. Enumerable.Range(0, settings.Workers).Select(_ => Task.Factory.StartNew(WorkAsync, TaskCreationOptions.LongRunning).Unwrap())];
    }

    public (long Batches, long Rows) Counts => (Interlocked.Read(ref _batches), Interlocked.Read(ref _rows));

    /// <summary>Queues a request; false when the queue is full.</summary>
    public bool TryEnqueue(TRequest request, out Task<TAnswer> answer)
    {
        var item = new Item(request, _rowsOf(request));
        answer = item.Done.Task;
        return _queue.Writer.TryWrite(item);
    }

    private async Task WorkAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Item>(_settings.MaxBatchSize);
        Item? carry = null;
        while (carry is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (carry is null && !reader.TryRead(out carry)) continue;
            batch.Clear();
            batch.Add(carry);
            var count = carry.Rows;
            carry = null;
            var started = Stopwatch.GetTimestamp();
            while (count < _settings.MaxBatchSize)
            {
                if (reader.TryRead(out var next))
                {
                    if (count + next.Rows <= _settings.MaxBatchSize && _stacks(next.Request, batch[0].Request))
                    {
                        batch.Add(next);
                        count += next.Rows;
                        continue;
                    }
                    carry = next;
                    break;
                }
                var left = _settings.MaxDelay - Stopwatch.GetElapsedTime(started);
                if (left <= TimeSpan.Zero) break;
                var arrived = reader.WaitToReadAsync().AsTask();
                if (await Task.WhenAny(arrived, Task.Delay(left)).ConfigureAwait(false) != arrived || !await arrived.ConfigureAwait(false)) break;
            }
            Execute(batch, count);
        }
    }

    private void Execute(List<Item> batch, long count)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _rows, count);
        if (batch.Count == 1)
        {
            RunOne(batch[0]);
            return;
        }
        IReadOnlyList<TAnswer>? answers;
        try
        {
            answers = _runMany([.. batch.Select(b => b.Request)], count);
        }
        catch (Exception)
        {
            answers = null; // find the request at fault: the others still get their answers
        }
        if (answers is null || answers.Count != batch.Count)
        {
            foreach (var item in batch) RunOne(item);
            return;
        }
        for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(answers[i]);
    }

    private void RunOne(Item item)
    {
        try
        {
            item.Done.TrySetResult(_runOne(item.Request));
        }
        catch (Exception e)
        {
            item.Done.TrySetException(e);
        }
    }

    /// <summary>Stops taking requests, answers every queued one, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_workers).ConfigureAwait(false);
    }

    private sealed class Item(TRequest request, long rows)
    {
        public TRequest Request { get; } = request;
        public long Rows { get; } = rows;
        public TaskCompletionSource<TAnswer> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
