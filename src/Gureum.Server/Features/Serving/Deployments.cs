using Gureum.Server.Features.Registry;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Serving;

/// <summary>A deployment with the model and version it names now (an alias as it points at this moment).</summary>
public sealed record ResolvedDeployment(DeploymentSpec Deployment, RegisteredModel Model, ModelVersion Version);

/// <summary>A deployment that names nothing servable; <see cref="Field"/> is its place in the spec (<c>deployments[0].alias</c>).</summary>
public sealed class DeploymentException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// Resolves a spec's deployments to registered versions: at deploy time (a refusal is a 400 naming the field) and
/// on every node before it loads (a refusal is the endpoint's failure reason), by the same rules.
/// </summary>
public static class Deployments
{
    public static async Task<List<ResolvedDeployment>> ResolveAsync(GureumDb db, string projectId, EndpointSpec spec, CancellationToken ct)
    {
        var result = new List<ResolvedDeployment>();
        for (var i = 0; i < spec.Deployments.Count; i++)
        {
            var d = spec.Deployments[i];
            var at = $"deployments[{i}]";
            var model = await db.Set<RegisteredModel>().AsNoTracking().FirstOrDefaultAsync(m => m.ProjectId == projectId && m.Name == d.Model, ct)
                ?? throw new DeploymentException(at + ".model", $"'{at}.model': no model named '{d.Model}' in this project.");
            var number = d.Version;
            if (d.Alias is { } alias)
            {
                number = (await db.Set<ModelAlias>().AsNoTracking().FirstOrDefaultAsync(a => a.ModelId == model.Id && a.Alias == alias, ct))?.Version
                    ?? throw new DeploymentException(at + ".alias", $"'{at}.alias': model '{d.Model}' has no alias '{alias}'.");
            }
            var version = await db.Set<ModelVersion>().AsNoTracking().FirstOrDefaultAsync(v => v.ModelId == model.Id && v.Version == number, ct)
                ?? throw new DeploymentException(at + ".version", $"'{at}.version': model '{d.Model}' has no version {number}.");
            if (version.Format != "onnx" && !IsAutoMl(version))
            {
                throw new DeploymentException(at + ".version",
                    $"'{at}': {d.Model}:{number} is an ML.NET pipeline not trained by Gureum AutoML; serving those is not built yet. Export it to ONNX, or train it with Gureum.");
            }
            result.Add(new ResolvedDeployment(d, model, version));
        }
        return result;
    }

    public static bool IsAutoMl(ModelVersion version) => RegistryStore.ReadSignature(version).Metadata.GetValueOrDefault("gureum.kind") == "automl";
}
