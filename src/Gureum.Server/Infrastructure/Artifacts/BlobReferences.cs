using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Infrastructure.Artifacts;

/// <summary>
/// The store is content-addressed, so one blob may back rows of several kinds (a dataset version and a model, in
/// principle). A blob is deleted only when no row of any kind refers to it any more.
/// </summary>
public static class BlobReferences
{
    public static async Task<bool> IsReferencedAsync(GureumDb db, string sha256) =>
        await db.DatasetVersions.AnyAsync(v => v.Sha256 == sha256) || await db.TrainingJobs.AnyAsync(t => t.ModelSha256 == sha256)
        || await db.Set<Features.Tracking.RunArtifact>().AnyAsync(a => a.Sha256 == sha256)
        || await db.Set<Features.Registry.ModelVersion>().AnyAsync(v => v.Sha256 == sha256)
        || await db.Set<Features.Ai.AiOperation>().AnyAsync(o => o.InputSha256 == sha256);

    public static async Task ReleaseAsync(GureumDbFactory dbFactory, IArtifactStore artifacts, IEnumerable<string> digests)
    {
        await using var db = dbFactory.Create();
        await ReleaseAsync(db, artifacts, digests);
    }

    /// <summary>The same on a context the caller already holds (after its own rows were deleted and saved).</summary>
    public static async Task ReleaseAsync(GureumDb db, IArtifactStore artifacts, IEnumerable<string> digests)
    {
        foreach (var sha256 in digests.Distinct())
        {
            if (!await IsReferencedAsync(db, sha256))
            {
                artifacts.Delete(sha256);
            }
        }
    }
}
