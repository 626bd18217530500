using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Gureum.Server.Features.Projects;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Jobs;

/// <param name="Kind">The job kind, e.g. diagnostics.wait.</param>
/// <param name="Input">The kind's input object.</param>
public sealed record SubmitJobRequest(string Kind, JsonElement? Input = null);

public sealed record JobResponse(
    string Id, string ProjectId, string Kind, JobStatus Status, double Percent, string? Message,
    JsonElement? Input, JsonElement? Result, string? Error, int Attempts, bool CancelRequested, string? Node,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt)
{
    public static JobResponse From(Job j) => new(
        j.Id, j.ProjectId, j.Kind, j.Status, j.Percent, j.Message, Parse(j.Input), Parse(j.Result), j.Error,
        j.Attempts, j.CancelRequested, j.Node, j.CreatedAt, j.StartedAt, j.FinishedAt);

    private static JsonElement? Parse(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
}

/// <summary>The job abstraction: submit, list, status, cancel, and a live event stream (SSE).</summary>
public static class JobsEndpoints
{
    public static IEndpointRouteBuilder MapJobs(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapProjectGroup("/jobs").WithTags("Jobs");
        jobs.MapPost("/", Submit).RequireScope(Scopes.ProjectWrite).WithIdempotency()
            .WithSummary("Submit a job of a user-submittable kind").WithStandardErrors();
        jobs.MapGet("/", List).RequireScope(Scopes.ProjectRead).WithSummary("List jobs, newest first").WithStandardErrors();
        jobs.MapGet("/{jobId}", Get).RequireScope(Scopes.ProjectRead).WithSummary("Get a job's status, progress and result").WithStandardErrors();
        jobs.MapPost("/{jobId}/cancel", Cancel).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Cancel a queued or running job").WithStandardErrors(StatusCodes.Status409Conflict);
        jobs.MapGet("/{jobId}/events", Events).RequireScope(Scopes.ProjectRead)
            .WithSummary("Server-Sent Events: status, progress and log events until the job ends (resume with Last-Event-ID)")
            .Produces(200, contentType: "text/event-stream").WithStandardErrors();
        return app;
    }

    private static async Task<Accepted<JobResponse>> Submit(
        ProjectScope scope, SubmitJobRequest request, JobHandlers handlers, JobStore store, JobHost host, CancellationToken ct)
    {
        var handler = handlers.Find(request.Kind ?? "");
        if (handler is not { UserSubmittable: true })
        {
            throw GureumException.Invalid("kind", $"Unknown job kind '{request.Kind}'. Kinds that can be submitted here: {string.Join(", ", handlers.SubmittableKinds)}.");
        }
        if (handler.Validate(request.Input) is { } problem)
        {
            throw GureumException.Invalid("input", problem);
        }
        var job = await store.CreateAsync(scope.ProjectId, handler.Kind, request.Input, ct);
        await host.DispatchAsync(job.Id);
        return TypedResults.Accepted($"/v1/projects/{scope.ProjectId}/jobs/{job.Id}", JobResponse.From(job));
    }

    private static async Task<Ok<Page<JobResponse>>> List(
        ProjectScope scope, GureumDb db, string? status, int? limit, string? before, CancellationToken ct)
    {
        var take = Paging.Limit(limit);
        var query = db.Jobs.AsNoTracking().Where(j => j.ProjectId == scope.ProjectId);
        if (status is not null)
        {
            if (!Enum.TryParse<JobStatus>(status, ignoreCase: true, out var wanted) || int.TryParse(status, out _))
            {
                throw GureumException.Invalid("status", $"'status' must be one of: {string.Join(", ", Enum.GetNames<JobStatus>().Select(n => n.ToLowerInvariant()))}.");
            }
            query = query.Where(j => j.Status == wanted);
        }
        if (before is not null)
        {
            query = query.Where(j => string.Compare(j.Id, before) < 0);
        }
        var rows = await query.OrderByDescending(j => j.Id).Take(take + 1).ToListAsync(ct);
        return TypedResults.Ok(Paging.From(rows.ConvertAll(JobResponse.From), take, j => j.Id));
    }

    private static async Task<Ok<JobResponse>> Get(ProjectScope scope, string jobId, JobStore store, CancellationToken ct) =>
        TypedResults.Ok(JobResponse.From(await store.FindAsync(scope.ProjectId, jobId, ct) ?? throw NotFound(jobId)));

    private static async Task<Accepted<JobResponse>> Cancel(
        ProjectScope scope, string jobId, JobStore store, JobHost host, CancellationToken ct)
    {
        var job = await store.FindAsync(scope.ProjectId, jobId, ct) ?? throw NotFound(jobId);
        if (!await host.CancelAsync(scope.ProjectId, jobId, ct))
        {
            throw new GureumException(ProblemCode.Conflict, $"Job '{jobId}' already finished ({job.Status.ToString().ToLowerInvariant()}); there is nothing to cancel.");
        }
        return TypedResults.Accepted($"/v1/projects/{scope.ProjectId}/jobs/{jobId}",
            JobResponse.From((await store.FindAsync(scope.ProjectId, jobId, ct))!));
    }

    private static async Task<ServerSentEventsResult<JsonElement>> Events(
        ProjectScope scope, string jobId, HttpRequest request, JobStore store, JobSignals signals, CancellationToken ct)
    {
        _ = await store.FindAsync(scope.ProjectId, jobId, ct) ?? throw NotFound(jobId);
        var after = int.TryParse(request.Headers["Last-Event-ID"].ToString(), out var last) ? last : 0;
        return TypedResults.ServerSentEvents(Stream(scope.ProjectId, jobId, after, store, signals, ct));
    }

    private static async IAsyncEnumerable<SseItem<JsonElement>> Stream(
        string projectId, string jobId, int after, JobStore store, JobSignals signals, [EnumeratorCancellation] CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var wake = signals.WaitAsync(jobId);
            var events = await store.EventsAfterAsync(jobId, after, ct);
            foreach (var e in events)
            {
                after = e.Sequence;
                yield return ToSse(e);
            }
            if (events.Count == 0)
            {
                var job = await store.FindAsync(projectId, jobId, ct);
                if (job is null || job.IsTerminal)
                {
                    // The terminal event commits with the terminal status; it may have landed after our read above.
                    foreach (var e in await store.EventsAfterAsync(jobId, after, ct))
                    {
                        yield return ToSse(e);
                    }
                    yield break;
                }
                // Local writers wake us at once; writes on other nodes are seen within a second.
                await Task.WhenAny(wake, Task.Delay(TimeSpan.FromSeconds(1), ct));
            }
        }
    }

    private static SseItem<JsonElement> ToSse(JobEvent e) =>
        new(JsonDocument.Parse(e.Data).RootElement.Clone(), e.Type) { EventId = e.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    private static GureumException NotFound(string jobId) =>
        new(ProblemCode.NotFound, $"Job '{jobId}' was not found in this project. List jobs with GET .../jobs.");
}
