using System.Text.Json;
using Gureum.Server.Infrastructure;

namespace Gureum.Server.Features.Jobs;

[Alias("gureum.jobs.IJobGrain")]
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Starts the job if it is queued and this node meets its requirements; returns at once (the work runs in the background).</summary>
    [Alias("start")]
    Task Start(string? requirements);

    [Alias("cancel")]
    Task Cancel();
}

/// <summary>
/// One activation per job id in the whole cluster, so a job never runs twice at once. The grain holds only the
/// running task; the job row holds all state. A keep-alive timer beats the heartbeat and notices cancels made
/// through other nodes.
/// </summary>
[Nodes.JobPlacement]
internal sealed partial class JobGrain(JobStore store, JobHandlers handlers, JobHost host, Nodes.NodeCapabilities node, ILogger<JobGrain> logger) : Grain, IJobGrain
{
    private static readonly TimeSpan HeartbeatPeriod = TimeSpan.FromSeconds(5);
    private Task? _run;
    private CancellationTokenSource? _cancel;
    private IGrainTimer? _heartbeat;

    public async Task Start(string? requirements)
    {
        if (_run is { IsCompleted: false })
        {
            return;
        }
        // Placement picks a node that qualifies when there is one; this is the guarantee (data marked sovereign is never read elsewhere).
        var needs = Nodes.NodeRequirements.FromJson(requirements);
        if (!node.Satisfies(needs))
        {
            await store.NoteWaitingAsync(this.GetPrimaryKeyString(), $"queued: waiting for a node with {needs}");
            DeactivateOnIdle();
            return;
        }
        if (host.Stopping.IsCancellationRequested)
        {
            return; // this node is going down; the job stays queued for the next start or another node
        }
        var jobId = this.GetPrimaryKeyString();
        var job = await store.TryStartAsync(jobId, host.Node);
        if (job is null)
        {
            DeactivateOnIdle();
            return;
        }
        var handler = handlers.Find(job.Kind);
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(host.Stopping);
        _heartbeat = this.RegisterGrainTimer(BeatAsync, new GrainTimerCreationOptions(HeartbeatPeriod, HeartbeatPeriod) { KeepAlive = true, Interleave = true });
        var token = _cancel.Token;
        // Task.Run: the work leaves the grain's single-threaded scheduler; the continuation comes back to it.
        _run = host.Track(Task.Run(() => RunAsync(job, handler, token), CancellationToken.None))
            .ContinueWith(_ => Finished(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Current);
    }

    public Task Cancel()
    {
        _cancel?.Cancel();
        return Task.CompletedTask;
    }

    private async Task BeatAsync(CancellationToken ct)
    {
        if (_run is { IsCompleted: false } && await store.HeartbeatAsync(this.GetPrimaryKeyString()))
        {
            _cancel?.Cancel();
        }
    }

    private void Finished()
    {
        _heartbeat?.Dispose();
        _cancel?.Dispose();
        _cancel = null;
        DeactivateOnIdle();
    }

    private async Task RunAsync(Job job, IJobHandler? handler, CancellationToken ct)
    {
        if (handler is null)
        {
            await store.FinishAsync(job.Id, JobStatus.Failed, null, $"No handler for job kind '{job.Kind}' on this node.", "failed");
            return;
        }
        try
        {
            var result = await handler.RunAsync(new JobContext(job, store) { Stopping = host.Stopping }, ct);
            await store.FinishAsync(job.Id, JobStatus.Succeeded, result?.GetRawText(), null, "succeeded");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            if (host.Stopping.IsCancellationRequested)
            {
                await store.RequeueAsync(job.Id, "interrupted by shutdown; resumes from the last checkpoint on the next start", refundAttempt: true);
            }
            else
            {
                await store.FinishAsync(job.Id, JobStatus.Cancelled, null, null, "cancelled on request");
            }
        }
        catch (Exception e)
        {
            LogFailed(logger, job.Id, job.Kind, job.Attempts, e);
            var error = e is JobFailedException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            if (e is not JobFailedException && job.Attempts < host.MaxAttempts)
            {
                await store.RequeueAsync(job.Id, $"attempt {job.Attempts} failed ({error}); retrying");
            }
            else
            {
                await store.FinishAsync(job.Id, JobStatus.Failed, null, error, "failed");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ({Kind}) attempt {Attempt} failed")]
    private static partial void LogFailed(ILogger logger, string jobId, string kind, int attempt, Exception exception);
}

/// <summary>A failure the handler knows retrying cannot fix (bad data): the job fails at once.</summary>
public sealed class JobFailedException(string message) : Exception(message);
