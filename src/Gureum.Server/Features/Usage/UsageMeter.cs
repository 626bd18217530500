using System.Threading.Channels;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Usage;

/// <summary>
/// Writes usage durably before the caller answers its request (group commit): callers await their event; one writer
/// takes everything queued, inserts it with its hour/day/month aggregates in one transaction, and then releases all
/// the waiting callers together, so a busy server pays one commit for many requests. A kill -9 can therefore only
/// lose usage of requests that were never answered, and a retry with the same request id is counted once
/// (unique index on project, request id, service and meter).
/// </summary>
public sealed partial class UsageMeter(GureumDbFactory dbFactory, MeteringOptions options, TimeProvider clock, ILogger<UsageMeter> logger) : BackgroundService
{
    private const int MaxBatch = 2_000;
    private static readonly string[] Granularities = [UsagePeriods.Hour, UsagePeriods.Day, UsagePeriods.Month];
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    private sealed record Pending(UsageEvent Event, bool Coalesce, TaskCompletionSource<bool> Written);

    /// <summary>
    /// Queues one event and completes once it is committed: true when written, false when this request id was already
    /// counted (a replay) or its project is gone. <paramref name="coalesce"/> (predictions: thousands per second, under
    /// request ids the server drew, so never replayed) lets the writer store the calls of one batch that share project,
    /// key, service, meter and hour as one event holding their sum, instead of a row per call.
    /// </summary>
    public Task<bool> RecordAsync(string projectId, string keyId, string service, string meter, double quantity, string requestId,
        DateTimeOffset? at = null, bool coalesce = false)
    {
        if (!options.Enabled) return Task.FromResult(true);
        var written = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var usage = new UsageEvent
        {
            ProjectId = projectId, KeyId = keyId, Service = service, Meter = meter, Quantity = quantity, RequestId = requestId,
            At = at ?? clock.GetUtcNow(),
        };
        if (!_queue.Writer.TryWrite(new Pending(usage, coalesce, written)))
        {
            // Only after shutdown: write it directly rather than drop a bill.
            return WriteOneAsync(usage);
        }
        return written.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Pending>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await DrainAsync(batch);
            }
        }
        catch (OperationCanceledException)
        {
        }
        // Shutdown: what was queued before the host stopped is still written.
        _queue.Writer.TryComplete();
        await DrainAsync(batch);
    }

    private async Task DrainAsync(List<Pending> batch)
    {
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending)) batch.Add(pending);
            if (batch.Count == 0) return;
            await WriteBatchAsync(batch);
        }
    }

    private async Task WriteBatchAsync(List<Pending> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            var waiting = batch.Where(p => !p.Written.Task.IsCompleted).ToList();
            if (waiting.Count == 0) return;
            var rows = Coalesce(waiting);
            try
            {
                try
                {
                    await WriteAsync([.. rows.Select(r => r.Event)]);
                    foreach (var p in waiting) p.Written.TrySetResult(true);
                }
                catch (DbUpdateException e) when (IsConstraintViolation(e))
                {
                    // A replayed request id (or a deleted project) in the batch: write the others one by one.
                    foreach (var (row, callers) in rows)
                    {
                        var written = await WriteOneAsync(row);
                        foreach (var p in callers) p.Written.TrySetResult(written);
                    }
                }
                return;
            }
            catch (Exception e)
            {
                // The database is unreachable: keep what is unwritten (its callers keep waiting) and retry, pausing longer each time.
                LogWriteFailed(logger, waiting.Count, attempt, e);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * attempt)));
            }
        }
    }

    /// <summary>The rows to insert: each event as it is, except coalescable ones, summed per project, key, service, meter and hour.</summary>
    private static List<(UsageEvent Event, List<Pending> Callers)> Coalesce(List<Pending> waiting)
    {
        var rows = new List<(UsageEvent, List<Pending>)>(waiting.Count);
        var merged = new Dictionary<(string, string, string, string, DateTimeOffset), List<Pending>>();
        foreach (var p in waiting)
        {
            if (!p.Coalesce)
            {
                rows.Add((p.Event, [p]));
                continue;
            }
            var e = p.Event;
            var key = (e.ProjectId, e.KeyId, e.Service, e.Meter, UsagePeriods.Start(e.At, UsagePeriods.Hour));
            if (!merged.TryGetValue(key, out var callers)) merged[key] = callers = [];
            callers.Add(p);
        }
        foreach (var callers in merged.Values)
        {
            var first = callers[0].Event;
            var sum = callers.Count == 1 ? first : new UsageEvent
            {
                ProjectId = first.ProjectId, KeyId = first.KeyId, Service = first.Service, Meter = first.Meter,
                Quantity = callers.Sum(c => c.Event.Quantity), At = callers.Min(c => c.Event.At),
                // The first call's id, and how many calls the row holds: still unique, since each id is the server's own.
                RequestId = $"{first.RequestId}+{callers.Count - 1}",
            };
            rows.Add((sum, callers));
        }
        return rows;
    }

    /// <summary>True when written, false when a constraint refused it (already counted, or the project is gone).</summary>
    private async Task<bool> WriteOneAsync(UsageEvent usage)
    {
        try
        {
            await WriteAsync([usage]);
            return true;
        }
        catch (DbUpdateException e) when (IsConstraintViolation(e))
        {
            return false;
        }
    }

    private static bool IsConstraintViolation(DbUpdateException e) => e.InnerException switch
    {
        Microsoft.Data.Sqlite.SqliteException s => s.SqliteErrorCode == 19, // SQLITE_CONSTRAINT
        Npgsql.PostgresException p => p.SqlState.StartsWith("23", StringComparison.Ordinal), // integrity constraint violation
        _ => false,
    };

    private async Task WriteAsync(IReadOnlyList<UsageEvent> events)
    {
        await using var db = dbFactory.Create();
        await using var transaction = await db.Database.BeginTransactionAsync();
        // Fresh entities: ones from a failed attempt are still marked with that context's temporary keys.
        db.AddRange(events.Select(Copy));
        await db.SaveChangesAsync();
        foreach (var ((projectId, keyId, service, meter, granularity, start), quantity) in Sum(events))
        {
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO usage_aggregates ("ProjectId", "Granularity", "PeriodStart", "KeyId", "Service", "Meter", "Quantity")
                VALUES ({projectId}, {granularity}, {start}, {keyId}, {service}, {meter}, {quantity})
                ON CONFLICT ("ProjectId", "Granularity", "PeriodStart", "KeyId", "Service", "Meter")
                DO UPDATE SET "Quantity" = usage_aggregates."Quantity" + excluded."Quantity"
                """);
        }
        await transaction.CommitAsync();
    }

    private static Dictionary<(string, string, string, string, string, long), double> Sum(IReadOnlyList<UsageEvent> events)
    {
        var sums = new Dictionary<(string, string, string, string, string, long), double>();
        foreach (var e in events)
        {
            foreach (var granularity in Granularities)
            {
                var key = (e.ProjectId, e.KeyId, e.Service, e.Meter, granularity, UsagePeriods.Seconds(UsagePeriods.Start(e.At, granularity)));
                sums[key] = sums.GetValueOrDefault(key) + e.Quantity;
            }
        }
        return sums;
    }

    private static UsageEvent Copy(UsageEvent u) => new()
    {
        ProjectId = u.ProjectId, KeyId = u.KeyId, Service = u.Service, Meter = u.Meter, Quantity = u.Quantity, RequestId = u.RequestId, At = u.At,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write {Count} usage events (attempt {Attempt}); the requests wait and the write is retried")]
    private static partial void LogWriteFailed(ILogger logger, int count, int attempt, Exception exception);
}
