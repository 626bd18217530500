using System.Text.Json;
using Gureum.ML.Data;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Datasets;

/// <summary>
/// Turns bytes into a version: store the blob (streamed, hashed, size-limited), read it once to type and profile it,
/// then commit the version row. A rejected file leaves no version and no blob that nothing references.
/// </summary>
public sealed class DatasetIngest(GureumDbFactory dbFactory, IArtifactStore artifacts, TimeProvider clock)
{
    /// <summary>How stored schema, profile and format JSON is written (enums as strings, tolerant when read back).</summary>
    public static readonly JsonSerializerOptions StoredJson = CreateStoredJson();

    private static JsonSerializerOptions CreateStoredJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        return options;
    }

    public async Task<DatasetVersion> FromUploadAsync(Dataset dataset, Stream body, ReadOptions options, long maxBytes, CancellationToken ct)
    {
        var blob = await artifacts.PutAsync(body, maxBytes, ct);
        return await AnalyzeAndCommitAsync(dataset, blob, options, "upload", null, ct);
    }

    /// <summary>A new version over an earlier version's bytes with the user's column overrides.</summary>
    public async Task<DatasetVersion> RetypeAsync(Dataset dataset, DatasetVersion from, IReadOnlyDictionary<string, ColumnOverride> overrides, string? target, DataLimits limits, CancellationToken ct)
    {
        var format = from.ReadFormat();
        var options = new ReadOptions
        {
            Format = format.Format, Delimiter = format.Delimiter, HasHeader = format.HasHeader, Encoding = format.Encoding,
            OnError = OnError.Skip, Overrides = overrides, Target = target, Limits = limits,
        };
        return await AnalyzeAndCommitAsync(dataset, new ArtifactInfo(from.Sha256, from.SizeBytes), options, "retype", from.Number, ct);
    }

    /// <summary>The latest version's rows plus the rows appended since, as JSON Lines, typed like the latest version.</summary>
    public async Task<DatasetVersion> SealAppendsAsync(Dataset dataset, DataLimits limits, CancellationToken ct)
    {
        await using var db = dbFactory.Create();
        var latest = await db.DatasetVersions.AsNoTracking().Where(v => v.DatasetId == dataset.Id)
            .OrderByDescending(v => v.Number).FirstOrDefaultAsync(ct);
        var appends = await db.DatasetAppends.AsNoTracking().Where(a => a.DatasetId == dataset.Id)
            .OrderBy(a => a.Id).Take(1_000_000).ToListAsync(ct);
        if (appends.Count == 0)
        {
            throw new GureumException(ProblemCode.Conflict, "No rows were appended since the latest version. Append rows with POST .../rows first.");
        }
        var latestSchema = latest?.ReadSchema();
        var spool = Path.GetTempFileName();
        try
        {
            await using (var writer = new StreamWriter(spool, false, new System.Text.UTF8Encoding(false)))
            {
                if (latest is not null)
                {
                    await using var previous = artifacts.OpenRead(latest.Sha256);
                    await foreach (var row in DatasetReader.ReadRowsAsync(previous, latest.ReadFormat(), latestSchema!, ct))
                    {
                        await writer.WriteLineAsync(JsonSerializer.Serialize(row, StoredJson));
                    }
                }
                foreach (var append in appends)
                {
                    await writer.WriteLineAsync(append.Row);
                }
            }
            ArtifactInfo blob;
            await using (var file = File.OpenRead(spool))
            {
                blob = await artifacts.PutAsync(file, long.MaxValue, ct);
            }
            var overrides = latestSchema is null
                ? new Dictionary<string, ColumnOverride>()
                : latestSchema.Columns.ToDictionary(c => c.Name, c => new ColumnOverride(c.Type, c.Ignored));
            var options = new ReadOptions { Format = DataFormat.Jsonl, OnError = OnError.Skip, Overrides = overrides, Limits = limits };
            var lastAppend = appends[^1].Id;
            return await AnalyzeAndCommitAsync(dataset, blob, options, "appends", latest?.Number, ct,
                db => db.DatasetAppends.Where(a => a.DatasetId == dataset.Id && a.Id <= lastAppend).ExecuteDeleteAsync(ct));
        }
        finally
        {
            File.Delete(spool);
        }
    }

    private async Task<DatasetVersion> AnalyzeAndCommitAsync(
        Dataset dataset, ArtifactInfo blob, ReadOptions options, string source, int? derivedFrom, CancellationToken ct,
        Func<GureumDb, Task>? alsoInTransaction = null)
    {
        DatasetAnalysis analysis;
        try
        {
            await using var content = artifacts.OpenRead(blob.Sha256);
            analysis = await DatasetReader.AnalyzeAsync(content, options, ct);
        }
        catch (DataFormatException e)
        {
            await ForgetBlobAsync(blob.Sha256);
            throw new GureumException(ProblemCode.UnreadableData, e.Message + " Fix the file, or upload with ?onError=skip to leave bad rows out.", Describe(e.Errors));
        }
        catch
        {
            await ForgetBlobAsync(blob.Sha256);
            throw;
        }

        for (var attempt = 0; ; attempt++)
        {
            await using var db = dbFactory.Create();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var number = 1 + (await db.DatasetVersions.Where(v => v.DatasetId == dataset.Id).MaxAsync(v => (int?)v.Number, ct) ?? 0);
            var version = new DatasetVersion
            {
                Id = Ids.New(), DatasetId = dataset.Id, ProjectId = dataset.ProjectId, Number = number,
                Sha256 = blob.Sha256, SizeBytes = blob.Length, RowCount = analysis.Profile.RowCount, SkippedRows = analysis.SkippedRows,
                Source = source, DerivedFrom = derivedFrom,
                Format = JsonSerializer.Serialize(analysis.Format, StoredJson),
                Schema = JsonSerializer.Serialize(analysis.Schema, StoredJson),
                Profile = JsonSerializer.Serialize(analysis.Profile, StoredJson),
                Errors = JsonSerializer.Serialize(analysis.Errors, StoredJson),
                CreatedAt = clock.GetUtcNow(),
            };
            db.DatasetVersions.Add(version);
            try
            {
                await db.SaveChangesAsync(ct);
                if (alsoInTransaction is not null)
                {
                    await alsoInTransaction(db);
                }
                await tx.CommitAsync(ct);
                return version;
            }
            catch (DbUpdateException) when (attempt < 5)
            {
                // Another version took this number at the same moment: take the next one.
            }
        }
    }

    /// <summary>Deletes blobs that no version references any more (blobs are shared by content, so check first).</summary>
    public Task ReleaseBlobsAsync(IEnumerable<string> digests) => BlobReferences.ReleaseAsync(dbFactory, artifacts, digests);

    private Task ForgetBlobAsync(string sha256) => ReleaseBlobsAsync([sha256]);

    internal static Dictionary<string, string[]> Describe(IReadOnlyList<DataError> errors) => errors
        .GroupBy(e => e.Column is null ? $"line {e.Line}" : $"line {e.Line}, column '{e.Column}'")
        .ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray());
}
