using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Nodes;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Cluster;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;

namespace Gureum.Server.Features.Usage;

/// <summary>
/// Usage is written before the caller answers its request, without a database round trip per call: the call appends
/// its event as one line to a journal file in the data directory (one write system call; from then on the event is in
/// the operating system's page cache and survives a crash or kill -9 of the process). The journal is fsynced every
/// <see cref="MeteringOptions.FsyncInterval"/> (so a power cut loses at most that much), or before the answer when
/// <see cref="MeteringOptions.SyncEachCall"/> is set. Every second the journal is sealed and moved into the
/// database: each event inserted unless its request id was counted before, with its hour/day/month aggregates, in one
/// transaction; the sealed file is deleted only after the commit, and moved again at start if the server died first.
/// Nothing is counted twice (unique index on project, request id, service and meter).
/// </summary>
/// <remarks>
/// In cluster mode each node keeps its journal in the shared artifact directory (<c>usage/&lt;node&gt;/</c>) and holds
/// an exclusive lock on <c>owner.lock</c> there while it runs. Every <see cref="AdoptEvery"/> a node looks at the other
/// nodes' folders: one whose node has not beaten its heartbeat for <see cref="AdoptAfter"/> and whose lock it can take
/// (so no process still writes there) is adopted — its journal sealed and moved like its own — so the last second of
/// a node that was killed and never came back is billed, once.
/// </remarks>
public sealed partial class UsageMeter(
    GureumDbFactory dbFactory, MeteringOptions options, IOptions<GureumOptions> gureum, IOptions<ClusterOptions> cluster, NodeIdentity node,
    TimeProvider clock, ILogger<UsageMeter> logger) : BackgroundService
{
    private const int MaxInsert = 2_000;
    private const string OwnerLock = "owner.lock";
    private static readonly TimeSpan MoveEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan AdoptEvery = TimeSpan.FromSeconds(5);
    /// <summary>Longer than the time after which a node is reported not alive: a slow node is not robbed of its journal.</summary>
    private static readonly TimeSpan AdoptAfter = NodeRegistry.AliveWithin + TimeSpan.FromSeconds(5);
    private static readonly TimeSpan OwnerLockWait = TimeSpan.FromSeconds(30);
    private static readonly string[] Granularities = [UsagePeriods.Hour, UsagePeriods.Day, UsagePeriods.Month];
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _moving = new(1, 1);
    private readonly SemaphoreSlim _syncRequested = new(0);
    private readonly string _directory = cluster.Value.Enabled
        ? Path.Combine(gureum.Value.FullArtifactsDirectory, "usage", JournalFolder(node.Name))
        : Path.Combine(gureum.Value.FullDataDirectory, "usage");
    private SafeFileHandle? _ownerLock;
    private long _lastAdoption;
    private SafeFileHandle? _journal;
    private long _offset;
    private long _synced;
    /// <summary>Coalescable series (project, key, service, meter) defined in the current journal file, by number.</summary>
    private readonly Dictionary<(string, string, string, string), int> _series = [];
    private bool _opened;
    private bool _closed;
    private TaskCompletionSource? _nextSync;

    private const string CurrentJournal = "journal.current";

    private string JournalPath => Path.Combine(_directory, CurrentJournal);

    /// <summary>
    /// Appends one event to the journal; it counts from now on, even if the process dies before answering. With
    /// <see cref="MeteringOptions.SyncEachCall"/> the task completes once it is fsynced. A replayed request id is
    /// recognised when the journal is moved into the database, and counted once. <paramref name="coalesce"/>
    /// (predictions: thousands per second, under request ids the server drew, so never replayed) lets the move store
    /// the calls of one journal file that share project, key, service, meter and hour as one event holding their sum.
    /// </summary>
    public Task RecordAsync(string projectId, string keyId, string service, string meter, double quantity, string requestId,
        DateTimeOffset? at = null, bool coalesce = false)
    {
        if (!options.Enabled) return Task.CompletedTask;
        var usage = new UsageEvent
        {
            ProjectId = projectId, KeyId = keyId, Service = service, Meter = meter, Quantity = quantity, RequestId = requestId,
            At = at ?? clock.GetUtcNow(),
        };
        Span<byte> stack = stackalloc byte[512];
        TaskCompletionSource? synced = null;
        lock (_gate)
        {
            if (_closed)
            {
                // After shutdown: straight into the database rather than drop a bill.
                return WriteAsync([usage]);
            }
            OpenIfNeeded();
            scoped ReadOnlySpan<byte> line;
            if (coalesce && Plain(projectId) && Plain(keyId) && Plain(service) && Plain(meter) && double.IsFinite(quantity))
            {
                // A short line naming its series; the series is defined once per file by a full line.
                if (!_series.TryGetValue((projectId, keyId, service, meter), out var series))
                {
                    _series[(projectId, keyId, service, meter)] = series = _series.Count;
                    Append(FormatLine(stack, usage, series));
                }
                System.Text.Unicode.Utf8.TryWrite(stack, CultureInfo.InvariantCulture, $"c {series} {quantity:R} {usage.At.ToUnixTimeMilliseconds()}\n", out var n);
                line = stack[..n];
            }
            else
            {
                line = FormatLine(stack, usage);
            }
            // One positioned write; the gate keeps lines whole and in order.
            Append(line);
            if (options.SyncEachCall) synced = _nextSync ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        if (synced is null) return Task.CompletedTask;
        _syncRequested.Release();
        return synced.Task;
    }

    /// <summary>Under the gate.</summary>
    private void Append(ReadOnlySpan<byte> line)
    {
        RandomAccess.Write(_journal!, line, _offset);
        _offset += line.Length;
    }

    /// <summary>Moves everything recorded before this call into the database now (reports read the database).</summary>
    public Task FlushAsync(CancellationToken ct = default) => options.Enabled ? MoveAsync(ct) : Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled) return;
        lock (_gate) OpenIfNeeded();
        var syncer = SyncLoopAsync(stoppingToken);
        try
        {
            await MoveAsync(stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The database is not there yet: calls are journaled meanwhile; the loop below retries.
            LogMoveFailed(logger, e);
        }
        using (var timer = new PeriodicTimer(MoveEvery, clock))
        {
            try
            {
                while (await timer.WaitForNextTickAsync(stoppingToken))
                {
                    try
                    {
                        await MoveAsync(stoppingToken);
                        if (cluster.Value.Enabled && clock.GetElapsedTime(_lastAdoption) >= AdoptEvery)
                        {
                            _lastAdoption = clock.GetTimestamp();
                            await AdoptOrphanedJournalsAsync(stoppingToken);
                        }
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
        await syncer;
        // Shutdown: what was journaled is moved now if the database answers, or at the next start.
        try
        {
            await MoveAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            LogMoveFailed(logger, e);
        }
        lock (_gate)
        {
            _closed = true;
            Sync();
            _journal?.Dispose();
            _journal = null;
            _ownerLock?.Dispose();
            _ownerLock = null;
        }
    }

    /// <summary>First use: a journal left by a stopped or killed process is sealed (moved soon after), a new one opened.</summary>
    private void OpenIfNeeded()
    {
        if (_opened) return;
        Directory.CreateDirectory(_directory);
        if (cluster.Value.Enabled) _ownerLock = TakeOwnerLock();
        if (HasJournal(_directory)) SealCurrent();
        OpenJournal();
        _opened = true;
    }

    /// <summary>fsyncs what was appended since the last sync: every interval, or at once when a call waits for it.</summary>
    private async Task SyncLoopAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await _syncRequested.WaitAsync(options.FsyncInterval, ct);
                TaskCompletionSource? waiting;
                SafeFileHandle? handle;
                long upTo;
                lock (_gate)
                {
                    waiting = _nextSync;
                    _nextSync = null;
                    handle = _journal;
                    upTo = _offset;
                }
                if (handle is not null && upTo > Interlocked.Read(ref _synced))
                {
                    try
                    {
                        RandomAccess.FlushToDisk(handle);
                        Interlocked.Exchange(ref _synced, upTo);
                    }
                    catch (ObjectDisposedException)
                    {
                        // Sealed meanwhile: sealing syncs the file itself.
                    }
                }
                waiting?.TrySetResult();
            }
        }
        catch (OperationCanceledException)
        {
        }
        lock (_gate)
        {
            Sync();
            _nextSync?.TrySetResult();
            _nextSync = null;
        }
    }

    /// <summary>Seals the journal (if it holds anything) and moves every sealed file into the database, oldest first.</summary>
    private async Task MoveAsync(CancellationToken ct)
    {
        await _moving.WaitAsync(ct);
        try
        {
            lock (_gate)
            {
                if (_journal is not null && _offset > 0)
                {
                    Sync();
                    _journal.Dispose();
                    SealCurrent();
                    OpenJournal();
                    _nextSync?.TrySetResult();
                    _nextSync = null;
                }
            }
            await MoveSealedAsync(_directory);
        }
        finally
        {
            _moving.Release();
        }
    }

    private async Task MoveSealedAsync(string directory)
    {
        foreach (var path in Directory.EnumerateFiles(directory, "*.sealed").Order(StringComparer.Ordinal).ToList())
        {
            foreach (var chunk in ReadEvents(path).Chunk(MaxInsert)) await WriteAsync(chunk);
            File.Delete(path);
            LocalArtifactStore.FsyncDirectory(directory);
        }
    }

    /// <summary>A node's folder: its name when that is a plain file name, otherwise a hash of it.</summary>
    internal static string JournalFolder(string nodeName) =>
        nodeName.Length is > 0 and <= 64 && nodeName is not "." and not ".." && nodeName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? nodeName
            : "node-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(nodeName)))[..32];

    /// <summary>
    /// This node's claim on its journal folder (an exclusive advisory lock, released by the kernel when the process
    /// dies). An adopter holds it for the moment it moves the folder; a node that restarts meanwhile waits for it.
    /// </summary>
    private SafeFileHandle TakeOwnerLock()
    {
        var started = clock.GetTimestamp();
        while (true)
        {
            if (TryLock(_directory) is { } handle) return handle;
            if (clock.GetElapsedTime(started) > OwnerLockWait)
            {
                throw new InvalidOperationException(
                    $"The usage journal folder {_directory} is locked by another process: is another node running with the node name '{node.Name}'? Give each node its own --node-name.");
            }
            Thread.Sleep(200);
        }
    }

    private static SafeFileHandle? TryLock(string directory)
    {
        try
        {
            // FileShare.None takes flock(LOCK_EX | LOCK_NB) on Linux: it fails while any process holds the file.
            return File.OpenHandle(Path.Combine(directory, OwnerLock), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Moves the journals of nodes that stopped beating and whose folder nobody holds (see the remarks).</summary>
    private async Task AdoptOrphanedJournalsAsync(CancellationToken ct)
    {
        var root = Path.GetDirectoryName(_directory)!;
        var others = Directory.EnumerateDirectories(root).Where(d => !string.Equals(d, _directory, StringComparison.Ordinal)).ToList();
        if (others.Count == 0) return;
        var since = clock.GetUtcNow().Subtract(AdoptAfter).ToUnixTimeSeconds();
        HashSet<string> beating;
        await using (var db = dbFactory.Create())
        {
            var names = await db.Set<ClusterNode>().Where(n => n.HeartbeatAt >= since).Select(n => n.Name).ToListAsync(ct);
            beating = [.. names.Select(JournalFolder)];
        }
        foreach (var folder in others)
        {
            if (beating.Contains(Path.GetFileName(folder))) continue;
            var hasJournal = HasJournal(folder);
            if (!hasJournal && !Directory.EnumerateFiles(folder, "*.sealed").Any()) continue;
            using var claim = TryLock(folder);
            if (claim is null) continue; // its node still runs (or another node adopts it right now)
            if (hasJournal) Seal(folder);
            await MoveSealedAsync(folder);
            LogAdopted(logger, Path.GetFileName(folder));
        }
    }

    /// <summary>Under the gate.</summary>
    private void Sync()
    {
        if (_journal is null || _offset <= Interlocked.Read(ref _synced)) return;
        RandomAccess.FlushToDisk(_journal);
        Interlocked.Exchange(ref _synced, _offset);
    }

    private void SealCurrent()
    {
        Seal(_directory);
        _series.Clear();
    }

    /// <summary>Whether a node's folder holds a journal with anything in it.</summary>
    private static bool HasJournal(string directory)
    {
        var journal = new FileInfo(Path.Combine(directory, CurrentJournal));
        return journal.Exists && journal.Length > 0;
    }

    /// <summary>Renames a folder's journal to a sealed file, to be moved into the database.</summary>
    private static void Seal(string directory)
    {
        // A ULID names the file: sorts by time, and never repeats (coalesced rows are named after their file).
        File.Move(Path.Combine(directory, CurrentJournal), Path.Combine(directory, $"journal-{Ids.New()}.sealed"));
        LocalArtifactStore.FsyncDirectory(directory);
    }

    private void OpenJournal()
    {
        _journal = File.OpenHandle(JournalPath, FileMode.Append, FileAccess.Write, FileShare.Read);
        _offset = RandomAccess.GetLength(_journal);
        Interlocked.Exchange(ref _synced, _offset);
        LocalArtifactStore.FsyncDirectory(_directory);
    }

    /// <summary>
    /// The event as one JSON line: formatted straight into <paramref name="stack"/> when every string is plain ASCII
    /// with nothing to escape (ids, names and meters always are), through a JSON writer otherwise.
    /// </summary>
    private static ReadOnlySpan<byte> FormatLine(Span<byte> stack, UsageEvent e, int? series = null)
    {
        if (series is null && Plain(e.ProjectId) && Plain(e.KeyId) && Plain(e.Service) && Plain(e.Meter) && Plain(e.RequestId)
            && System.Text.Unicode.Utf8.TryWrite(stack, CultureInfo.InvariantCulture,
                $"{{\"p\":\"{e.ProjectId}\",\"k\":\"{e.KeyId}\",\"s\":\"{e.Service}\",\"m\":\"{e.Meter}\",\"q\":{e.Quantity:R},\"t\":{e.At.ToUnixTimeMilliseconds()},\"r\":\"{e.RequestId}\"}}\n",
                out var written)
            && double.IsFinite(e.Quantity))
        {
            return stack[..written];
        }
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteLine(buffer, e, series);
        return buffer.WrittenSpan;
    }

    private static bool Plain(string text)
    {
        foreach (var c in text)
        {
            if (c is < ' ' or > '~' or '"' or '\\') return false;
        }
        return true;
    }

    private static void WriteLine(ArrayBufferWriter<byte> buffer, UsageEvent e, int? series = null)
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
            if (series is { } id) json.WriteNumber("d", id);
            json.WriteEndObject();
        }
        buffer.Write("\n"u8);
    }

    /// <summary>
    /// The events of a sealed journal. Short lines (<c>c series quantity time</c>) are summed per series and hour into
    /// one event named after the file, the series and the hour, so moving the same file again after a crash is
    /// recognised. A line cut short by a crash is skipped.
    /// </summary>
    private List<UsageEvent> ReadEvents(string path)
    {
        var file = Path.GetFileNameWithoutExtension(path)["journal-".Length..];
        var events = new List<UsageEvent>();
        var series = new Dictionary<int, UsageEvent>();
        var sums = new Dictionary<(int Series, long Hour), (double Quantity, long At)>();
        foreach (var line in File.ReadLines(path))
        {
            try
            {
                if (line.StartsWith("c ", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ');
                    var id = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    var quantity = double.Parse(parts[2], CultureInfo.InvariantCulture);
                    var at = long.Parse(parts[3], CultureInfo.InvariantCulture);
                    if (parts.Length != 4 || !series.ContainsKey(id)) throw new FormatException();
                    var key = (id, at / 3_600_000);
                    sums[key] = sums.TryGetValue(key, out var sum) ? (sum.Quantity + quantity, Math.Min(sum.At, at)) : (quantity, at);
                    continue;
                }
                var j = JsonDocument.Parse(line).RootElement;
                var e = new UsageEvent
                {
                    ProjectId = j.GetProperty("p").GetString()!, KeyId = j.GetProperty("k").GetString()!, Service = j.GetProperty("s").GetString()!,
                    Meter = j.GetProperty("m").GetString()!, Quantity = j.GetProperty("q").GetDouble(),
                    At = DateTimeOffset.FromUnixTimeMilliseconds(j.GetProperty("t").GetInt64()), RequestId = j.GetProperty("r").GetString()!,
                };
                if (j.TryGetProperty("d", out var definition)) series[definition.GetInt32()] = e;
                else events.Add(e);
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException or OverflowException)
            {
                LogTornLine(logger, Path.GetFileName(path));
            }
        }
        foreach (var ((id, hour), (quantity, at)) in sums)
        {
            var s = series[id];
            events.Add(new UsageEvent
            {
                ProjectId = s.ProjectId, KeyId = s.KeyId, Service = s.Service, Meter = s.Meter, Quantity = quantity,
                At = DateTimeOffset.FromUnixTimeMilliseconds(at), RequestId = $"{file}/{id}/{hour}",
            });
        }
        return events;
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


    [LoggerMessage(Level = LogLevel.Information, Message = "Moved the usage journal of node folder {Folder}, whose node stopped, into the database")]
    private static partial void LogAdopted(ILogger logger, string folder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not move the usage journal into the database; it stays on disk and is retried")]
    private static partial void LogMoveFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped an unreadable line in usage journal {File} (cut short by a crash)")]
    private static partial void LogTornLine(ILogger logger, string file);
}
