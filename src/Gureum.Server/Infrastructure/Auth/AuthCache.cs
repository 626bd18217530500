using Gureum.Server.Features.Projects;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;

namespace Gureum.Server.Infrastructure.Auth;

/// <summary>
/// Keeps the rows that every request needs (its key, its project) in memory for a few seconds, so authentication
/// costs no database round trip on the hot path. Revoking a key or deleting a project evicts the entries on this node
/// at once; another node of a cluster sees the change within <see cref="Lifetime"/>. What is cached is the row, not a
/// decision: expiry and revocation are checked on every request.
/// </summary>
public sealed class AuthCache(IMemoryCache cache, GureumDbFactory dbFactory)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);

    private static readonly Func<GureumDb, string, Task<CachedKey?>> FindKey = EF.CompileAsyncQuery(
        (GureumDb db, string publicId) => db.ApiKeys
            .Where(k => k.PublicId == publicId)
            .Select(k => new CachedKey(k.Id, k.PublicId, k.ProjectId, k.Scopes, k.SecretHash, k.ExpiresAt, k.RevokedAt))
            .FirstOrDefault());

    private static readonly Func<GureumDb, string, Task<Project?>> FindProject = EF.CompileAsyncQuery(
        (GureumDb db, string reference) => db.Projects.AsNoTracking().FirstOrDefault(p => p.Id == reference || p.Name == reference));

    public sealed record CachedKey(string Id, string PublicId, string? ProjectId, string Scopes, byte[] SecretHash, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

    public async Task<CachedKey?> FindKeyAsync(string publicId) =>
        await cache.GetOrCreateAsync(("key", publicId), async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = Lifetime;
            await using var db = dbFactory.Create();
            return await FindKey(db, publicId);
        });

    /// <summary>By id or by name. A miss is not remembered: a project created a moment later must be found.</summary>
    public async Task<Project?> FindProjectAsync(string reference)
    {
        if (cache.TryGetValue(("project", reference), out Project? cached))
        {
            return cached;
        }
        await using var db = dbFactory.Create();
        var project = await FindProject(db, reference);
        if (project is not null)
        {
            cache.Set(("project", reference), project, Lifetime);
        }
        return project;
    }

    public void EvictKey(string publicId) => cache.Remove(("key", publicId));

    public void EvictProject(Project project)
    {
        cache.Remove(("project", project.Id));
        cache.Remove(("project", project.Name));
    }
}
