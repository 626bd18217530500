using System.Threading.Channels;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Usage;

/// <summary>
/// Records usage off the hot path: calls enqueue, one writer inserts batches every second and at shutdown. A replayed
/// request id is counted once (unique index). Until the metering issue adds a write-ahead record, a kill -9 can lose
/// up to the last second of events.
/// </summary>
public sealed partial class UsageMeter(GureumDbFactory dbFactory, TimeProvider clock, ILogger<UsageMeter> logger) : BackgroundService
{
    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(1);
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly Channel<UsageEvent> _queue = Channel.CreateBounded<UsageEvent>(
        new BoundedChannelOptions(100_000) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    public void Record(string projectId, string keyId, string service, string meter, double quantity, string requestId)
    {
        var usage = new UsageEvent
        {
            ProjectId = projectId, KeyId = keyId, Service = service, Meter = meter, Quantity = quantity, RequestId = requestId, At = clock.GetUtcNow(),
        };
        if (!_queue.Writer.TryWrite(usage))
        {
            // Full only if the database has been down for a long while; waiting is better than dropping a bill.
            _queue.Writer.WriteAsync(usage).AsTask().GetAwaiter().GetResult();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushEvery, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException)
        {
        }
        await FlushAsync();
    }

    /// <summary>Writes what is queued; public so tests and shutdown need not wait a tick. One flush at a time, so a
    /// caller returns only after events recorded before its call are written (or re-queued on failure).</summary>
    public async Task FlushAsync()
    {
        await _flushing.WaitAsync();
        try
        {
            await FlushQueuedAsync();
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task FlushQueuedAsync()
    {
        var batch = new List<UsageEvent>();
        while (batch.Count < 5_000 && _queue.Reader.TryRead(out var usage)) batch.Add(usage);
        if (batch.Count == 0) return;
        try
        {
            await using var db = dbFactory.Create();
            db.AddRange(batch);
            await db.SaveChangesAsync();
        }
        catch (DbUpdateException)
        {
            await SaveOneByOneAsync(batch);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFlushFailed(logger, batch.Count, e);
            foreach (var usage in batch) _queue.Writer.TryWrite(usage);
        }
    }

    /// <summary>A batch holding an already counted request id: keep the others.</summary>
    private async Task SaveOneByOneAsync(List<UsageEvent> batch)
    {
        foreach (var usage in batch)
        {
            try
            {
                await using var db = dbFactory.Create();
                db.Add(new UsageEvent
                {
                    ProjectId = usage.ProjectId, KeyId = usage.KeyId, Service = usage.Service, Meter = usage.Meter,
                    Quantity = usage.Quantity, RequestId = usage.RequestId, At = usage.At,
                });
                await db.SaveChangesAsync();
            }
            catch (DbUpdateException)
            {
                // Counted before (same project, request id, service and meter), or the project is gone.
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write {Count} usage events; they stay queued")]
    private static partial void LogFlushFailed(ILogger logger, int count, Exception exception);
}
