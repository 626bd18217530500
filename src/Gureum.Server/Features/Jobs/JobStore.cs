using System.Text.Json;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Jobs;

/// <summary>
/// Every job state change, as conditional updates on the job row plus an appended event. Transitions are
/// guarded by the current status in the WHERE clause, so two nodes (or a cancel racing a start) cannot both win.
/// </summary>
public sealed class JobStore(GureumDbFactory dbFactory, TimeProvider clock, JobSignals signals)
{
    public DateTimeOffset Now => clock.GetUtcNow();

    /// <param name="alsoAdd">Adds rows that must commit together with the job (a capability's own record of it).</param>
    /// <param name="id">A chosen id (a job that must exist at most once, like a run's continuation); a new ULID when null.</param>
    public async Task<Job> CreateAsync(string projectId, string kind, JsonElement? input, CancellationToken ct, Action<GureumDb, Job>? alsoAdd = null, string? id = null)
    {
        var job = new Job
        {
            Id = id ?? Ids.New(), ProjectId = projectId, Kind = kind, Status = JobStatus.Queued,
            Input = input?.GetRawText(), CreatedAt = Now, Message = "queued",
        };
        await using var db = dbFactory.Create();
        db.Jobs.Add(job);
        db.JobEvents.Add(StatusEvent(job, 1));
        alsoAdd?.Invoke(db, job);
        await db.SaveChangesAsync(ct);
        return job;
    }

    /// <summary>Queued → Running on this node; null when the job is not startable (terminal, cancelled, or taken).</summary>
    public async Task<Job?> TryStartAsync(string jobId, string node)
    {
        await using var db = dbFactory.Create();
        await using var tx = await db.Database.BeginTransactionAsync();
        var now = Now;
        var cancelled = await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatus.Queued && j.CancelRequested)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Cancelled).SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.Message, "cancelled before it started"));
        if (cancelled == 1)
        {
            await AppendStatusEventAsync(db, jobId);
            return null;
        }
        var started = await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatus.Queued)
            .ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, JobStatus.Running)
                .SetProperty(j => j.Attempts, j => j.Attempts + 1)
                .SetProperty(j => j.Node, node)
                .SetProperty(j => j.StartedAt, j => j.StartedAt ?? now)
                .SetProperty(j => j.HeartbeatAt, now)
                .SetProperty(j => j.Message, j => j.Attempts == 0 ? "started" : "resumed"));
        if (started == 0)
        {
            return null;
        }
        await AppendStatusEventAsync(db, jobId);
        return await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == jobId);
    }

    public async Task ReportProgressAsync(string jobId, double percent, string? message, string? checkpoint)
    {
        await using var db = dbFactory.Create();
        var now = Now;
        await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatus.Running).ExecuteUpdateAsync(s => s
            .SetProperty(j => j.Percent, percent)
            .SetProperty(j => j.Message, j => message ?? j.Message)
            .SetProperty(j => j.Checkpoint, j => checkpoint ?? j.Checkpoint)
            .SetProperty(j => j.HeartbeatAt, now));
        await AppendEventAsync(db, jobId, "progress", JsonSerializer.Serialize(new { percent, message }, JsonDefaults.Web));
    }

    /// <summary>Says why a queued job has not started (no node meets its requirements); written only when it changes.</summary>
    public async Task NoteWaitingAsync(string jobId, string message)
    {
        await using var db = dbFactory.Create();
        await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatus.Queued && j.Message != message)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Message, message));
    }

    public async Task LogAsync(string jobId, string message)
    {
        await using var db = dbFactory.Create();
        await AppendEventAsync(db, jobId, "log", JsonSerializer.Serialize(new { message }, JsonDefaults.Web));
    }

    /// <summary>Refreshes the heartbeat; true when a cancel was requested meanwhile (possibly through another node).</summary>
    public async Task<bool> HeartbeatAsync(string jobId)
    {
        await using var db = dbFactory.Create();
        var now = Now;
        await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatus.Running).ExecuteUpdateAsync(s => s.SetProperty(j => j.HeartbeatAt, now));
        return await db.Jobs.AnyAsync(j => j.Id == jobId && j.CancelRequested);
    }

    public async Task FinishAsync(string jobId, JobStatus status, string? result, string? error, string message)
    {
        await using var db = dbFactory.Create();
        await using var tx = await db.Database.BeginTransactionAsync();
        var now = Now;
        var finished = await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatus.Running).ExecuteUpdateAsync(s => s
            .SetProperty(j => j.Status, status)
            .SetProperty(j => j.Result, result)
            .SetProperty(j => j.Error, error)
            .SetProperty(j => j.Message, message)
            .SetProperty(j => j.Percent, j => status == JobStatus.Succeeded ? 100 : j.Percent)
            .SetProperty(j => j.FinishedAt, now));
        if (finished == 1)
        {
            await AppendStatusEventAsync(db, jobId);
        }
    }

    /// <summary>Running → Queued: the job will be started again (from its checkpoint) by the dispatcher.</summary>
    /// <param name="refundAttempt">A graceful shutdown is not the job's fault and does not use up an attempt.</param>
    public async Task RequeueAsync(string jobId, string message, bool refundAttempt = false)
    {
        await using var db = dbFactory.Create();
        await using var tx = await db.Database.BeginTransactionAsync();
        var refund = refundAttempt ? 1 : 0;
        var requeued = await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatus.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Queued).SetProperty(j => j.Message, message)
                .SetProperty(j => j.Attempts, j => j.Attempts - refund));
        if (requeued == 1)
        {
            await AppendStatusEventAsync(db, jobId);
        }
    }

    /// <summary>Marks the cancel; a queued job is cancelled at once, a running one by its runner. False when already finished.</summary>
    public async Task<bool> RequestCancelAsync(string projectId, string jobId, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        await using var tx = await db.Database.BeginTransactionAsync();
        var now = Now;
        var marked = await db.Jobs.Where(j => j.Id == jobId && j.ProjectId == projectId && (j.Status == JobStatus.Queued || j.Status == JobStatus.Running))
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.CancelRequested, true), ct);
        if (marked == 0)
        {
            return false;
        }
        var cancelled = await db.Jobs.Where(j => j.Id == jobId && j.Status == JobStatus.Queued)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Cancelled).SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.Message, "cancelled before it started"), ct);
        if (cancelled == 1)
        {
            await AppendStatusEventAsync(db, jobId);
        }
        else
        {
            await tx.CommitAsync(ct);
        }
        return true;
    }

    public async Task<List<JobEvent>> EventsAfterAsync(string jobId, int afterSequence, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        return await db.JobEvents.AsNoTracking().Where(e => e.JobId == jobId && e.Sequence > afterSequence)
            .OrderBy(e => e.Sequence).Take(200).ToListAsync(ct);
    }

    public async Task<Job?> FindAsync(string projectId, string jobId, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        return await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId && j.ProjectId == projectId, ct);
    }

    /// <summary>Jobs the dispatcher should start: queued ones, and running ones whose runner is gone.</summary>
    public async Task<List<(string Id, string? Requirements)>> FindStartableAsync(string node, DateTimeOffset processStartedAt, TimeSpan staleAfter)
    {
        await using var db = dbFactory.Create();
        var staleBefore = Now - staleAfter;
        var orphans = await db.Jobs.Where(j => j.Status == JobStatus.Running &&
                ((j.Node == node && j.HeartbeatAt < processStartedAt) || j.HeartbeatAt < staleBefore))
            .Select(j => j.Id).ToListAsync();
        foreach (var id in orphans)
        {
            await RequeueAsync(id, "interrupted (node stopped or lost); resuming from the last checkpoint");
        }
        return [.. (await db.Jobs.Where(j => j.Status == JobStatus.Queued).OrderBy(j => j.Id).Select(j => new { j.Id, j.Requirements }).Take(100).ToListAsync())
            .Select(j => (j.Id, j.Requirements))];
    }

    private async Task AppendStatusEventAsync(GureumDb db, string jobId)
    {
        var job = await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == jobId);
        var last = await db.JobEvents.Where(e => e.JobId == jobId).MaxAsync(e => (int?)e.Sequence) ?? 0;
        db.JobEvents.Add(StatusEvent(job, last + 1));
        await SaveEventAsync(db, jobId);
    }

    private async Task AppendEventAsync(GureumDb db, string jobId, string type, string data)
    {
        var last = await db.JobEvents.Where(e => e.JobId == jobId).MaxAsync(e => (int?)e.Sequence) ?? 0;
        db.JobEvents.Add(new JobEvent { JobId = jobId, Sequence = last + 1, At = Now, Type = type, Data = data });
        await SaveEventAsync(db, jobId);
    }

    /// <summary>Saves the event and commits the caller's transaction, if any, so a status and its event appear together.</summary>
    private async Task SaveEventAsync(GureumDb db, string jobId)
    {
        await db.SaveChangesAsync();
        if (db.Database.CurrentTransaction is { } tx)
        {
            await tx.CommitAsync();
        }
        signals.Notify(jobId);
    }

    private JobEvent StatusEvent(Job job, int sequence) => new()
    {
        JobId = job.Id, Sequence = sequence, At = Now, Type = "status",
        Data = JsonSerializer.Serialize(new { status = job.Status, percent = job.Percent, message = job.Message, error = job.Error, attempts = job.Attempts }, JsonDefaults.Web),
    };
}

/// <summary>Wakes event-stream readers on this node as soon as an event is written; other nodes' readers poll.</summary>
public sealed class JobSignals
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _waiters = new();

    public Task WaitAsync(string jobId) =>
        _waiters.GetOrAdd(jobId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify(string jobId)
    {
        if (_waiters.TryRemove(jobId, out var waiter))
        {
            waiter.TrySetResult();
        }
    }
}
