using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Registry;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Serving;

public sealed record PredictionSampleResponse(long Id, string Model, int Version, bool Shadow, string RequestId, DateTimeOffset At, int Status, double LatencyMs, string Input, string Output);

/// <summary>Endpoints: deploy registered model versions with traffic weights and shadows, predict, watch what they do.</summary>
public static class ServingEndpoints
{
    public static IServiceCollection AddServing(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new ServingOptions();
        configuration.GetSection("Gureum:Serving").Bind(options);
        services.AddSingleton(options);
        services.AddSingleton<EndpointHost>().AddHostedService(sp => sp.GetRequiredService<EndpointHost>());
        services.AddSingleton<PredictionLog>().AddHostedService(sp => sp.GetRequiredService<PredictionLog>());
        services.AddSingleton<ServingMetrics>().AddSingleton<EndpointForwarder>();
        services.AddHealthChecks().AddCheck<EndpointsHealthCheck>("endpoints", tags: ["ready"]);
        services.AddSingleton<Predictor>();
        return services;
    }

    public static IEndpointRouteBuilder MapServing(this IEndpointRouteBuilder app)
    {
        app.ServiceProvider.GetRequiredService<ServingMetrics>(); // its instruments exist from now on, for /metrics
        var endpoints = app.MapProjectGroup("/endpoints").WithTags("Serving");
        endpoints.MapPost("/", Create).RequireScope(Scopes.ProjectWrite).WithIdempotency()
            .WithSummary("Deploy model versions (or aliases) under an endpoint name, with traffic weights and shadows; loads in the background").WithStandardErrors(409);
        endpoints.MapGet("/", List).RequireScope(Scopes.ProjectRead).WithSummary("Endpoints of the project with their status on this node").WithStandardErrors();
        endpoints.MapGet("/{name}", Get).RequireScope(Scopes.ProjectRead)
            .WithSummary("An endpoint: status (loading, ready, failed), what serves with which weight, memory, counts and latency").WithStandardErrors();
        endpoints.MapPut("/{name}", Update).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Change versions, weights or settings with no downtime: the new versions load and warm up before traffic moves").WithStandardErrors();
        endpoints.MapDelete("/{name}", Delete).RequireScope(Scopes.ProjectWrite).WithSummary("Delete an endpoint and unload its models").WithStandardErrors();
        endpoints.MapPost("/{name}/predict", Predict).RequireScope(Scopes.Predict).AddEndpointFilter(EndpointForwarder.Filter)
            .Accepts<object>("application/json").Produces(200, contentType: "application/json")
            .WithSummary("Predict: {\"inputs\": {name: nested array}} for ONNX models, {\"records\": [{column: value}]} for AutoML models; ?explain=true adds contributions")
            .WithStandardErrors(413, 429, 504);
        endpoints.MapGet("/{name}/samples", Samples).RequireScope(Scopes.ProjectRead)
            .WithSummary("The latest sampled predictions (inputs and outputs), shadow answers included").WithStandardErrors();
        return app;
    }

    private static async Task<Accepted<EndpointResponse>> Create(ProjectScope scope, CreateEndpointRequest request, GureumDb db, EndpointHost host,
        TimeProvider clock, CancellationToken ct)
    {
        ResourceNames.Validate("name", request.Name);
        var spec = request.Spec;
        spec.Validate();
        var models = await CheckDeploymentsAsync(db, scope.ProjectId, spec, ct);
        if (await db.Set<InferenceEndpoint>().AnyAsync(e => e.ProjectId == scope.ProjectId && e.Name == request.Name, ct))
        {
            throw new GureumException(ProblemCode.Conflict, $"An endpoint named '{request.Name}' already exists in this project; change it with PUT, or pick another name.");
        }
        var now = clock.GetUtcNow();
        var row = new InferenceEndpoint
        {
            Id = Ids.New(), ProjectId = scope.ProjectId, Name = request.Name, Spec = spec.ToJson(), Generation = 1,
            CreatedBy = scope.Caller.KeyId, CreatedAt = now, UpdatedAt = now,
        };
        db.Add(row);
        db.AddRange(Links(row, spec, models));
        await SaveUniqueAsync(db, request.Name, ct);
        host.Schedule(row);
        return TypedResults.Accepted($"/v1/projects/{scope.ProjectId}/endpoints/{row.Name}", Describe(row, host));
    }

    private static async Task<Ok<EndpointListResponse>> List(ProjectScope scope, GureumDb db, EndpointHost host, CancellationToken ct)
    {
        var rows = await db.Set<InferenceEndpoint>().AsNoTracking().Where(e => e.ProjectId == scope.ProjectId).OrderBy(e => e.Name).ToListAsync(ct);
        return TypedResults.Ok(new EndpointListResponse([.. rows.Select(r => Describe(r, host))]));
    }

    private static async Task<Ok<EndpointResponse>> Get(ProjectScope scope, string name, GureumDb db, EndpointHost host, CancellationToken ct) =>
        TypedResults.Ok(Describe(await FindAsync(db, scope.ProjectId, name, ct), host));

    private static async Task<Accepted<EndpointResponse>> Update(ProjectScope scope, string name, EndpointSpec spec, GureumDb db, EndpointHost host,
        TimeProvider clock, CancellationToken ct)
    {
        spec.Validate();
        var row = await FindAsync(db, scope.ProjectId, name, ct);
        await ApplyAsync(db, host, row, spec, clock, ct);
        return TypedResults.Accepted($"/v1/projects/{scope.ProjectId}/endpoints/{row.Name}", Describe(row, host));
    }

    /// <summary>Saves a new spec for the endpoint (a new generation every node loads and warms before traffic moves).</summary>
    internal static async Task ApplyAsync(GureumDb db, EndpointHost host, InferenceEndpoint row, EndpointSpec spec, TimeProvider clock, CancellationToken ct)
    {
        var models = await CheckDeploymentsAsync(db, row.ProjectId, spec, ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        row.Spec = spec.ToJson();
        row.Generation++;
        row.UpdatedAt = clock.GetUtcNow();
        await db.Set<EndpointModel>().Where(m => m.EndpointId == row.Id).ExecuteDeleteAsync(ct);
        db.AddRange(Links(row, spec, models));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        host.Schedule(row);
    }

    private static async Task<NoContent> Delete(ProjectScope scope, string name, GureumDb db, EndpointHost host, CancellationToken ct)
    {
        var row = await FindAsync(db, scope.ProjectId, name, ct);
        db.Remove(row);
        await db.SaveChangesAsync(ct);
        await host.RemoveAsync(scope.ProjectId, name);
        return TypedResults.NoContent();
    }

    private static async Task Predict(ProjectScope scope, string name, bool? explain, HttpContext http, Predictor predictor, CancellationToken ct)
    {
        var (live, routes) = await predictor.FindAsync(scope.ProjectId, name, ct);
        await predictor.HandleAsync(http, live, routes, Protocol.Gureum, null, explain == true, Predictor.WriteGureum, ct);
    }

    private static async Task<Ok<List<PredictionSampleResponse>>> Samples(ProjectScope scope, string name, int? limit, GureumDb db, CancellationToken ct)
    {
        var row = await FindAsync(db, scope.ProjectId, name, ct);
        var take = Paging.Limit(limit);
        var samples = await db.Set<PredictionSample>().AsNoTracking().Where(s => s.EndpointId == row.Id && s.ProjectId == scope.ProjectId)
            .OrderByDescending(s => s.Id).Take(take).ToListAsync(ct);
        return TypedResults.Ok(samples.Select(s => new PredictionSampleResponse(s.Id, s.Model, s.Version, s.Shadow, s.RequestId, s.At, s.Status, s.LatencyMs, s.Input, s.Output)).ToList());
    }

    internal static async Task<InferenceEndpoint> FindAsync(GureumDb db, string projectId, string name, CancellationToken ct) =>
        await db.Set<InferenceEndpoint>().FirstOrDefaultAsync(e => e.ProjectId == projectId && e.Name == name, ct)
        ?? throw new GureumException(ProblemCode.NotFound, $"Endpoint '{name}' was not found in this project. List endpoints with GET /v1/projects/{{project}}/endpoints.");

    /// <summary>Every deployment names an existing model and version (or alias) of a format that can be served; each refusal names the deployment.</summary>
    private static async Task<List<RegisteredModel>> CheckDeploymentsAsync(GureumDb db, string projectId, EndpointSpec spec, CancellationToken ct)
    {
        try
        {
            return [.. (await Deployments.ResolveAsync(db, projectId, spec, ct)).Select(r => r.Model)];
        }
        catch (DeploymentException e)
        {
            throw GureumException.Invalid(e.Field, e.Message);
        }
    }

    private static IEnumerable<EndpointModel> Links(InferenceEndpoint row, EndpointSpec spec, List<RegisteredModel> models) =>
        spec.Deployments.Select((d, i) => new EndpointModel { EndpointId = row.Id, ModelId = models[i].Id, Version = d.Version, Alias = d.Alias, Shadow = d.Shadow });

    private static async Task SaveUniqueAsync(GureumDb db, string name, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            throw new GureumException(ProblemCode.Conflict, $"An endpoint named '{name}' already exists in this project; change it with PUT, or pick another name.");
        }
    }

    public static EndpointResponse Describe(InferenceEndpoint row, EndpointHost host)
    {
        var live = host.Find(row.ProjectId, row.Name);
        var routes = live?.Id == row.Id ? live.Routes : null;
        var serving = routes?.All.Select(r =>
        {
            var v = r.Version;
            var stats = r.Shadow ? v.ShadowStats : v.Stats;
            var histogram = stats.Total.Snapshot();
            var (batches, rows) = v.AnyBatcher?.Counts ?? (0, 0);
            return new ServedVersionResponse(v.Model, v.Version, v.Format, r.Weight, r.Shadow, r.Alias, v.Device, v.Batched, v.MemoryBytes,
                stats.Requests, stats.Errors, LatencyHistogram.Quantile(histogram, 0.5), LatencyHistogram.Quantile(histogram, 0.99),
                batches == 0 ? null : Math.Round((double)rows / batches, 2), v.LoadedAt);
        }).ToList() ?? [];
        var status = live?.Id == row.Id ? live.Status : "loading";
        // A change saved but not yet picked up by this node is reported as pending, never as done.
        var update = live?.Update ?? (live?.Id == row.Id && live.Generation < row.Generation ? "pending" : null);
        var basePath = $"/v1/projects/{row.ProjectId}/endpoints/{row.Name}";
        return new EndpointResponse(row.Id, row.Name, status, live?.Reason, update, row.Generation, EndpointSpec.FromJson(row.Spec), serving,
            basePath + "/predict", $"/v2/models/{row.Name}/infer", live?.DroppedSamples ?? 0, row.CreatedAt, row.UpdatedAt);
    }
}
