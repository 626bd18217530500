using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Gureum.Server.Infrastructure.Auth;

/// <summary>Who is calling: the key's id, its project (null for admin keys) and its scopes.</summary>
public sealed record Caller(string KeyId, string? ProjectId, IReadOnlyList<string> Scopes)
{
    public bool IsAdmin => Scopes.Contains(Auth.Scopes.Admin);

    public bool Has(string scope) => Auth.Scopes.Satisfies(Scopes, scope);

    public static Caller From(ClaimsPrincipal user) =>
        user.Identity is ApiKeyIdentity identity ? identity.Caller : throw new InvalidOperationException("Route is not authenticated.");
}

internal sealed class ApiKeyIdentity(Caller caller) : ClaimsIdentity(
    [new Claim(ClaimTypes.NameIdentifier, caller.KeyId)], ApiKeyAuthentication.SchemeName)
{
    public Caller Caller { get; } = caller;
}

/// <summary>
/// Reads the key from <c>Authorization: Bearer</c> or <c>X-Api-Key</c> (never from the query string), checks it
/// against the database on every request so a revocation takes effect at once, and answers 401/403 as problem+json.
/// </summary>
internal sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    GureumDbFactory dbFactory,
    AuthCache authCache,
    TimeProvider clock) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    private const string FailureKey = "gureum.auth.failure";

    // last_used_at is written at most once a minute per key: auth must not be a database write per request.
    private static readonly ConcurrentDictionary<string, DateTimeOffset> LastUsedWrites = new();

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = ReadKey(Request);
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }
        string publicId, secret;
        if (!ApiKeyFormat.TryParse(presented, out publicId, out secret))
        {
            (publicId, secret) = (ApiKeyFormat.BootstrapPublicId, presented);
        }
        var row = await authCache.FindKeyAsync(publicId);
        if (row is null || !ApiKeyFormat.Matches(secret, row.SecretHash))
        {
            return Fail("The API key is not valid. Check that it was copied whole; keys look like gur_<id>_<secret>.");
        }
        var now = clock.GetUtcNow();
        if (row.RevokedAt is not null)
        {
            return Fail("The API key was revoked. Ask a project owner for a new key.");
        }
        if (row.ExpiresAt is { } expires && expires <= now)
        {
            return Fail($"The API key expired at {expires:O}. Ask a project owner for a new key.");
        }
        await RecordUseAsync(row.Id, now);
        var caller = new Caller(row.Id, row.ProjectId, row.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ApiKeyIdentity(caller)), SchemeName));
    }

    private AuthenticateResult Fail(string detail)
    {
        Context.Items[FailureKey] = detail;
        return AuthenticateResult.Fail(detail);
    }

    private static string? ReadKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization[7..].Trim();
        }
        var header = request.Headers["X-Api-Key"].ToString();
        return header.Length > 0 ? header.Trim() : null;
    }

    private async Task RecordUseAsync(string keyId, DateTimeOffset now)
    {
        if (LastUsedWrites.TryGetValue(keyId, out var last) && now - last < TimeSpan.FromMinutes(1))
        {
            return;
        }
        LastUsedWrites[keyId] = now;
        await using var db = dbFactory.Create();
        await db.ApiKeys.Where(k => k.Id == keyId).ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, now));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var detail = Context.Items[FailureKey] as string ?? ProblemCodes.DefaultDetail(401);
        Response.Headers.WWWAuthenticate = "Bearer";
        return ProblemsSetup.WriteProblemAsync(Context, ProblemCode.Unauthenticated, detail);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var required = Context.Items[ScopeRequirement.RequiredKey] as string;
        var detail = required is null
            ? ProblemCodes.DefaultDetail(403)
            : $"This route needs the '{required}' scope (or a wider one); this key has '{string.Join(' ', Caller.From(Context.User).Scopes)}'.";
        return ProblemsSetup.WriteProblemAsync(Context, ProblemCode.Forbidden, detail);
    }
}
