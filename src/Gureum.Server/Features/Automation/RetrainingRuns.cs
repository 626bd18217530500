using System.Text.Json;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Automation;

public static class RunStatus
{
    public const string Queued = "queued";
    public const string Training = "training";
    public const string Evaluating = "evaluating";
    public const string PendingApproval = "pending-approval";
    public const string Approved = "approved";
    public const string Canary = "canary";
    public const string Promoted = "promoted";
    public const string NotBetter = "not-better";
    public const string Rejected = "rejected";
    public const string RolledBack = "rolled-back";
    public const string Failed = "failed";
    public const string Skipped = "skipped";

    /// <summary>A run in one of these holds its policy: a new trigger is recorded as skipped, not run beside it.</summary>
    public static readonly IReadOnlyList<string> Active = [Queued, Training, Evaluating, PendingApproval, Approved, Canary];
}

/// <summary>Starts retraining runs (once per trigger key) and writes their audit events.</summary>
public sealed class RetrainingRuns(GureumDbFactory dbFactory, JobStore jobs, JobHost host, TimeProvider clock)
{
    /// <summary>
    /// Records the trigger and queues the pipeline, in one transaction; null when this trigger was already taken (by
    /// this node earlier or by another). While another run of the policy is active the trigger is recorded as skipped.
    /// </summary>
    public async Task<RetrainingRun?> StartAsync(RetrainingPolicy policy, string trigger, string triggerKey, object detail, string model, int championVersion,
        CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        if (await db.Set<RetrainingRun>().AnyAsync(r => r.PolicyId == policy.Id && r.TriggerKey == triggerKey, ct))
        {
            return null;
        }
        var busy = await db.Set<RetrainingRun>().Where(r => r.PolicyId == policy.Id && RunStatus.Active.Contains(r.Status)).Select(r => r.Id).FirstOrDefaultAsync(ct);
        var now = clock.GetUtcNow();
        RetrainingRun NewRun(string id, string status, string? reason) => new()
        {
            Id = id, ProjectId = policy.ProjectId, PolicyId = policy.Id, EndpointId = policy.EndpointId, Trigger = trigger, TriggerKey = triggerKey,
            TriggerDetail = JsonSerializer.Serialize(detail, JsonDefaults.Web), Status = status, Reason = reason, Model = model, ChampionVersion = championVersion,
            CreatedAt = now, UpdatedAt = now,
        };
        try
        {
            if (busy is not null)
            {
                var skipped = NewRun(Ids.New(), RunStatus.Skipped, $"run {busy} of this policy is still in progress");
                db.Add(skipped);
                db.Add(Event(skipped, "trigger", "skipped", skipped.Reason!, detail));
                await db.SaveChangesAsync(ct);
                return skipped;
            }
            RetrainingRun? run = null;
            var job = await jobs.CreateAsync(policy.ProjectId, RetrainingPipeline.JobKind, null, ct, (jobsDb, job) =>
            {
                run = NewRun(job.Id, RunStatus.Queued, null);
                jobsDb.Add(run);
                jobsDb.Add(Event(run, "trigger", "accepted", $"{trigger} trigger: retraining {model} (champion v{championVersion})", detail));
            });
            await host.DispatchAsync(job.Id);
            return run;
        }
        catch (DbUpdateException)
        {
            return null; // another node took the same trigger key between the check and the insert
        }
    }

    /// <summary>
    /// Queues the rest of an approved run as a job of its own, whose id is derived from the run's: created at most once,
    /// and created by the automation sweep if the approval's node stopped between recording the decision and this.
    /// </summary>
    public async Task ContinueAsync(string projectId, string runId, CancellationToken ct)
    {
        var id = ContinuationJobId(runId);
        try
        {
            await jobs.CreateAsync(projectId, RetrainingPipeline.JobKind, JsonSerializer.SerializeToElement(new { runId }), ct, id: id);
        }
        catch (DbUpdateException)
        {
            // Already queued by another caller.
        }
        await host.DispatchAsync(id);
    }

    public static string ContinuationJobId(string runId) => runId[..^1] + (runId[^1] == 'z' ? 'y' : 'z');

    /// <summary>Approved runs whose continuation job was never created (the approving node stopped in between).</summary>
    public async Task ResumeApprovedAsync(CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var approved = await db.Set<RetrainingRun>().AsNoTracking().Where(r => r.Status == RunStatus.Approved)
            .Select(r => new { r.Id, r.ProjectId }).ToListAsync(ct);
        foreach (var run in approved)
        {
            var continuation = ContinuationJobId(run.Id);
            var pending = await db.Jobs.AnyAsync(j => j.Id == continuation
                || (j.Id == run.Id && j.Status != Jobs.JobStatus.Succeeded && j.Status != Jobs.JobStatus.Failed && j.Status != Jobs.JobStatus.Cancelled), ct);
            if (!pending)
            {
                await ContinueAsync(run.ProjectId, run.Id, ct);
            }
        }
    }

    public RetrainingEvent Event(RetrainingRun run, string step, string outcome, string message, object? data = null) => new()
    {
        RunId = run.Id, ProjectId = run.ProjectId, At = clock.GetUtcNow(), Step = step, Outcome = outcome,
        Message = message.Length > 2000 ? message[..2000] : message, Data = JsonSerializer.Serialize(data ?? new { }, JsonDefaults.Web),
    };

    /// <summary>Moves the run to a status and records the step, in one write.</summary>
    public async Task RecordAsync(RetrainingRun run, string? status, string step, string outcome, string message, object? data = null, Action<RetrainingRun>? change = null)
    {
        await using var db = dbFactory.Create();
        var row = await db.Set<RetrainingRun>().FirstAsync(r => r.Id == run.Id);
        if (status is not null) row.Status = run.Status = status;
        change?.Invoke(row);
        change?.Invoke(run);
        row.UpdatedAt = run.UpdatedAt = clock.GetUtcNow();
        if (status is RunStatus.Failed or RunStatus.NotBetter or RunStatus.RolledBack or RunStatus.Rejected) row.Reason = run.Reason = message.Length > 2000 ? message[..2000] : message;
        db.Add(Event(run, step, outcome, message, data));
        await db.SaveChangesAsync();
    }
}
