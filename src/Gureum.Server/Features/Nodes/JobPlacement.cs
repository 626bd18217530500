using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace Gureum.Server.Features.Nodes;

/// <summary>Places a job's grain on a node that meets the job's requirements, the least loaded first (see <see cref="JobPlacementDirector"/>).</summary>
[GenerateSerializer, Immutable, Alias("gureum.placement.jobs")]
public sealed class JobPlacementStrategy : PlacementStrategy;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class JobPlacementAttribute() : PlacementAttribute(new JobPlacementStrategy());

/// <summary>
/// Orleans placement for jobs: of the silos in the cluster, those whose metadata (labels, GPUs, memory) meets the
/// requirements the dispatcher put in the request context, and of those the one with the fewest running jobs. With
/// no node that qualifies the grain starts here and its Start refuses, leaving the job queued until one joins.
/// </summary>
public sealed class JobPlacementDirector(ISiloMetadataCache metadata, NodeRegistry registry) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var requirements = target.RequestContextData?.GetValueOrDefault(NodeRequirements.ContextKey) is string json ? NodeRequirements.FromJson(json) : null;
        var eligible = context.GetCompatibleSilos(target)
            .Where(s => NodeCapabilities.Satisfies(metadata.GetSiloMetadata(s).Metadata, requirements))
            .ToList();
        if (eligible.Count == 0) return Task.FromResult(context.LocalSilo);
        var least = eligible.Select(s => (Silo: s, Load: registry.Load(s.ToParsableString())))
            .GroupBy(s => s.Load).MinBy(g => g.Key)!.ToList();
        var chosen = least[Random.Shared.Next(least.Count)].Silo;
        registry.Placed(chosen.ToParsableString());
        return Task.FromResult(chosen);
    }
}
