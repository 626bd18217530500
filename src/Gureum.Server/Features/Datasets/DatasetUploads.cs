using System.Text.RegularExpressions;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.Options;

namespace Gureum.Server.Features.Datasets;

/// <summary>A resumable upload: chunks are appended to a server-named file until the client completes it.</summary>
public sealed class DatasetUpload
{
    public required string Id { get; init; }
    public required string ProjectId { get; init; }
    public required string DatasetId { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

internal sealed class DatasetUploadConfiguration : IEntityTypeConfiguration<DatasetUpload>
{
    public void Configure(EntityTypeBuilder<DatasetUpload> b)
    {
        b.ToTable("dataset_uploads");
        b.HasKey(u => u.Id);
        b.Property(u => u.Id).HasMaxLength(26);
        b.HasIndex(u => u.CreatedAt);
        b.HasOne<Dataset>().WithMany().HasForeignKey(u => u.DatasetId).OnDelete(DeleteBehavior.Cascade);
    }
}

public sealed record UploadResponse(string Id, string DatasetId, long ReceivedBytes, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>
/// Resumable uploads for large files over unreliable links: <c>POST .../uploads</c> opens a session,
/// <c>PUT .../uploads/{id}</c> with <c>Content-Range: bytes START-END/TOTAL</c> appends a chunk (START must equal the
/// bytes received so far; <c>GET</c> tells that number after a broken connection), <c>POST .../uploads/{id}/complete</c>
/// turns the file into a version with the same options as a direct upload. Sessions expire after a day.
/// </summary>
public static partial class DatasetUploads
{
    public static readonly TimeSpan Expiry = TimeSpan.FromDays(1);

    public static RouteGroupBuilder MapDatasetUploads(this RouteGroupBuilder datasets)
    {
        datasets.MapPost("/{dataset}/uploads", Open).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Open a resumable upload session").WithStandardErrors();
        datasets.MapGet("/{dataset}/uploads/{uploadId}", Status).RequireScope(Scopes.ProjectWrite)
            .WithSummary("How many bytes the session has received (resume from there)").WithStandardErrors();
        datasets.MapPut("/{dataset}/uploads/{uploadId}", Chunk).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Append a chunk: Content-Range: bytes START-END/TOTAL (or */ for an unknown total)")
            .WithStandardErrors(StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge);
        datasets.MapPost("/{dataset}/uploads/{uploadId}/complete", Complete).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Turn the uploaded file into a new version (same query options as a direct upload)")
            .WithStandardErrors(StatusCodes.Status413PayloadTooLarge, StatusCodes.Status422UnprocessableEntity);
        datasets.MapDelete("/{dataset}/uploads/{uploadId}", Abort).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Abandon a session and its bytes").WithStandardErrors();
        return datasets;
    }

    private static async Task<Created<UploadResponse>> Open(
        ProjectScope scope, string dataset, GureumDb db, IOptions<GureumOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var d = await DatasetsEndpoints.FindAsync(db, scope, dataset, ct);
        await RemoveExpiredAsync(db, options.Value, clock.GetUtcNow(), ct);
        var upload = new DatasetUpload { Id = Ids.New(), ProjectId = scope.ProjectId, DatasetId = d.Id, CreatedAt = clock.GetUtcNow() };
        Directory.CreateDirectory(Root(options.Value));
        await using (File.Create(PathOf(options.Value, upload.Id)))
        {
        }
        db.Add(upload);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/v1/projects/{scope.ProjectId}/datasets/{d.Id}/uploads/{upload.Id}", Describe(upload, 0));
    }

    private static async Task<Ok<UploadResponse>> Status(ProjectScope scope, string dataset, string uploadId, GureumDb db, IOptions<GureumOptions> options, CancellationToken ct)
    {
        var upload = await FindAsync(db, scope, dataset, uploadId, ct);
        return TypedResults.Ok(Describe(upload, new FileInfo(PathOf(options.Value, upload.Id)).Length));
    }

    private static async Task<Ok<UploadResponse>> Chunk(
        ProjectScope scope, string dataset, string uploadId, HttpRequest request, GureumDb db, IOptions<GureumOptions> options, CancellationToken ct)
    {
        var upload = await FindAsync(db, scope, dataset, uploadId, ct);
        var match = ContentRange().Match(request.Headers.ContentRange.ToString());
        if (!match.Success)
        {
            throw GureumException.Invalid("Content-Range", "Send 'Content-Range: bytes START-END/TOTAL' (TOTAL may be *).");
        }
        var start = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var end = long.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        var limit = options.Value.MaxUploadBytes;
        if (end < start)
        {
            throw GureumException.Invalid("Content-Range", "Content-Range END must not be before START.");
        }
        if (end + 1 > limit)
        {
            throw new GureumException(ProblemCode.PayloadTooLarge, $"The upload would exceed the limit of {limit} bytes (Gureum:MaxUploadBytes).");
        }
        var sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = end - start + 1;
        }
        FileStream file;
        try
        {
            // FileShare.None: a second PUT racing on the same session is refused, not interleaved.
            file = new FileStream(PathOf(options.Value, upload.Id), FileMode.Open, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
        }
        catch (IOException)
        {
            throw new GureumException(ProblemCode.Conflict, "Another chunk of this upload is being written. Send chunks one at a time.");
        }
        await using (file)
        {
            if (start != file.Length)
            {
                throw new GureumException(ProblemCode.Conflict, $"This upload has {file.Length} bytes; the next chunk must start at byte {file.Length}.");
            }
            file.Seek(0, SeekOrigin.End);
            var expected = end - start + 1;
            try
            {
                await request.Body.CopyToAsync(file, ct);
            }
            catch
            {
                file.SetLength(start); // a broken or oversized chunk leaves the session as it was
                throw;
            }
            if (file.Length - start != expected)
            {
                var received = file.Length - start;
                file.SetLength(start);
                throw GureumException.Invalid("Content-Range", $"The chunk had {received} bytes but Content-Range announced {expected}.");
            }
            await file.FlushAsync(ct);
            return TypedResults.Ok(Describe(upload, file.Length));
        }
    }

    private static async Task<Created<VersionResponse>> Complete(
        ProjectScope scope, string dataset, string uploadId, HttpRequest request, GureumDb db, DatasetIngest ingest, IOptions<GureumOptions> options, CancellationToken ct)
    {
        var (d, upload) = await FindWithDatasetAsync(db, scope, dataset, uploadId, ct);
        var readOptions = DatasetsEndpoints.ReadOptionsFrom(request.Query, "", options.Value.DatasetLimits);
        var path = PathOf(options.Value, upload.Id);
        DatasetVersion version;
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            version = await ingest.FromUploadAsync(d, file, readOptions, options.Value.MaxUploadBytes, ct);
        }
        File.Delete(path);
        await db.Set<DatasetUpload>().Where(u => u.Id == upload.Id).ExecuteDeleteAsync(ct);
        return TypedResults.Created($"/v1/projects/{scope.ProjectId}/datasets/{d.Id}/versions/{version.Number}", VersionResponse.From(version));
    }

    private static async Task<NoContent> Abort(ProjectScope scope, string dataset, string uploadId, GureumDb db, IOptions<GureumOptions> options, CancellationToken ct)
    {
        var upload = await FindAsync(db, scope, dataset, uploadId, ct);
        File.Delete(PathOf(options.Value, upload.Id));
        await db.Set<DatasetUpload>().Where(u => u.Id == upload.Id).ExecuteDeleteAsync(ct);
        return TypedResults.NoContent();
    }

    private static async Task<DatasetUpload> FindAsync(GureumDb db, ProjectScope scope, string dataset, string uploadId, CancellationToken ct) =>
        (await FindWithDatasetAsync(db, scope, dataset, uploadId, ct)).Upload;

    private static async Task<(Dataset Dataset, DatasetUpload Upload)> FindWithDatasetAsync(
        GureumDb db, ProjectScope scope, string dataset, string uploadId, CancellationToken ct)
    {
        var d = await DatasetsEndpoints.FindAsync(db, scope, dataset, ct);
        return (d, await db.Set<DatasetUpload>().AsNoTracking().FirstOrDefaultAsync(u => u.Id == uploadId && u.DatasetId == d.Id && u.ProjectId == scope.ProjectId, ct)
            ?? throw new GureumException(ProblemCode.NotFound, $"Upload '{uploadId}' was not found (sessions expire after a day). Open a new one with POST .../uploads."));
    }

    private static async Task RemoveExpiredAsync(GureumDb db, GureumOptions options, DateTimeOffset now, CancellationToken ct)
    {
        var cutoff = now - Expiry;
        foreach (var id in await db.Set<DatasetUpload>().Where(u => u.CreatedAt < cutoff).Select(u => u.Id).ToListAsync(ct))
        {
            File.Delete(PathOf(options, id));
            await db.Set<DatasetUpload>().Where(u => u.Id == id).ExecuteDeleteAsync(ct);
        }
    }

    private static UploadResponse Describe(DatasetUpload u, long received) => new(u.Id, u.DatasetId, received, u.CreatedAt, u.CreatedAt + Expiry);

    private static string Root(GureumOptions options) => Path.Combine(options.FullDataDirectory, "uploads");

    /// <summary>Only ids the server issued (ULIDs, already matched against the database) ever become paths.</summary>
    private static string PathOf(GureumOptions options, string uploadId) =>
        Ids.LooksLikeId(uploadId) ? Path.Combine(Root(options), uploadId) : throw new GureumException(ProblemCode.NotFound, "No such upload.");

    [GeneratedRegex(@"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15}|\*)$")]
    private static partial Regex ContentRange();
}
