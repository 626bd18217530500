using System.Text.Json;
using Gureum.AI;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Projects;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gureum.Server.Features.Ai;

/// <summary>
/// An asynchronous OCR or STT call (multi-page documents, long audio). The work is a job of the compute fabric with
/// the same id, so it survives a restart or kill -9 and resumes; this row keeps the uploaded input until the job ends
/// and says when the result expires.
/// </summary>
public sealed class AiOperation
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public Project? Project { get; init; }
    /// <summary>ocr or stt.</summary>
    public required string Kind { get; init; }
    public required string KeyId { get; init; }
    /// <summary>The uploaded bytes in the artifact store; null once the job has ended and they were freed.</summary>
    public string? InputSha256 { get; set; }
    public long InputBytes { get; init; }
    /// <summary>languages for OCR, language for STT, as JSON.</summary>
    public required string Options { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset ExpiresAt { get; init; }
}

internal sealed class AiOperationConfiguration : IEntityTypeConfiguration<AiOperation>
{
    public void Configure(EntityTypeBuilder<AiOperation> b)
    {
        b.ToTable("ai_operations");
        b.HasKey(o => o.Id);
        b.Property(o => o.Id).HasMaxLength(26);
        b.Property(o => o.Kind).HasMaxLength(16);
        b.Property(o => o.KeyId).HasMaxLength(26);
        b.Property(o => o.InputSha256).HasMaxLength(64);
        b.Property(o => o.Options).HasMaxLength(1024);
        b.HasIndex(o => o.ExpiresAt);
        b.HasIndex(o => o.InputSha256);
        b.HasOne(o => o.Project).WithMany().HasForeignKey(o => o.ProjectId).OnDelete(DeleteBehavior.Cascade);
    }
}

/// <summary>The wire form of an operation, in the shape of the cloud vendors' read operations.</summary>
/// <param name="Status">notStarted, running, succeeded or failed.</param>
public sealed record OperationResponse(
    string Id, string Kind, string Status, double PercentDone, string? Message, DateTimeOffset CreatedAt, DateTimeOffset? LastUpdatedAt,
    DateTimeOffset ExpiresAt, JsonElement? Result, string? Error);

/// <summary>Creates, reads and expires operations.</summary>
public sealed partial class AiOperations(
    GureumDbFactory dbFactory, IArtifactStore artifacts, JobStore jobs, JobHost host, AiOptions options, TimeProvider clock, ILogger<AiOperations> logger)
    : BackgroundService
{
    public const string OcrJobKind = "ai.ocr";
    public const string SttJobKind = "ai.stt";

    public async Task<OperationResponse> StartAsync(string projectId, string keyId, string kind, byte[] input, object operationOptions, CancellationToken ct)
    {
        var stored = await artifacts.PutAsync(new MemoryStream(input, writable: false), input.Length, ct);
        var now = clock.GetUtcNow();
        var job = await jobs.CreateAsync(projectId, kind == "ocr" ? OcrJobKind : SttJobKind, null, ct, (db, job) => db.Add(new AiOperation
        {
            Id = job.Id, ProjectId = projectId, Kind = kind, KeyId = keyId, InputSha256 = stored.Sha256, InputBytes = input.Length,
            Options = JsonSerializer.Serialize(operationOptions, JsonDefaults.Web), CreatedAt = now, ExpiresAt = now + options.OperationTtl,
        }));
        await host.DispatchAsync(job.Id);
        return (await FindAsync(projectId, job.Id, ct))!;
    }

    public async Task<OperationResponse?> FindAsync(string projectId, string id, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var operation = await db.Set<AiOperation>().AsNoTracking().FirstOrDefaultAsync(o => o.Id == id && o.ProjectId == projectId, ct);
        var job = operation is null ? null : await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id && j.ProjectId == projectId, ct);
        return operation is null || job is null || operation.ExpiresAt <= clock.GetUtcNow() ? null : Describe(operation, job);
    }

    private static OperationResponse Describe(AiOperation operation, Job job) => new(
        operation.Id, operation.Kind,
        job.Status switch
        {
            JobStatus.Queued => "notStarted",
            JobStatus.Running => "running",
            JobStatus.Succeeded => "succeeded",
            _ => "failed",
        },
        job.Percent, job.Message, operation.CreatedAt, job.FinishedAt ?? job.HeartbeatAt ?? job.StartedAt, operation.ExpiresAt,
        job.Result is null ? null : JsonDocument.Parse(job.Result).RootElement.Clone(),
        job.Status == JobStatus.Cancelled ? "cancelled" : job.Error);

    /// <summary>Removes an operation and its result now (the caller has what it needs, or wants the data gone).</summary>
    public async Task<bool> DeleteAsync(string projectId, string id, CancellationToken ct)
    {
        var operation = await FindRowAsync(projectId, id, ct);
        if (operation is null) return false;
        await host.CancelAsync(projectId, id, ct);
        await RemoveAsync([operation]);
        return true;
    }

    /// <summary>The input of a running operation, for its job handler.</summary>
    public async Task<(AiOperation Operation, byte[] Input)> LoadInputAsync(string jobId, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var operation = await db.Set<AiOperation>().AsNoTracking().FirstOrDefaultAsync(o => o.Id == jobId, ct)
            ?? throw new JobFailedException("The operation was deleted before it ran.");
        if (operation.InputSha256 is null) throw new JobFailedException("The operation's input was already freed.");
        using var buffer = new MemoryStream((int)operation.InputBytes);
        await using (var stream = artifacts.OpenRead(operation.InputSha256))
        {
            await stream.CopyToAsync(buffer, ct);
        }
        return (operation, buffer.ToArray());
    }

    private async Task<AiOperation?> FindRowAsync(string projectId, string id, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        return await db.Set<AiOperation>().AsNoTracking().FirstOrDefaultAsync(o => o.Id == id && o.ProjectId == projectId, ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1), clock);
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSweepFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Frees the inputs of ended operations and deletes expired ones with their results.</summary>
    public async Task SweepAsync(CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var now = clock.GetUtcNow();
        var expired = await db.Set<AiOperation>().Where(o => o.ExpiresAt <= now).OrderBy(o => o.Id).Take(500).ToListAsync(ct);
        await RemoveAsync(expired);

        var ended = await db.Set<AiOperation>()
            .Where(o => o.InputSha256 != null && db.Jobs.Any(j => j.Id == o.Id && (j.Status == JobStatus.Succeeded || j.Status == JobStatus.Failed || j.Status == JobStatus.Cancelled)))
            .OrderBy(o => o.Id).Take(500).ToListAsync(ct);
        foreach (var operation in ended)
        {
            var sha256 = operation.InputSha256!;
            operation.InputSha256 = null;
            await db.SaveChangesAsync(ct);
            await BlobReferences.ReleaseAsync(db, artifacts, [sha256]);
        }
    }

    private async Task RemoveAsync(IReadOnlyCollection<AiOperation> operations)
    {
        if (operations.Count == 0) return;
        var ids = operations.Select(o => o.Id).ToList();
        await using var db = dbFactory.Create();
        await db.Set<AiOperation>().Where(o => ids.Contains(o.Id)).ExecuteDeleteAsync();
        await db.JobEvents.Where(e => ids.Contains(e.JobId)).ExecuteDeleteAsync();
        // A job still running finds its row gone and its last writes become no-ops.
        await db.Jobs.Where(j => ids.Contains(j.Id)).ExecuteDeleteAsync();
        await BlobReferences.ReleaseAsync(db, artifacts, operations.Where(o => o.InputSha256 is not null).Select(o => o.InputSha256!));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeping expired AI operations failed; retrying in a minute")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}

/// <summary>Runs an operation's work: a handler per kind, restarted from the beginning after a crash (usage is keyed by the
/// operation id, so a rerun does not bill twice).</summary>
internal sealed class AiOperationJob(string kind, Func<AiOperation, byte[], JobContext, CancellationToken, Task<object>> run, AiOperations operations) : IJobHandler
{
    public string Kind => kind;
    public bool UserSubmittable => false;

    public string? Validate(JsonElement? input) => null;

    public async Task<JsonElement?> RunAsync(JobContext context, CancellationToken ct)
    {
        var (operation, input) = await operations.LoadInputAsync(context.JobId, ct);
        try
        {
            var result = await run(operation, input, context, ct);
            return JsonSerializer.SerializeToElement(result, JsonDefaults.Web);
        }
        catch (AiInputException e)
        {
            // Bad input fails at once: retrying the same bytes gives the same answer.
            throw new JobFailedException($"{e.Field}: {e.Message}");
        }
    }
}
