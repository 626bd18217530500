using Gureum.Server.Features.Jobs;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Projects;

/// <param name="Name">Unique project name: lower-case letters, digits, '.', '_' and '-' (at most 64).</param>
/// <param name="Description">Free text, at most 1024 characters.</param>
public sealed record CreateProjectRequest(string Name, string? Description = null);

public sealed record ProjectResponse(string Id, string Name, string? Description, DateTimeOffset CreatedAt)
{
    public static ProjectResponse From(Project p) => new(p.Id, p.Name, p.Description, p.CreatedAt);
}

/// <summary>Projects: the tenancy unit. Creating and deleting them is for admin keys; a project key sees its own.</summary>
public static class ProjectsEndpoints
{
    public static IEndpointRouteBuilder MapProjects(this IEndpointRouteBuilder app)
    {
        var projects = app.MapGroup("/v1/projects").WithTags("Projects");
        projects.MapPost("/", Create).RequireScope(Scopes.Admin).WithIdempotency()
            .WithSummary("Create a project").WithStandardErrors(StatusCodes.Status409Conflict);
        projects.MapGet("/", List).RequireScope(Scopes.ProjectRead)
            .WithSummary("List the projects this key can see").WithStandardErrors();

        var project = app.MapProjectGroup("/").WithTags("Projects");
        project.MapGet("/", Get).RequireScope(Scopes.ProjectRead)
            .WithSummary("Get a project by id or name").WithStandardErrors();
        project.MapDelete("/", Delete).RequireScope(Scopes.Admin)
            .WithSummary("Delete a project with its keys and jobs").WithStandardErrors(StatusCodes.Status409Conflict);
        return app;
    }

    /// <summary>A group under <c>/v1/projects/{project}</c>: the project is resolved and access-checked before any handler.</summary>
    public static RouteGroupBuilder MapProjectGroup(this IEndpointRouteBuilder app, string prefix) =>
        app.MapGroup("/v1/projects/{project}" + prefix.TrimEnd('/')).AddEndpointFilter<ProjectAccessFilter>();

    private static async Task<Created<ProjectResponse>> Create(
        CreateProjectRequest request, GureumDb db, TimeProvider clock, CancellationToken ct)
    {
        ResourceNames.Validate("name", request.Name);
        if (request.Description is { Length: > 1024 })
        {
            throw GureumException.Invalid("description", "'description' must be at most 1024 characters.");
        }
        if (await db.Projects.AnyAsync(p => p.Name == request.Name, ct))
        {
            throw new GureumException(ProblemCode.Conflict, $"A project named '{request.Name}' already exists. Choose another name.");
        }
        var project = new Project { Id = Ids.New(), Name = request.Name, Description = request.Description, CreatedAt = clock.GetUtcNow() };
        db.Projects.Add(project);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/v1/projects/{project.Id}", ProjectResponse.From(project));
    }

    private static async Task<Ok<Page<ProjectResponse>>> List(
        HttpContext http, GureumDb db, int? limit, string? after, CancellationToken ct)
    {
        var caller = Caller.From(http.User);
        var take = Paging.Limit(limit);
        var query = db.Projects.AsNoTracking();
        if (!caller.IsAdmin)
        {
            query = query.Where(p => p.Id == caller.ProjectId);
        }
        if (after is not null)
        {
            query = query.Where(p => string.Compare(p.Id, after) > 0);
        }
        var rows = await query.OrderBy(p => p.Id).Take(take + 1).ToListAsync(ct);
        return TypedResults.Ok(Paging.From(rows.ConvertAll(ProjectResponse.From), take, p => p.Id));
    }

    private static Ok<ProjectResponse> Get(ProjectScope scope) => TypedResults.Ok(ProjectResponse.From(scope.Project));

    private static async Task<NoContent> Delete(ProjectScope scope, GureumDb db, AuthCache authCache, IEnumerable<IProjectCleanup> cleanups, CancellationToken ct)
    {
        var busy = await db.Jobs.CountAsync(j => j.ProjectId == scope.ProjectId && (j.Status == JobStatus.Running || j.Status == JobStatus.Queued), ct);
        if (busy > 0)
        {
            throw new GureumException(ProblemCode.Conflict,
                $"Project '{scope.Project.Name}' has {busy} queued or running job(s). Cancel them (POST .../jobs/{{id}}/cancel) and retry.");
        }
        var keys = await db.ApiKeys.Where(k => k.ProjectId == scope.ProjectId).Select(k => k.PublicId).ToListAsync(ct);
        var afterDelete = new List<Func<Task>>();
        foreach (var cleanup in cleanups)
        {
            afterDelete.Add(await cleanup.BeforeDeleteAsync(db, scope.ProjectId, ct));
        }
        await db.Projects.Where(p => p.Id == scope.ProjectId).ExecuteDeleteAsync(ct);
        foreach (var step in afterDelete)
        {
            await step();
        }
        keys.ForEach(authCache.EvictKey);
        authCache.EvictProject(scope.Project);
        return TypedResults.NoContent();
    }
}
