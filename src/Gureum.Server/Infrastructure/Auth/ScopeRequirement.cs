using Microsoft.AspNetCore.Authorization;

namespace Gureum.Server.Infrastructure.Auth;

/// <summary>An authorization policy per scope: <c>.RequireScope(Scopes.ProjectRead)</c> on a route or group.</summary>
internal sealed class ScopeRequirement(string scope) : AuthorizationHandler<ScopeRequirement>, IAuthorizationRequirement
{
    public const string RequiredKey = "gureum.auth.required-scope";

    public string Scope { get; } = scope;

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (context.User.Identity is ApiKeyIdentity identity && identity.Caller.Has(requirement.Scope))
        {
            context.Succeed(requirement);
        }
        else if (context.Resource is HttpContext http)
        {
            http.Items[RequiredKey] = requirement.Scope;
        }
        return Task.CompletedTask;
    }
}

public static class AuthSetup
{
    public static IServiceCollection AddGureumAuth(this IServiceCollection services)
    {
        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorization(o =>
        {
            // Every route needs a valid key unless it says AllowAnonymous (health, docs). There is no switch to turn this off.
            o.FallbackPolicy = new AuthorizationPolicyBuilder(ApiKeyAuthentication.SchemeName).RequireAuthenticatedUser().Build();
            foreach (var scope in Scopes.All)
            {
                o.AddPolicy(PolicyName(scope), p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName)
                    .RequireAuthenticatedUser().AddRequirements(new ScopeRequirement(scope)));
            }
        });
        services.AddSingleton<IAuthorizationHandler>(new ScopeRequirement(Scopes.Admin));
        services.AddMemoryCache();
        services.AddSingleton<AuthCache>();
        return services;
    }

    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(PolicyName(scope));

    private static string PolicyName(string scope) => "scope:" + scope;
}
