using Gureum.ML.Serving;

namespace Gureum.ML.Tests;

/// <summary>The batcher with a stand-in model (doubles every value; refuses a NaN), so only batching is under test.</summary>
public sealed class DynamicBatcherTests
{
    private static int _runs;

    private static Tensor[] Double(IReadOnlyList<Tensor> inputs)
    {
        Interlocked.Increment(ref _runs);
        var x = (float[])inputs[0].Data;
        if (x.Any(float.IsNaN)) throw new ModelRunException("NaN", timedOut: false);
        return [new Tensor("y", TensorType.Float32, inputs[0].Shape, x.Select(v => v * 2).ToArray())];
    }

    private static Tensor[] Row(params float[] values) => [new Tensor("x", TensorType.Float32, [1, values.Length], values)];

    [Fact]
    public async Task ConcurrentRequests_ShareRuns_AndEachGetsItsOwnRowsBack()
    {
        await using var batcher = DynamicBatcher.ForTensors(Double, new BatchSettings { MaxBatchSize = 8, MaxDelay = TimeSpan.FromMilliseconds(50), MaxQueue = 100, Workers = 1 });
        var pending = Enumerable.Range(0, 40).Select(i =>
        {
            Assert.True(batcher.TryEnqueue(Row(i, -i), out var answer));
            return (i, answer);
        }).ToList();
        foreach (var (i, answer) in pending)
        {
            var y = (await answer)[0];
            Assert.Equal([1L, 2L], y.Shape);
            Assert.Equal([2f * i, -2f * i], (float[])y.Data);
        }
        var (batches, rows) = batcher.Counts;
        Assert.Equal(40, rows);
        Assert.InRange(batches, 5, 20);
    }

    [Fact]
    public async Task ABadRequestInABatch_FailsAlone()
    {
        await using var batcher = DynamicBatcher.ForTensors(Double, new BatchSettings { MaxBatchSize = 8, MaxDelay = TimeSpan.FromMilliseconds(100), MaxQueue = 100, Workers = 1 });
        Assert.True(batcher.TryEnqueue(Row(1, 2), out var good));
        Assert.True(batcher.TryEnqueue(Row(float.NaN, 2), out var bad));
        Assert.True(batcher.TryEnqueue(Row(3, 4), out var alsoGood));
        var first = (float[])(await good)[0].Data;
        await Assert.ThrowsAsync<ModelRunException>(() => bad);
        var third = (float[])(await alsoGood)[0].Data;
        Assert.Equal(new[] { 2f, 4f }, first);
        Assert.Equal(new[] { 6f, 8f }, third);
    }

    [Fact]
    public async Task AFullQueue_RefusesInsteadOfGrowing_AndDisposeAnswersWhatWasQueued()
    {
        var gate = new ManualResetEventSlim();
        var batcher = DynamicBatcher.ForTensors(inputs => { gate.Wait(); return Double(inputs); },
            new BatchSettings { MaxBatchSize = 1, MaxDelay = TimeSpan.Zero, MaxQueue = 2, Workers = 1 });
        var accepted = new List<Task<Tensor[]>>();
        var refused = 0;
        for (var i = 0; i < 10; i++)
        {
            if (batcher.TryEnqueue(Row(i), out var answer)) accepted.Add(answer);
            else refused++;
        }
        // One in the worker's hands, two queued; the rest refused.
        Assert.InRange(accepted.Count, 2, 3);
        Assert.Equal(10 - accepted.Count, refused);
        gate.Set();
        await batcher.DisposeAsync();
        Assert.All(accepted, a => Assert.True(a.IsCompletedSuccessfully));
    }
}
