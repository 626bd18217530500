using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Gureum.Server.Features.Usage;

/// <summary>
/// Usage is durable before the caller answers its request, without a database transaction per call: callers await
/// their event; one writer appends everything queued to a journal file in the data directory and fsyncs it once
/// for all of them (group commit). Every second the journal is sealed and moved into the database: each event
/// inserted unless its request id was counted before, with its hour/day/month aggregates, in one transaction; the
/// sealed file is deleted only after the commit, and moved again at start if the server died first. A kill -9 can
/// therefore lose only usage of calls that were never answered, and nothing is counted twice (unique index on
/// project, request id, service and meter).
/// </summary>
public sealed partial class UsageMeter(
    GureumDbFactory dbFactory, MeteringOptions options, IOptions<GureumOptions> gureum, TimeProvider clock, ILogger<UsageMeter> logger) : BackgroundService
{
    private const int MaxBatch = 4_096;
    private const int MaxInsert = 2_000;
    private static readonly TimeSpan MoveEvery = TimeSpan.FromSeconds(1);
    private static readonly string[] Granularities = [UsagePeriods.Hour, UsagePeriods.Day, UsagePeriods.Month];
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _file = new(1, 1);
    private readonly SemaphoreSlim _moving = new(1, 1);
    private readonly TaskCompletionSource _recovered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _directory = Path.Combine(gureum.Value.FullDataDirectory, "usage");
    private FileStream? _journal;
    private long _sequence;

    /// <summary>An event to journal, or (Event null) a marker completed once everything queued before it is journaled.</summary>
    private sealed record Pending(UsageEvent? Event, bool Coalesce, TaskCompletionSource Written);

    private string JournalPath => Path.Combine(_directory, "journal.current");

    /// <summary>
    /// Queues one event and completes once it is durable (journaled and fsynced). A replayed request id is recognised
    /// when the journal is moved into the database, and counted once. <paramref name="coalesce"/> (predictions:
    /// thousands per second, under request ids the server drew, so never replayed) lets the writer store the calls of
    /// one batch that share project, key, service, meter and hour as one event holding their sum.
    /// </summary>
    public Task RecordAsync(string projectId, string keyId, string service, string meter, double quantity, string requestId,
        DateTimeOffset? at = null, bool coalesce = false)
    {
        if (!options.Enabled) return Task.CompletedTask;
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var usage = new UsageEvent
        {
            ProjectId = projectId, KeyId = keyId, Service = service, Meter = meter, Quantity = quantity, RequestId = requestId,
            At = at ?? clock.GetUtcNow(),
        };
        if (!_queue.Writer.TryWrite(new Pending(usage, coalesce, written)))
        {
            // Only after shutdown: straight into the database rather than drop a bill.
            return WriteAsync([usage]);
        }
        return written.Task;
    }

    /// <summary>Moves everything recorded before this call into the database now (reports read the database).</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        if (!options.Enabled) return;
        await _recovered.Task.WaitAsync(ct);
        var marker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_queue.Writer.TryWrite(new Pending(null, false, marker))) await marker.Task.WaitAsync(ct);
        await MoveAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled) return;
        Directory.CreateDirectory(_directory);
        await RecoverAsync(stoppingToken);
        var mover = MoveLoopAsync(stoppingToken);
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
        // Shutdown: what was queued before the host stopped is still journaled, then moved if the database answers.
        _queue.Writer.TryComplete();
        await DrainAsync(batch);
        await mover;
        try
        {
            await MoveAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            LogMoveFailed(logger, e);
        }
        _journal?.Dispose();
    }

    /// <summary>At start: a journal left by a stopped or killed process is sealed and moved before new calls are journaled.</summary>
    private async Task RecoverAsync(CancellationToken ct)
    {
        _sequence = Directory.EnumerateFiles(_directory, "*.sealed").Select(SequenceOf).DefaultIfEmpty(0).Max();
        if (File.Exists(JournalPath) && new FileInfo(JournalPath).Length > 0) SealCurrent();
        _journal = OpenJournal();
        _recovered.TrySetResult();
        try
        {
            await MoveAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The database is not there yet: new calls are journaled meanwhile; the mover loop retries.
            LogMoveFailed(logger, e);
        }
    }

    private async Task DrainAsync(List<Pending> batch)
    {
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending)) batch.Add(pending);
            if (batch.Count == 0) return;
            await JournalAsync(batch);
        }
    }

    /// <summary>Appends the batch as JSON lines and fsyncs once; then every caller of the batch is released.</summary>
    private async Task JournalAsync(List<Pending> batch)
    {
        var rows = Coalesce([.. batch.Where(p => p.Event is not null)]);
        var buffer = new ArrayBufferWriter<byte>(256 * Math.Max(1, rows.Count));
        foreach (var (row, _) in rows) WriteLine(buffer, row);
        for (var attempt = 1; ; attempt++)
        {
            await _file.WaitAsync();
            try
            {
                _journal ??= OpenJournal();
                var start = _journal.Length;
                try
                {
                    _journal.Write(buffer.WrittenSpan);
                    _journal.Flush(flushToDisk: true);
                    break;
                }
                catch (IOException)
                {
                    // A torn append (disk full, I/O error): cut it off so the journal stays whole lines, then retry.
                    _journal.SetLength(start);
                    throw;
                }
            }
            catch (IOException e)
            {
                LogJournalFailed(logger, batch.Count, attempt, e);
            }
            finally
            {
                _file.Release();
            }
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * attempt)));
        }
        foreach (var p in batch) p.Written.TrySetResult();
    }

    private async Task MoveLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(MoveEvery, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    await MoveAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogMoveFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Seals the journal (if it holds anything) and moves every sealed file into the database, oldest first.</summary>
    private async Task MoveAsync(CancellationToken ct)
    {
        await _moving.WaitAsync(ct);
        try
        {
            await _file.WaitAsync(ct);
            try
            {
                if (_journal is { Length: > 0 })
                {
                    _journal.Dispose();
                    _journal = null;
                    SealCurrent();
                    _journal = OpenJournal();
                }
            }
            finally
            {
                _file.Release();
            }
            foreach (var path in Directory.EnumerateFiles(_directory, "*.sealed").OrderBy(SequenceOf).ToList())
            {
                var events = ReadEvents(path);
                foreach (var chunk in events.Chunk(MaxInsert)) await WriteAsync(chunk);
                File.Delete(path);
                LocalArtifactStore.FsyncDirectory(_directory);
            }
        }
        finally
        {
            _moving.Release();
        }
    }

    private void SealCurrent()
    {
        File.Move(JournalPath, Path.Combine(_directory, $"journal-{++_sequence:D12}.sealed"));
        LocalArtifactStore.FsyncDirectory(_directory);
    }

    private FileStream OpenJournal() => new(JournalPath, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);

    private static long SequenceOf(string path) =>
        long.TryParse(Path.GetFileNameWithoutExtension(path).AsSpan("journal-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static void WriteLine(ArrayBufferWriter<byte> buffer, UsageEvent e)
    {
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("p", e.ProjectId);
            json.WriteString("k", e.KeyId);
            json.WriteString("s", e.Service);
            json.WriteString("m", e.Meter);
            json.WriteNumber("q", e.Quantity);
            json.WriteNumber("t", e.At.ToUnixTimeMilliseconds());
            json.WriteString("r", e.RequestId);
            json.WriteEndObject();
        }
        buffer.Write("\n"u8);
    }

    /// <summary>The events of a sealed journal; a line cut short by a crash (never acknowledged) is skipped.</summary>
    private List<UsageEvent> ReadEvents(string path)
    {
        var events = new List<UsageEvent>();
        foreach (var line in File.ReadLines(path))
        {
            try
            {
                var j = JsonDocument.Parse(line).RootElement;
                events.Add(new UsageEvent
                {
                    ProjectId = j.GetProperty("p").GetString()!, KeyId = j.GetProperty("k").GetString()!, Service = j.GetProperty("s").GetString()!,
                    Meter = j.GetProperty("m").GetString()!, Quantity = j.GetProperty("q").GetDouble(),
                    At = DateTimeOffset.FromUnixTimeMilliseconds(j.GetProperty("t").GetInt64()), RequestId = j.GetProperty("r").GetString()!,
                });
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                LogTornLine(logger, Path.GetFileName(path));
            }
        }
        return events;
    }

    /// <summary>The rows to insert: each event as it is, except coalescable ones, summed per project, key, service, meter and hour.</summary>
    private static List<(UsageEvent Event, List<Pending> Callers)> Coalesce(List<Pending> waiting)
    {
        var rows = new List<(UsageEvent, List<Pending>)>(waiting.Count);
        // Markers (no event) were filtered out by the caller.
        var merged = new Dictionary<(string, string, string, string, DateTimeOffset), List<Pending>>();
        foreach (var p in waiting)
        {
            if (!p.Coalesce)
            {
                rows.Add((p.Event!, [p]));
                continue;
            }
            var e = p.Event!;
            var key = (e.ProjectId, e.KeyId, e.Service, e.Meter, UsagePeriods.Start(e.At, UsagePeriods.Hour));
            if (!merged.TryGetValue(key, out var callers)) merged[key] = callers = [];
            callers.Add(p);
        }
        foreach (var callers in merged.Values)
        {
            var first = callers[0].Event!;
            var sum = callers.Count == 1 ? first : new UsageEvent
            {
                ProjectId = first.ProjectId, KeyId = first.KeyId, Service = first.Service, Meter = first.Meter,
                Quantity = callers.Sum(c => c.Event!.Quantity), At = callers.Min(c => c.Event!.At),
                // The first call's id, and how many calls the row holds: still unique, since each id is the server's own.
                RequestId = $"{first.RequestId}+{callers.Count - 1}",
            };
            rows.Add((sum, callers));
        }
        return rows;
    }

    /// <summary>
    /// One transaction: each event inserted unless its request id was counted before (then skipped, not an error),
    /// and the aggregates of those inserted. Returns, per event, whether it was inserted.
    /// </summary>
    private async Task<bool[]> WriteAsync(IReadOnlyList<UsageEvent> events)
    {
        await using var db = dbFactory.Create();
        await using var transaction = await db.Database.BeginTransactionAsync();
        var sqlite = db.Database.IsSqlite();
        var inserted = new bool[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            // SQLite keeps DateTimeOffset as binary ticks (SqliteGureumDb's converter); PostgreSQL as timestamptz.
            object at = sqlite ? SqliteTime.ConvertToProvider(e.At)! : e.At;
            inserted[i] = await db.Database.ExecuteSqlAsync($"""
                INSERT INTO usage_events ("ProjectId", "KeyId", "Service", "Meter", "Quantity", "At", "RequestId")
                VALUES ({e.ProjectId}, {e.KeyId}, {e.Service}, {e.Meter}, {e.Quantity}, {at}, {e.RequestId})
                ON CONFLICT ("ProjectId", "RequestId", "Service", "Meter") DO NOTHING
                """) == 1;
        }
        foreach (var ((projectId, keyId, service, meter, granularity, start), quantity) in Sum(events.Where((_, i) => inserted[i])))
        {
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO usage_aggregates ("ProjectId", "Granularity", "PeriodStart", "KeyId", "Service", "Meter", "Quantity")
                VALUES ({projectId}, {granularity}, {start}, {keyId}, {service}, {meter}, {quantity})
                ON CONFLICT ("ProjectId", "Granularity", "PeriodStart", "KeyId", "Service", "Meter")
                DO UPDATE SET "Quantity" = usage_aggregates."Quantity" + excluded."Quantity"
                """);
        }
        await transaction.CommitAsync();
        return inserted;
    }

    private static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.DateTimeOffsetToBinaryConverter SqliteTime = new();

    private static Dictionary<(string, string, string, string, string, long), double> Sum(IEnumerable<UsageEvent> events)
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


    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not append {Count} usage events to the journal (attempt {Attempt}); the requests wait and the write is retried")]
    private static partial void LogJournalFailed(ILogger logger, int count, int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not move the usage journal into the database; it stays on disk and is retried")]
    private static partial void LogMoveFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped an unreadable line in usage journal {File} (cut short by a crash before it was acknowledged)")]
    private static partial void LogTornLine(ILogger logger, string file);
}
