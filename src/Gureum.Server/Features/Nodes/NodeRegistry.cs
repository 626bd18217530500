using System.Diagnostics;
using System.Text.Json;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Serving;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Gureum.Server.Infrastructure.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Gureum.Server.Features.Nodes;

/// <summary>
/// Beats this node's <c>cluster_nodes</c> row every few seconds (capabilities, running jobs, loaded models, CPU and
/// memory use) and keeps every node's last row in memory, where the job placement director reads the load.
/// </summary>
public sealed partial class NodeRegistry(
    NodeCapabilities capabilities, GureumDbFactory dbFactory, JobHost jobs, EndpointHost endpoints, ILocalSiloDetails silo, IServer server,
    LiveNodes live, IOptions<ClusterOptions> cluster, IHostApplicationLifetime lifetime, TimeProvider clock, ILogger<NodeRegistry> logger) : BackgroundService
{
    public static readonly TimeSpan BeatPeriod = TimeSpan.FromSeconds(3);
    /// <summary>A node whose row is older than this is reported as not alive.</summary>
    public static readonly TimeSpan AliveWithin = TimeSpan.FromSeconds(15);

    private volatile IReadOnlyList<ClusterNode> _nodes = [];
    private readonly Dictionary<string, int> _placedSinceBeat = [];
    private readonly Lock _gate = new();
    private TimeSpan _lastCpu = Process.GetCurrentProcess().TotalProcessorTime;
    private long _lastCpuAt = Stopwatch.GetTimestamp();
    private readonly long _startedAt = clock.GetUtcNow().ToUnixTimeSeconds();

    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    /// <summary>Running jobs on the silo, counting placements made since its last beat (so a burst spreads out).</summary>
    public int Load(string siloAddress)
    {
        var node = _nodes.FirstOrDefault(n => n.Silo == siloAddress);
        lock (_gate)
        {
            return (node?.RunningJobs ?? 0) + _placedSinceBeat.GetValueOrDefault(siloAddress);
        }
    }

    public void Placed(string siloAddress)
    {
        lock (_gate)
        {
            _placedSinceBeat[siloAddress] = _placedSinceBeat.GetValueOrDefault(siloAddress) + 1;
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAfterStartAsync(lifetime, BeatPeriod, clock, BeatAsync, e => LogBeatFailed(logger, e), stoppingToken);

    public async Task BeatAsync(CancellationToken ct)
    {
        var now = Stopwatch.GetTimestamp();
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var cpuPercent = (cpu - _lastCpu).TotalSeconds / Stopwatch.GetElapsedTime(_lastCpuAt, now).TotalSeconds / capabilities.Cores * 100;
        (_lastCpu, _lastCpuAt) = (cpu, now);
        await using var db = dbFactory.Create();
        var row = await db.Set<ClusterNode>().FirstOrDefaultAsync(n => n.Name == capabilities.Name, ct);
        if (row is null)
        {
            row = new ClusterNode { Name = capabilities.Name };
            db.Add(row);
        }
        row.Silo = silo.SiloAddress.ToParsableString();
        row.Url = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        row.Cores = capabilities.Cores;
        row.MemoryBytes = capabilities.MemoryBytes;
        row.Gpus = JsonSerializer.Serialize(capabilities.Gpus, JsonDefaults.Web);
        row.Labels = JsonSerializer.Serialize(capabilities.Labels, JsonDefaults.Web);
        row.StartedAt = _startedAt;
        row.HeartbeatAt = clock.GetUtcNow().ToUnixTimeSeconds();
        row.RunningJobs = jobs.Running;
        row.LoadedModels = endpoints.All.Sum(e => e.Routes?.All.Select(r => r.Version).Distinct().Count() ?? 0);
        row.CpuPercent = Math.Round(double.IsFinite(cpuPercent) ? cpuPercent : 0, 1);
        row.MemoryUsedBytes = process.WorkingSet64;
        await db.SaveChangesAsync(ct);
        var nodes = await db.Set<ClusterNode>().AsNoTracking().ToListAsync(ct);
        lock (_gate)
        {
            _nodes = nodes;
            _placedSinceBeat.Clear();
        }
        // Outside cluster mode rows of other processes on the same database are not nodes of ours.
        var beat = clock.GetUtcNow().ToUnixTimeSeconds();
        live.Set(cluster.Value.Enabled ? nodes.Count(n => beat - n.HeartbeatAt <= AliveWithin.TotalSeconds) : 1);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node heartbeat failed; retrying")]
    private static partial void LogBeatFailed(ILogger logger, Exception exception);
}
