using System.Reflection;
using Gureum.Server.Features.Projects;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Infrastructure.Auth;

/// <summary>
/// The one place that decides whether the caller may see a project: <c>/v1/projects/{project}/...</c> routes
/// (by id or name) resolve here. Admin keys see every project; other keys only their own. A project the caller
/// may not see answers 404, exactly like one that does not exist, so ids of other tenants never leak.
/// Handlers take a <see cref="ProjectScope"/> parameter and filter every query by <see cref="ProjectId"/>.
/// </summary>
public sealed class ProjectScope
{
    private const string ItemKey = "gureum.project-scope";

    public required Project Project { get; init; }
    public required Caller Caller { get; init; }
    public string ProjectId => Project.Id;

    /// <summary>Minimal-API binding: resolves the <c>{project}</c> route value for the current caller, or answers 404.</summary>
    public static async ValueTask<ProjectScope?> BindAsync(HttpContext http, ParameterInfo parameter) =>
        await ResolveAsync(http) ?? throw NotFound(http.GetRouteValue("project") as string ?? "");

    internal static async Task<ProjectScope?> ResolveAsync(HttpContext http)
    {
        if (http.Items.TryGetValue(ItemKey, out var cached))
        {
            return cached as ProjectScope;
        }
        ProjectScope? scope = null;
        if (http.GetRouteValue("project") is string reference && http.User.Identity is ApiKeyIdentity identity)
        {
            var caller = identity.Caller;
            var project = await http.RequestServices.GetRequiredService<AuthCache>().FindProjectAsync(reference);
            if (project is not null && (caller.IsAdmin || caller.ProjectId == project.Id))
            {
                scope = new ProjectScope { Project = project, Caller = caller };
            }
        }
        http.Items[ItemKey] = scope;
        return scope;
    }

    public static GureumException NotFound(string reference) => new(ProblemCode.NotFound,
        $"Project '{reference}' was not found, or this API key belongs to another project. List yours with GET /v1/projects.");
}

/// <summary>Put on the <c>/v1/projects/{project}</c> group: no handler below it runs for a project the caller cannot see.</summary>
internal sealed class ProjectAccessFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (await ProjectScope.ResolveAsync(context.HttpContext) is null)
        {
            throw ProjectScope.NotFound(context.HttpContext.GetRouteValue("project") as string ?? "");
        }
        return await next(context);
    }
}
