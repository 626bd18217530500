using System.Collections.Concurrent;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Hosting;
using Microsoft.Extensions.Options;

namespace Gureum.Server.Features.Jobs;

/// <summary>
/// This node's side of the job fabric. It dispatches queued jobs to their grains (at start-up that includes jobs
/// interrupted by a crash of this node, and later any job whose runner stopped beating), and on shutdown cancels
/// running jobs so they save their checkpoint and go back to Queued, then waits for them (bounded).
/// </summary>
public sealed partial class JobHost(
    JobStore store, IGrainFactory grains, IHostApplicationLifetime lifetime, IOptions<GureumOptions> options,
    NodeIdentity node, TimeProvider clock, ILogger<JobHost> logger) : BackgroundService
{
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromSeconds(2);
    private readonly ConcurrentDictionary<Task, bool> _running = new();
    private readonly DateTimeOffset _processStartedAt = clock.GetUtcNow();

    public string Node => node.Name;
    public int MaxAttempts => options.Value.JobMaxAttempts;
    /// <summary>Jobs running on this node now.</summary>
    public int Running => _running.Count;
    public CancellationToken Stopping => lifetime.ApplicationStopping;

    public Task Track(Task run)
    {
        _running[run] = true;
        run.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
        return run;
    }

    /// <summary>
    /// Starts a job (a newly submitted one without waiting for the next sweep). Its requirements travel in the request
    /// context, where the placement director reads them to pick the node its grain activates on.
    /// </summary>
    public async Task DispatchAsync(string jobId, string? requirements = null)
    {
        RequestContext.Set(Nodes.NodeRequirements.ContextKey, requirements ?? "");
        try
        {
            await grains.GetGrain<IJobGrain>(jobId).Start(requirements);
        }
        finally
        {
            RequestContext.Remove(Nodes.NodeRequirements.ContextKey);
        }
    }

    /// <summary>Records the cancel request and tells the running activation; false when the job had already ended.</summary>
    public async Task<bool> CancelAsync(string projectId, string jobId, CancellationToken ct)
    {
        if (!await store.RequestCancelAsync(projectId, jobId, ct))
        {
            return false;
        }
        await grains.GetGrain<IJobGrain>(jobId).Cancel();
        return true;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAfterStartAsync(lifetime, SweepPeriod, clock, SweepAsync, e => LogSweepFailed(logger, e), stoppingToken);

    private async Task SweepAsync(CancellationToken ct)
    {
        foreach (var (jobId, requirements) in await store.FindStartableAsync(Node, _processStartedAt, StaleAfter))
        {
            if (Stopping.IsCancellationRequested)
            {
                break;
            }
            await DispatchAsync(jobId, requirements);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // ApplicationStopping already cancelled every running job's token; give them time to checkpoint.
        var all = Task.WhenAll(_running.Keys);
        await Task.WhenAny(all, Task.Delay(options.Value.ShutdownTimeout, cancellationToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job dispatch sweep failed; retrying")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}

/// <summary>This node's stable name: <c>Gureum:NodeName</c>, or an id kept in <c>&lt;data&gt;/node-id</c>.</summary>
public sealed class NodeIdentity
{
    public NodeIdentity(IOptions<GureumOptions> options, IConfiguration configuration)
    {
        var configured = configuration["Gureum:NodeName"];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            Name = configured;
            return;
        }
        var path = Path.Combine(options.Value.FullDataDirectory, "node-id");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(options.Value.FullDataDirectory);
            File.WriteAllText(path, Environment.MachineName.ToLowerInvariant() + "-" + Ids.New()[^8..]);
        }
        Name = File.ReadAllText(path).Trim();
    }

    public string Name { get; }
}
