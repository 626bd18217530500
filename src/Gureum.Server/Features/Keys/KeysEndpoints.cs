using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Gureum.Server.Features.Projects;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Keys;

/// <param name="Name">A label for the key (same rule as resource names).</param>
/// <param name="Scopes">Any of project:write, project:read, predict, ai; default project:read. Never wider than the caller's.</param>
/// <param name="ExpiresAt">Optional expiry, in the future.</param>
public sealed record CreateKeyRequest(string Name, string[]? Scopes = null, DateTimeOffset? ExpiresAt = null);

public sealed record CreateAdminKeyRequest(string Name, DateTimeOffset? ExpiresAt = null);

/// <summary>A key as listed: never its secret or hash.</summary>
public sealed record KeyResponse(
    string Id, string PublicId, string? ProjectId, string Name, string[] Scopes, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt)
{
    public static KeyResponse From(ApiKey k, DateTimeOffset now) => new(
        k.Id, k.PublicId, k.ProjectId, k.Name, k.Scopes.Split(' '),
        k.RevokedAt is not null ? "revoked" : k.ExpiresAt <= now ? "expired" : "active",
        k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.LastUsedAt);
}

/// <summary>The answer to a key creation: the only time the full key is ever returned.</summary>
public sealed record CreatedKeyResponse(KeyResponse Key, string Secret);

/// <summary>API keys of a project (project:write) and admin keys (admin). Keys are revoked, never edited.</summary>
public static class KeysEndpoints
{
    public static IEndpointRouteBuilder MapKeys(this IEndpointRouteBuilder app)
    {
        var keys = app.MapProjectGroup("/keys").WithTags("Keys").RequireScope(Scopes.ProjectWrite);
        keys.MapPost("/", Create).WithIdempotency().WithSummary("Create a key (the secret is shown once)").WithStandardErrors();
        keys.MapGet("/", List).WithSummary("List the project's keys, without secrets").WithStandardErrors();
        keys.MapDelete("/{keyId}", Revoke).WithSummary("Revoke a key; it stops working at once").WithStandardErrors();

        var admin = app.MapGroup("/v1/admin/keys").WithTags("Keys").RequireScope(Scopes.Admin);
        admin.MapPost("/", CreateAdmin).WithIdempotency().WithSummary("Create an admin key (for rotation)").WithStandardErrors();
        admin.MapGet("/", ListAdmin).WithSummary("List admin keys").WithStandardErrors();
        admin.MapDelete("/{keyId}", RevokeAdmin).WithSummary("Revoke an admin key (not the last active one)").WithStandardErrors(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Created<CreatedKeyResponse>> Create(
        ProjectScope scope, CreateKeyRequest request, GureumDb db, TimeProvider clock, CancellationToken ct)
    {
        ResourceNames.Validate("name", request.Name);
        var scopes = request.Scopes is { Length: > 0 } ? request.Scopes.Distinct().ToArray() : [Scopes.ProjectRead];
        foreach (var s in scopes)
        {
            if (!Scopes.IsKnown(s))
            {
                throw GureumException.Invalid("scopes", $"Unknown scope '{s}'. Known scopes: {string.Join(", ", Scopes.All)}.");
            }
            if (s == Scopes.Admin)
            {
                throw GureumException.Invalid("scopes", "Project keys cannot carry 'admin'; an admin creates admin keys with POST /v1/admin/keys.");
            }
            if (!scope.Caller.Has(s))
            {
                throw new GureumException(ProblemCode.Forbidden, $"This key cannot grant '{s}', a scope it does not hold itself.");
            }
        }
        var now = clock.GetUtcNow();
        ValidateExpiry(request.ExpiresAt, now);
        var created = await AddKeyAsync(db, scope.ProjectId, request.Name, scopes, request.ExpiresAt, now, ct);
        return TypedResults.Created($"/v1/projects/{scope.ProjectId}/keys/{created.Key.Id}", created);
    }

    private static async Task<Ok<Page<KeyResponse>>> List(
        ProjectScope scope, GureumDb db, TimeProvider clock, int? limit, string? after, CancellationToken ct) =>
        TypedResults.Ok(await ListAsync(db.ApiKeys.Where(k => k.ProjectId == scope.ProjectId), clock, limit, after, ct));

    private static async Task<NoContent> Revoke(ProjectScope scope, string keyId, GureumDb db, AuthCache authCache, TimeProvider clock, CancellationToken ct)
    {
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == keyId && k.ProjectId == scope.ProjectId, ct)
            ?? throw new GureumException(ProblemCode.NotFound, $"Key '{keyId}' was not found in project '{scope.Project.Name}'.");
        key.RevokedAt ??= clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        authCache.EvictKey(key.PublicId);
        return TypedResults.NoContent();
    }

    private static async Task<Created<CreatedKeyResponse>> CreateAdmin(
        CreateAdminKeyRequest request, GureumDb db, TimeProvider clock, CancellationToken ct)
    {
        ResourceNames.Validate("name", request.Name);
        var now = clock.GetUtcNow();
        ValidateExpiry(request.ExpiresAt, now);
        var created = await AddKeyAsync(db, null, request.Name, [Scopes.Admin], request.ExpiresAt, now, ct);
        return TypedResults.Created($"/v1/admin/keys/{created.Key.Id}", created);
    }

    private static async Task<Ok<Page<KeyResponse>>> ListAdmin(GureumDb db, TimeProvider clock, int? limit, string? after, CancellationToken ct) =>
        TypedResults.Ok(await ListAsync(db.ApiKeys.Where(k => k.ProjectId == null), clock, limit, after, ct));

    private static async Task<NoContent> RevokeAdmin(string keyId, GureumDb db, AuthCache authCache, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == keyId && k.ProjectId == null, ct)
            ?? throw new GureumException(ProblemCode.NotFound, $"Admin key '{keyId}' was not found.");
        if (key.RevokedAt is null)
        {
            var othersActive = await db.ApiKeys.AnyAsync(
                k => k.ProjectId == null && k.Id != keyId && k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > now), ct);
            if (!othersActive)
            {
                throw new GureumException(ProblemCode.Conflict, "This is the last active admin key. Create another (POST /v1/admin/keys) before revoking it.");
            }
            key.RevokedAt = now;
            await db.SaveChangesAsync(ct);
            authCache.EvictKey(key.PublicId);
        }
        return TypedResults.NoContent();
    }

    private static void ValidateExpiry(DateTimeOffset? expiresAt, DateTimeOffset now)
    {
        if (expiresAt is { } e && e <= now)
        {
            throw GureumException.Invalid("expiresAt", "'expiresAt' must be in the future.");
        }
    }

    private static async Task<CreatedKeyResponse> AddKeyAsync(
        GureumDb db, string? projectId, string name, string[] scopes, DateTimeOffset? expiresAt, DateTimeOffset now, CancellationToken ct)
    {
        var (publicId, secret, fullKey) = ApiKeyFormat.Generate();
        var key = new ApiKey
        {
            Id = Ids.New(),
            PublicId = publicId,
            ProjectId = projectId,
            Name = name,
            Scopes = string.Join(' ', scopes),
            SecretHash = ApiKeyFormat.Hash(secret),
            CreatedAt = now,
            ExpiresAt = expiresAt?.ToUniversalTime(),
        };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(ct);
        return new CreatedKeyResponse(KeyResponse.From(key, now), fullKey);
    }

    private static async Task<Page<KeyResponse>> ListAsync(
        IQueryable<ApiKey> keys, TimeProvider clock, int? limit, string? after, CancellationToken ct)
    {
        var take = Paging.Limit(limit);
        if (after is not null)
        {
            keys = keys.Where(k => string.Compare(k.Id, after) > 0);
        }
        var rows = await keys.AsNoTracking().OrderBy(k => k.Id).Take(take + 1).ToListAsync(ct);
        var now = clock.GetUtcNow();
        return Paging.From(rows.ConvertAll(k => KeyResponse.From(k, now)), take, k => k.Id);
    }
}
