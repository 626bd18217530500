using System.Text.Json;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Serving;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Automation;

public sealed record RetrainingPolicyResponse(
    string Id, string Endpoint, RetrainingPolicySpec Spec, string Model, int ChampionVersion, DateTimeOffset? NextScheduledAt, int? LastDatasetVersion,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record RetrainingEventResponse(DateTimeOffset At, string Step, string Outcome, string Message, JsonElement Data);

public sealed record RetrainingRunResponse(
    string Id, string Endpoint, string Trigger, JsonElement TriggerDetail, string Status, string? Reason, string Model, int ChampionVersion,
    string? ChallengerTrainingJob, int? ChallengerVersion, JsonElement? Evidence, string? DecidedBy, string? DecisionComment, DateTimeOffset? DecidedAt,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<RetrainingEventResponse>? Events);

public sealed record DecisionRequest(string? Comment);

/// <summary>Retraining policies on endpoints, their runs with the audit trail, and the approvals inbox.</summary>
public static class RetrainingEndpoints
{
    public static IServiceCollection AddAutomation(this IServiceCollection services, IConfiguration configuration)
    {
        var webhooks = new WebhookOptions();
        configuration.GetSection("Gureum:Webhooks").Bind(webhooks);
        var automation = new AutomationOptions();
        configuration.GetSection("Gureum:Automation").Bind(automation);
        return services.AddSingleton(webhooks).AddSingleton(automation).AddSingleton<OutboundUrls>().AddSingleton<WebhookSender>()
            .AddSingleton<RetrainingRuns>().AddSingleton<IJobHandler, RetrainingPipeline>()
            .AddSingleton<AutomationHost>().AddHostedService(sp => sp.GetRequiredService<AutomationHost>());
    }

    public static IEndpointRouteBuilder MapAutomation(this IEndpointRouteBuilder app)
    {
        var endpoints = app.MapProjectGroup("/endpoints").WithTags("Automation");
        endpoints.MapAlerts();
        endpoints.MapPut("/{name}/retraining-policy", PutPolicy).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Set the endpoint's retraining policy: triggers (cron, alerts, new dataset versions), training overrides, promotion rule, smoke test, approval, canary")
            .WithStandardErrors(422);
        endpoints.MapGet("/{name}/retraining-policy", GetPolicy).RequireScope(Scopes.ProjectRead).WithSummary("The endpoint's retraining policy").WithStandardErrors();
        endpoints.MapDelete("/{name}/retraining-policy", DeletePolicy).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Remove the policy (runs and their audit trail stay)").WithStandardErrors();
        endpoints.MapPost("/{name}/retraining-policy/run", RunNow).RequireScope(Scopes.ProjectWrite).WithIdempotency()
            .WithSummary("Start a retraining run now (a manual trigger)").WithStandardErrors(409, 422);
        endpoints.MapGet("/{name}/retraining-runs", ListRuns).RequireScope(Scopes.ProjectRead)
            .WithSummary("The endpoint's retraining runs, newest first").WithStandardErrors();

        var runs = app.MapProjectGroup("/retraining-runs").WithTags("Automation");
        runs.MapGet("/{id}", GetRun).RequireScope(Scopes.ProjectRead)
            .WithSummary("A retraining run with its evidence and every step (the audit log)").WithStandardErrors();

        var approvals = app.MapProjectGroup("/approvals").WithTags("Automation");
        approvals.MapGet("/", Pending).RequireScope(Scopes.ProjectRead)
            .WithSummary("Challengers waiting for a decision, with the evidence: metric comparison, smoke test, what triggered the run").WithStandardErrors();
        approvals.MapPost("/{id}/approve", Approve).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Approve: the challenger goes to canary (if the policy has one) and then replaces the champion").WithStandardErrors(409);
        approvals.MapPost("/{id}/reject", Reject).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Reject: the champion stays; the challenger stays registered for the record").WithStandardErrors(409);
        return app;
    }

    /// <summary>The deployment that answers most of the endpoint's traffic: the model a policy retrains.</summary>
    internal static async Task<ResolvedDeployment> ChampionAsync(GureumDb db, InferenceEndpoint endpoint, CancellationToken ct)
    {
        List<ResolvedDeployment> resolved;
        try
        {
            resolved = await Deployments.ResolveAsync(db, endpoint.ProjectId, EndpointSpec.FromJson(endpoint.Spec), ct);
        }
        catch (DeploymentException e)
        {
            throw new GureumException(ProblemCode.Unprocessable, e.Message);
        }
        var champion = resolved.Where(d => !d.Deployment.Shadow).OrderByDescending(d => d.Deployment.Weight ?? 1).First();
        if (champion.Version.TrainingJobId is null)
        {
            throw new GureumException(ProblemCode.Unprocessable,
                $"{champion.Model.Name} v{champion.Version.Version} was not trained by Gureum; retraining reuses the champion's training configuration. Deploy an AutoML model.");
        }
        return champion;
    }

    private static async Task<Ok<RetrainingPolicyResponse>> PutPolicy(ProjectScope scope, string name, RetrainingPolicySpec spec, GureumDb db, OutboundUrls urls,
        TimeProvider clock, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        spec.Validate(urls);
        var champion = await ChampionAsync(db, endpoint, ct);
        if (spec.Dataset is { } reference) await DatasetsEndpoints.FindAsync(db, scope, reference, ct);
        var now = clock.GetUtcNow();
        var policy = await db.Set<RetrainingPolicy>().FirstOrDefaultAsync(p => p.EndpointId == endpoint.Id && p.ProjectId == scope.ProjectId, ct);
        if (policy is null)
        {
            policy = new RetrainingPolicy { Id = Ids.New(), ProjectId = scope.ProjectId, EndpointId = endpoint.Id, Spec = "", CreatedAt = now };
            db.Add(policy);
        }
        policy.Spec = spec.ToJson();
        policy.Enabled = spec.Enabled;
        policy.NextScheduledAt = spec.NextOccurrence(now)?.ToUnixTimeSeconds();
        // Only versions that arrive from now on trigger a run.
        policy.LastDatasetVersion = await AutomationHost.LatestDatasetVersionAsync(db, scope.ProjectId, spec.Dataset ?? await ChampionDatasetAsync(db, champion, ct), ct);
        policy.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(Describe(policy, endpoint, champion));
    }

    internal static async Task<string> ChampionDatasetAsync(GureumDb db, ResolvedDeployment champion, CancellationToken ct) =>
        await db.TrainingJobs.AsNoTracking().Where(t => t.Id == champion.Version.TrainingJobId).Select(t => t.DatasetId).FirstOrDefaultAsync(ct) ?? "";

    private static async Task<Ok<RetrainingPolicyResponse>> GetPolicy(ProjectScope scope, string name, GureumDb db, CancellationToken ct)
    {
        var (endpoint, policy) = await FindPolicyAsync(db, scope, name, ct);
        return TypedResults.Ok(Describe(policy, endpoint, await ChampionAsync(db, endpoint, ct)));
    }

    private static async Task<NoContent> DeletePolicy(ProjectScope scope, string name, GureumDb db, CancellationToken ct)
    {
        var (_, policy) = await FindPolicyAsync(db, scope, name, ct);
        db.Remove(policy);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    private static async Task<Accepted<RetrainingRunResponse>> RunNow(HttpContext http, ProjectScope scope, string name, GureumDb db, RetrainingRuns runs, CancellationToken ct)
    {
        var (endpoint, policy) = await FindPolicyAsync(db, scope, name, ct);
        var champion = await ChampionAsync(db, endpoint, ct);
        var run = await runs.StartAsync(policy, "manual", "manual:" + http.TraceIdentifier, new { by = scope.Caller.KeyId }, champion.Model.Name, champion.Version.Version, ct)
            ?? throw new GureumException(ProblemCode.Conflict, "This trigger was already taken.");
        if (run.Status == RunStatus.Skipped)
        {
            throw new GureumException(ProblemCode.Conflict, $"A retraining run of this endpoint is in progress ({run.Reason}); wait for it, or decide its approval.");
        }
        return TypedResults.Accepted($"/v1/projects/{scope.ProjectId}/retraining-runs/{run.Id}", Describe(run, endpoint.Name, null));
    }

    private static async Task<Ok<Page<RetrainingRunResponse>>> ListRuns(ProjectScope scope, string name, int? limit, string? before, GureumDb db, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        var take = Paging.Limit(limit);
        var query = db.Set<RetrainingRun>().AsNoTracking().Where(r => r.EndpointId == endpoint.Id && r.ProjectId == scope.ProjectId);
        if (before is not null) query = query.Where(r => string.Compare(r.Id, before) < 0);
        var rows = await query.OrderByDescending(r => r.Id).Take(take + 1).ToListAsync(ct);
        return TypedResults.Ok(Paging.From(rows.ConvertAll(r => Describe(r, endpoint.Name, null)), take, r => r.Id));
    }

    private static async Task<Ok<RetrainingRunResponse>> GetRun(ProjectScope scope, string id, GureumDb db, CancellationToken ct)
    {
        var run = await FindRunAsync(db, scope, id, ct);
        var events = await db.Set<RetrainingEvent>().AsNoTracking().Where(e => e.RunId == run.Id && e.ProjectId == scope.ProjectId).OrderBy(e => e.Id).ToListAsync(ct);
        return TypedResults.Ok(Describe(run, await EndpointNameAsync(db, run, ct), events));
    }

    private static async Task<Ok<List<RetrainingRunResponse>>> Pending(ProjectScope scope, GureumDb db, CancellationToken ct)
    {
        var rows = await db.Set<RetrainingRun>().AsNoTracking().Where(r => r.ProjectId == scope.ProjectId && r.Status == RunStatus.PendingApproval)
            .OrderBy(r => r.Id).Take(Paging.MaxLimit).ToListAsync(ct);
        var names = await db.Set<InferenceEndpoint>().AsNoTracking().Where(e => e.ProjectId == scope.ProjectId).ToDictionaryAsync(e => e.Id, e => e.Name, ct);
        return TypedResults.Ok(rows.ConvertAll(r => Describe(r, names.GetValueOrDefault(r.EndpointId) ?? "(deleted)", null)));
    }

    private static Task<Accepted<RetrainingRunResponse>> Approve(ProjectScope scope, string id, DecisionRequest? request, GureumDb db, RetrainingRuns runs,
        TimeProvider clock, CancellationToken ct) => DecideAsync(scope, id, request, approve: true, db, runs, clock, ct);

    private static Task<Accepted<RetrainingRunResponse>> Reject(ProjectScope scope, string id, DecisionRequest? request, GureumDb db, RetrainingRuns runs,
        TimeProvider clock, CancellationToken ct) => DecideAsync(scope, id, request, approve: false, db, runs, clock, ct);

    private static async Task<Accepted<RetrainingRunResponse>> DecideAsync(ProjectScope scope, string id, DecisionRequest? request, bool approve, GureumDb db,
        RetrainingRuns runs, TimeProvider clock, CancellationToken ct)
    {
        var comment = request?.Comment;
        if (comment is { Length: > 2000 }) throw GureumException.Invalid("comment", "'comment' is at most 2000 characters.");
        var run = await FindRunAsync(db, scope, id, ct);
        var status = approve ? RunStatus.Approved : RunStatus.Rejected;
        var now = clock.GetUtcNow();
        // Conditional: of two racing decisions exactly one is taken.
        var taken = await db.Set<RetrainingRun>().Where(r => r.Id == run.Id && r.ProjectId == scope.ProjectId && r.Status == RunStatus.PendingApproval)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, status).SetProperty(r => r.DecidedBy, scope.Caller.KeyId)
                .SetProperty(r => r.DecisionComment, comment).SetProperty(r => r.DecidedAt, now).SetProperty(r => r.UpdatedAt, now)
                .SetProperty(r => r.Reason, approve ? null : "rejected" + (comment is null ? "" : ": " + comment)), ct);
        if (taken == 0)
        {
            throw new GureumException(ProblemCode.Conflict, $"Retraining run '{id}' is {run.Status}, not waiting for approval; nothing to decide.");
        }
        run.Status = status;
        db.Add(runs.Event(run, "approval", approve ? "approved" : "rejected", $"{(approve ? "approved" : "rejected")} by key {scope.Caller.KeyId}{(comment is null ? "" : ": " + comment)}",
            new { by = scope.Caller.KeyId, comment }));
        await db.SaveChangesAsync(ct);
        if (approve) await runs.ContinueAsync(scope.ProjectId, run.Id, ct);
        var updated = await FindRunAsync(db, scope, id, ct);
        return TypedResults.Accepted($"/v1/projects/{scope.ProjectId}/retraining-runs/{run.Id}", Describe(updated, await EndpointNameAsync(db, run, ct), null));
    }

    private static async Task<(InferenceEndpoint Endpoint, RetrainingPolicy Policy)> FindPolicyAsync(GureumDb db, ProjectScope scope, string name, CancellationToken ct)
    {
        var endpoint = await ServingEndpoints.FindAsync(db, scope.ProjectId, name, ct);
        var policy = await db.Set<RetrainingPolicy>().FirstOrDefaultAsync(p => p.EndpointId == endpoint.Id && p.ProjectId == scope.ProjectId, ct)
            ?? throw new GureumException(ProblemCode.NotFound, $"Endpoint '{name}' has no retraining policy; set one with PUT .../endpoints/{name}/retraining-policy.");
        return (endpoint, policy);
    }

    private static async Task<RetrainingRun> FindRunAsync(GureumDb db, ProjectScope scope, string id, CancellationToken ct) =>
        await db.Set<RetrainingRun>().AsNoTracking().FirstOrDefaultAsync(r => r.Id == id && r.ProjectId == scope.ProjectId, ct)
        ?? throw new GureumException(ProblemCode.NotFound, $"Retraining run '{id}' was not found in this project. List pending ones with GET .../approvals.");

    private static async Task<string> EndpointNameAsync(GureumDb db, RetrainingRun run, CancellationToken ct) =>
        await db.Set<InferenceEndpoint>().AsNoTracking().Where(e => e.Id == run.EndpointId).Select(e => e.Name).FirstOrDefaultAsync(ct) ?? "(deleted)";

    private static RetrainingPolicyResponse Describe(RetrainingPolicy p, InferenceEndpoint endpoint, ResolvedDeployment champion) => new(
        p.Id, endpoint.Name, RetrainingPolicySpec.FromJson(p.Spec), champion.Model.Name, champion.Version.Version,
        p.NextScheduledAt is { } next ? DateTimeOffset.FromUnixTimeSeconds(next) : null, p.LastDatasetVersion, p.CreatedAt, p.UpdatedAt);

    private static RetrainingRunResponse Describe(RetrainingRun r, string endpoint, List<RetrainingEvent>? events) => new(
        r.Id, endpoint, r.Trigger, Json(r.TriggerDetail)!.Value, r.Status, r.Reason, r.Model, r.ChampionVersion, r.ChallengerTrainingJobId, r.ChallengerVersion,
        Json(r.Evidence), r.DecidedBy, r.DecisionComment, r.DecidedAt, r.CreatedAt, r.UpdatedAt,
        events?.ConvertAll(e => new RetrainingEventResponse(e.At, e.Step, e.Outcome, e.Message, Json(e.Data)!.Value)));

    private static JsonElement? Json(string? text) => text is null ? null : JsonDocument.Parse(text).RootElement.Clone();
}
