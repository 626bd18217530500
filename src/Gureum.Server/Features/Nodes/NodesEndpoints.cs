using System.Text.Json;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Nodes;

public sealed record NodeLoad(int RunningJobs, int LoadedModels, double CpuPercent, long MemoryUsedBytes);

public sealed record NodeResponse(
    string Name, bool Alive, string? Url, int Cores, long MemoryBytes, IReadOnlyList<GpuInfo> Gpus, IReadOnlyDictionary<string, string> Labels,
    NodeLoad Load, DateTimeOffset StartedAt, DateTimeOffset LastSeenAt);

/// <summary>The nodes of the cluster (one in single-process mode) with their capabilities and live load, for operators.</summary>
public static class NodesEndpoints
{
    public static IServiceCollection AddNodes(this IServiceCollection services) => services
        .AddSingleton<NodeCapabilities>()
        .AddSingleton<LiveNodes>()
        .AddSingleton<NodeRegistry>().AddHostedService(sp => sp.GetRequiredService<NodeRegistry>());

    public static IEndpointRouteBuilder MapNodes(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/nodes", List).WithTags("Nodes").RequireScope(Scopes.Admin)
            .WithSummary("Every node that has joined: cores, memory, GPUs, labels, and its load (running jobs, loaded models, CPU, memory); alive when seen in the last 15 s")
            .WithStandardErrors();
        return app;
    }

    private static async Task<Ok<List<NodeResponse>>> List(GureumDb db, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var rows = await db.Set<ClusterNode>().AsNoTracking().OrderBy(n => n.Name).ToListAsync(ct);
        return TypedResults.Ok(rows.ConvertAll(n => new NodeResponse(
            n.Name, now - DateTimeOffset.FromUnixTimeSeconds(n.HeartbeatAt) <= NodeRegistry.AliveWithin, n.Url, n.Cores, n.MemoryBytes,
            JsonSerializer.Deserialize<List<GpuInfo>>(n.Gpus, Infrastructure.JsonDefaults.Web) ?? [],
            JsonSerializer.Deserialize<Dictionary<string, string>>(n.Labels) ?? [],
            new NodeLoad(n.RunningJobs, n.LoadedModels, n.CpuPercent, n.MemoryUsedBytes),
            DateTimeOffset.FromUnixTimeSeconds(n.StartedAt), DateTimeOffset.FromUnixTimeSeconds(n.HeartbeatAt))));
    }
}
