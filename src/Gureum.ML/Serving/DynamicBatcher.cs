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

/// <summary>
/// Merges concurrent requests into one model run along the first (batch) dimension and splits the answer back.
/// The queue is bounded: <see cref="TryEnqueue"/> says no when it is full instead of growing. A batch whose run
/// fails is retried request by request, so one bad input fails only its own request.
/// </summary>
public sealed class DynamicBatcher : IAsyncDisposable
{
    private readonly Func<IReadOnlyList<Tensor>, Tensor[]> _run;
    private readonly BatchSettings _settings;
    private readonly Channel<Item> _queue;
    private readonly Task[] _workers;
    private long _batches, _rows;

    public DynamicBatcher(Func<IReadOnlyList<Tensor>, Tensor[]> run, BatchSettings settings)
    {
        _run = run;
        _settings = settings;
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(settings.MaxQueue)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = false,
            SingleReader = settings.Workers == 1,
        });
        _workers = [.. Enumerable.Range(0, settings.Workers).Select(_ => Task.Factory.StartNew(WorkAsync, TaskCreationOptions.LongRunning).Unwrap())];
    }

    /// <summary>Model runs so far and the rows they carried (rows / batches is the mean batch size).</summary>
    public (long Batches, long Rows) Counts => (Interlocked.Read(ref _batches), Interlocked.Read(ref _rows));

    /// <summary>Queues a request (inputs in the model's order); false when the queue is full.</summary>
    public bool TryEnqueue(Tensor[] inputs, out Task<Tensor[]> answer)
    {
        var item = new Item(inputs);
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
            var rows = carry.Rows;
            carry = null;
            var started = Stopwatch.GetTimestamp();
            while (rows < _settings.MaxBatchSize)
            {
                if (reader.TryRead(out var next))
                {
                    if (rows + next.Rows <= _settings.MaxBatchSize && next.StacksWith(batch[0]))
                    {
                        batch.Add(next);
                        rows += next.Rows;
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
            Execute(batch, rows);
        }
    }

    private void Execute(List<Item> batch, long rows)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _rows, rows);
        if (batch.Count == 1)
        {
            RunOne(batch[0]);
            return;
        }
        Tensor[] outputs;
        try
        {
            var inputs = new Tensor[batch[0].Inputs.Length];
            for (var i = 0; i < inputs.Length; i++) inputs[i] = Tensor.Concat([.. batch.Select(b => b.Inputs[i])]);
            outputs = _run(inputs);
        }
        catch (Exception)
        {
            // Find the request at fault: the others still get their answers.
            foreach (var item in batch) RunOne(item);
            return;
        }
        if (outputs.Any(o => o.Shape.Length == 0 || o.Shape[0] != rows))
        {
            foreach (var item in batch) RunOne(item);
            return;
        }
        long start = 0;
        foreach (var item in batch)
        {
            item.Done.TrySetResult([.. outputs.Select(o => o.Slice(start, item.Rows))]);
            start += item.Rows;
        }
    }

    private void RunOne(Item item)
    {
        try
        {
            item.Done.TrySetResult(_run(item.Inputs));
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

    private sealed class Item(Tensor[] inputs)
    {
        public Tensor[] Inputs { get; } = inputs;
        public long Rows { get; } = inputs.Length == 0 ? 1 : inputs[0].Rows;
        public TaskCompletionSource<Tensor[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool StacksWith(Item other)
        {
            if (Inputs.Length != other.Inputs.Length) return false;
            for (var i = 0; i < Inputs.Length; i++)
            {
                if (Inputs[i].Name != other.Inputs[i].Name || !Inputs[i].StacksWith(other.Inputs[i])) return false;
            }
            return true;
        }
    }
}
