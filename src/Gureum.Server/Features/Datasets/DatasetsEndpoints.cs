using System.Globalization;
using System.Text;
using System.Text.Json;
using Gureum.ML.Data;
using Gureum.Server.Features.Projects;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Gureum.Server.Features.Datasets;

/// <param name="Name">Unique within the project (same rule as project names).</param>
public sealed record CreateDatasetRequest(string Name, string? Description = null);

public sealed record DatasetResponse(string Id, string ProjectId, string Name, string? Description, DateTimeOffset CreatedAt, int? LatestVersion, int PendingRows);

public sealed record VersionResponse(
    string Id, string DatasetId, int Number, string Sha256, long SizeBytes, long RowCount, long SkippedRows,
    string Source, int? DerivedFrom, DetectedFormat Format, DatasetSchema Schema, IReadOnlyList<DataError> Errors, DateTimeOffset CreatedAt)
{
    public static VersionResponse From(DatasetVersion v) => new(
        v.Id, v.DatasetId, v.Number, v.Sha256, v.SizeBytes, v.RowCount, v.SkippedRows, v.Source, v.DerivedFrom,
        v.ReadFormat(), v.ReadSchema(), v.ReadErrors(),
        v.CreatedAt);
}

/// <summary>A new version from rows appended since the latest (<c>fromAppends</c>), or from an earlier version's bytes with column overrides.</summary>
/// <param name="FromAppends">Seal the appended rows (with the latest version's rows) into the next version.</param>
/// <param name="FromVersion">Re-read this version's bytes with <paramref name="Columns"/> applied.</param>
/// <param name="Columns">Per column: <c>{"type": "float"}</c> to force a type, <c>{"ignored": true}</c> to leave it out.</param>
/// <param name="Target">A target column, for the leakage warning.</param>
public sealed record DeriveVersionRequest(bool FromAppends = false, int? FromVersion = null, Dictionary<string, ColumnOverride>? Columns = null, string? Target = null);

public sealed record PreviewResponse(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyDictionary<string, object?>> Rows);

public sealed record AppendResponse(int Accepted, int PendingRows);

/// <summary>Row counts of each part; per class when stratified.</summary>
public sealed record SplitResponse(double TestRatio, int Seed, string? Stratify, long TrainRows, long TestRows, IReadOnlyDictionary<string, long[]>? PerClass);

/// <summary>Datasets: upload, immutable versions with schema and profile, preview, download, appends.</summary>
public static class DatasetsEndpoints
{
    private const int MaxPreviewRows = 1000;
    private const int MaxAppendRows = 10_000;

    public static IServiceCollection AddDatasets(this IServiceCollection services) => services
        .AddSingleton<DatasetIngest>()
        .AddSingleton<IProjectCleanup, DatasetBlobsCleanup>()
        .AddHostedService<DatasetReaderWarmUp>();

    /// <summary>A deleted project's dataset blobs are freed once its rows are gone.</summary>
    private sealed class DatasetBlobsCleanup(DatasetIngest ingest) : IProjectCleanup
    {
        public async Task<Func<Task>> BeforeDeleteAsync(GureumDb db, string projectId, CancellationToken ct)
        {
            var blobs = await db.DatasetVersions.Where(v => v.ProjectId == projectId).Select(v => v.Sha256).ToListAsync(ct);
            return () => ingest.ReleaseBlobsAsync(blobs);
        }
    }

    public static IEndpointRouteBuilder MapDatasets(this IEndpointRouteBuilder app)
    {
        var datasets = app.MapProjectGroup("/datasets").WithTags("Datasets");
        datasets.MapPost("/", Create).RequireScope(Scopes.ProjectWrite).WithIdempotency()
            .WithSummary("Create a dataset").WithStandardErrors(StatusCodes.Status409Conflict);
        datasets.MapGet("/", List).RequireScope(Scopes.ProjectRead).WithSummary("List datasets").WithStandardErrors();
        datasets.MapGet("/{dataset}", Get).RequireScope(Scopes.ProjectRead).WithSummary("Get a dataset by id or name").WithStandardErrors();
        datasets.MapDelete("/{dataset}", Delete).RequireScope(Scopes.ProjectWrite).WithSummary("Delete a dataset and its versions").WithStandardErrors();
        datasets.MapPost("/{dataset}/versions", CreateVersion).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Upload a file as a new version (CSV/TSV, JSON Lines, Parquet, optionally gzip), or derive one (JSON body)")
            .Accepts<DeriveVersionRequest>("application/json", "text/csv", "text/tab-separated-values", "application/x-ndjson", "application/vnd.apache.parquet", "application/gzip", "application/octet-stream")
            .WithStandardErrors(StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status422UnprocessableEntity);
        datasets.MapGet("/{dataset}/versions", ListVersions).RequireScope(Scopes.ProjectRead).WithSummary("List versions, newest first").WithStandardErrors();
        datasets.MapGet("/{dataset}/versions/{number:int}", GetVersion).RequireScope(Scopes.ProjectRead).WithSummary("A version with its schema").WithStandardErrors();
        datasets.MapGet("/{dataset}/versions/{number:int}/profile", Profile).RequireScope(Scopes.ProjectRead)
            .WithSummary("The version's profile, ready for charts").WithStandardErrors();
        datasets.MapGet("/{dataset}/versions/{number:int}/preview", Preview).RequireScope(Scopes.ProjectRead)
            .WithSummary("The first rows, typed (cells that spreadsheets would run as formulas are prefixed with ')").WithStandardErrors();
        datasets.MapGet("/{dataset}/versions/{number:int}/download", Download).RequireScope(Scopes.ProjectRead)
            .WithSummary("The original bytes, or ?format=csv|parquet").Produces(200, contentType: "application/octet-stream").WithStandardErrors();
        datasets.MapDelete("/{dataset}/versions/{number:int}", DeleteVersion).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Delete a version").WithStandardErrors();
        datasets.MapPost("/{dataset}/rows", Append).RequireScope(Scopes.ProjectWrite)
            .WithSummary("Append JSON records (validated against the latest schema); POST .../versions {\"fromAppends\":true} seals them")
            .WithStandardErrors(StatusCodes.Status409Conflict);
        datasets.MapGet("/{dataset}/versions/{number:int}/split", Split).RequireScope(Scopes.ProjectRead)
            .WithSummary("The deterministic train/test split of a version (the one training uses for this ratio, seed and stratify column)")
            .WithStandardErrors();
        datasets.MapDatasetUploads();
        return app;
    }

    private static async Task<Created<DatasetResponse>> Create(ProjectScope scope, CreateDatasetRequest request, GureumDb db, TimeProvider clock, CancellationToken ct)
    {
        ResourceNames.Validate("name", request.Name);
        if (request.Description is { Length: > 1024 })
        {
            throw GureumException.Invalid("description", "'description' must be at most 1024 characters.");
        }
        if (await db.Datasets.AnyAsync(d => d.ProjectId == scope.ProjectId && d.Name == request.Name, ct))
        {
            throw new GureumException(ProblemCode.Conflict, $"A dataset named '{request.Name}' already exists in this project. Upload a new version to it instead.");
        }
        var dataset = new Dataset { Id = Ids.New(), ProjectId = scope.ProjectId, Name = request.Name, Description = request.Description, CreatedAt = clock.GetUtcNow() };
        db.Datasets.Add(dataset);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/v1/projects/{scope.ProjectId}/datasets/{dataset.Id}", new DatasetResponse(dataset.Id, dataset.ProjectId, dataset.Name, dataset.Description, dataset.CreatedAt, null, 0));
    }

    private static async Task<Ok<Page<DatasetResponse>>> List(ProjectScope scope, GureumDb db, int? limit, string? after, CancellationToken ct)
    {
        var take = Paging.Limit(limit);
        var query = db.Datasets.AsNoTracking().Where(d => d.ProjectId == scope.ProjectId);
        if (after is not null)
        {
            query = query.Where(d => string.Compare(d.Id, after) > 0);
        }
        var rows = await query.OrderBy(d => d.Id).Take(take + 1)
            .Select(d => new DatasetResponse(d.Id, d.ProjectId, d.Name, d.Description, d.CreatedAt,
                db.DatasetVersions.Where(v => v.DatasetId == d.Id).Max(v => (int?)v.Number),
                db.DatasetAppends.Count(a => a.DatasetId == d.Id)))
            .ToListAsync(ct);
        return TypedResults.Ok(Paging.From(rows, take, d => d.Id));
    }

    private static async Task<Ok<DatasetResponse>> Get(ProjectScope scope, string dataset, GureumDb db, CancellationToken ct)
    {
        var d = await FindAsync(db, scope, dataset, ct);
        return TypedResults.Ok(await DescribeAsync(db, d, ct));
    }

    private static async Task<NoContent> Delete(ProjectScope scope, string dataset, GureumDb db, DatasetIngest ingest, CancellationToken ct)
    {
        var d = await FindAsync(db, scope, dataset, ct);
        await RefuseIfTrainedOnAsync(db, scope, d.Id, null, ct);
        var blobs = await db.DatasetVersions.Where(v => v.DatasetId == d.Id).Select(v => v.Sha256).ToListAsync(ct);
        await db.Datasets.Where(x => x.Id == d.Id && x.ProjectId == scope.ProjectId).ExecuteDeleteAsync(ct);
        await ingest.ReleaseBlobsAsync(blobs);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Created<VersionResponse>, Ok<VersionResponse>>> CreateVersion(
        ProjectScope scope, string dataset, HttpRequest request, GureumDb db, DatasetIngest ingest, IOptions<GureumOptions> options, CancellationToken ct)
    {
        var d = await FindAsync(db, scope, dataset, ct);
        var contentType = request.ContentType ?? "";
        DatasetVersion version;
        if (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            var derive = await request.ReadFromJsonAsync<DeriveVersionRequest>(JsonDefaults.Web, ct)
                ?? throw GureumException.Invalid("body", "Send {\"fromAppends\": true} or {\"fromVersion\": n, \"columns\": {...}}.");
            if (derive.FromAppends == (derive.FromVersion is not null))
            {
                throw GureumException.Invalid("fromAppends", "Give exactly one of 'fromAppends' (true) or 'fromVersion'.");
            }
            if (derive.FromAppends)
            {
                version = await ingest.SealAppendsAsync(d, options.Value.DatasetLimits, ct);
            }
            else
            {
                var from = await FindVersionAsync(db, d, derive.FromVersion!.Value, ct);
                var known = from.ReadSchema().Columns.Select(c => c.Name).ToHashSet();
                foreach (var name in (derive.Columns ?? []).Keys.Where(n => !known.Contains(n)))
                {
                    throw GureumException.Invalid($"columns.{name}", $"Version {from.Number} has no column '{name}'.");
                }
                if (derive.Target is not null && !known.Contains(derive.Target))
                {
                    throw GureumException.Invalid("target", $"Version {from.Number} has no column '{derive.Target}'.");
                }
                version = await ingest.RetypeAsync(d, from, derive.Columns ?? [], derive.Target, options.Value.DatasetLimits, ct);
            }
        }
        else
        {
            var readOptions = ReadOptionsFrom(request.Query, contentType, options.Value.DatasetLimits);
            // Uploads may be far larger than JSON bodies; the artifact store enforces this limit while streaming.
            var sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
            if (sizeFeature is { IsReadOnly: false })
            {
                sizeFeature.MaxRequestBodySize = options.Value.MaxUploadBytes;
            }
            version = await ingest.FromUploadAsync(d, request.Body, readOptions, options.Value.MaxUploadBytes, ct);
        }
        var location = $"/v1/projects/{scope.ProjectId}/datasets/{d.Id}/versions/{version.Number}";
        return TypedResults.Created(location, VersionResponse.From(version));
    }

    private static async Task<Ok<List<VersionResponse>>> ListVersions(ProjectScope scope, string dataset, GureumDb db, CancellationToken ct)
    {
        var d = await FindAsync(db, scope, dataset, ct);
        var versions = await db.DatasetVersions.AsNoTracking().Where(v => v.DatasetId == d.Id && v.ProjectId == scope.ProjectId)
            .OrderByDescending(v => v.Number).ToListAsync(ct);
        return TypedResults.Ok(versions.ConvertAll(VersionResponse.From));
    }

    private static async Task<Ok<VersionResponse>> GetVersion(ProjectScope scope, string dataset, int number, GureumDb db, CancellationToken ct) =>
        TypedResults.Ok(VersionResponse.From(await FindVersionAsync(db, await FindAsync(db, scope, dataset, ct), number, ct)));

    private static async Task<IResult> Profile(ProjectScope scope, string dataset, int number, GureumDb db, CancellationToken ct)
    {
        var version = await FindVersionAsync(db, await FindAsync(db, scope, dataset, ct), number, ct);
        return Results.Text(version.Profile, "application/json", Encoding.UTF8);
    }

    private static async Task<Ok<PreviewResponse>> Preview(
        ProjectScope scope, string dataset, int number, int? rows, GureumDb db, IArtifactStore artifacts, CancellationToken ct)
    {
        var take = rows ?? 50;
        if (take is < 1 or > MaxPreviewRows)
        {
            throw GureumException.Invalid("rows", $"'rows' must be between 1 and {MaxPreviewRows}.");
        }
        var version = await FindVersionAsync(db, await FindAsync(db, scope, dataset, ct), number, ct);
        var (format, schema) = (version.ReadFormat(), version.ReadSchema());
        var result = new List<IReadOnlyDictionary<string, object?>>();
        await using var content = artifacts.OpenRead(version.Sha256);
        await foreach (var row in DatasetReader.ReadRowsAsync(content, format, schema, ct))
        {
            result.Add(row.ToDictionary(kv => kv.Key, kv => kv.Value is string s ? SpreadsheetSafe.Cell(s) : kv.Value));
            if (result.Count == take)
            {
                break;
            }
        }
        return TypedResults.Ok(new PreviewResponse(schema.Columns.Where(c => !c.Ignored).Select(c => c.Name).ToList(), result));
    }

    private static async Task<IResult> Download(
        ProjectScope scope, string dataset, int number, string? format, GureumDb db, IArtifactStore artifacts, CancellationToken ct)
    {
        var d = await FindAsync(db, scope, dataset, ct);
        var version = await FindVersionAsync(db, d, number, ct);
        var (detected, schema) = (version.ReadFormat(), version.ReadSchema());
        switch (format)
        {
            case null or "original":
                var extension = (detected.Format switch { DataFormat.Csv => detected.Delimiter == '\t' ? ".tsv" : ".csv", DataFormat.Jsonl => ".jsonl", _ => ".parquet" }) + (detected.Gzip ? ".gz" : "");
                return Results.Stream(artifacts.OpenRead(version.Sha256), "application/octet-stream", $"{d.Name}-v{version.Number}{extension}");
            case "csv":
                return Results.Stream(async output =>
                {
                    await using var writer = new StreamWriter(output, new UTF8Encoding(false));
                    var columns = schema.Columns.Where(c => !c.Ignored).Select(c => c.Name).ToList();
                    await writer.WriteLineAsync(string.Join(',', columns.Select(SpreadsheetSafe.CsvField)));
                    await using var content = artifacts.OpenRead(version.Sha256);
                    await foreach (var row in DatasetReader.ReadRowsAsync(content, detected, schema, ct))
                    {
                        await writer.WriteLineAsync(string.Join(',', columns.Select(c => SpreadsheetSafe.CsvField(Format(row.GetValueOrDefault(c))))));
                    }
                }, "text/csv", $"{d.Name}-v{version.Number}.csv");
            case "parquet":
                // Parquet writes its footer last and needs a seekable stream: build it in a temp file, then stream that.
                var spool = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920,
                    FileOptions.DeleteOnClose | FileOptions.Asynchronous);
                try
                {
                    await using (var content = artifacts.OpenRead(version.Sha256))
                    {
                        await ParquetExport.WriteAsync(DatasetReader.ReadRowsAsync(content, detected, schema, ct), schema, spool, ct);
                    }
                    spool.Position = 0;
                    return Results.Stream(spool, "application/vnd.apache.parquet", $"{d.Name}-v{version.Number}.parquet");
                }
                catch
                {
                    await spool.DisposeAsync();
                    throw;
                }
            default:
                throw GureumException.Invalid("format", "'format' must be 'original', 'csv' or 'parquet'.");
        }
    }

    private static async Task<Ok<SplitResponse>> Split(
        ProjectScope scope, string dataset, int number, double? testRatio, int? seed, string? stratify, GureumDb db, IArtifactStore artifacts, CancellationToken ct)
    {
        var ratio = testRatio ?? 0.2;
        if (ratio is <= 0 or >= 1)
        {
            throw GureumException.Invalid("testRatio", "'testRatio' must be between 0 and 1 (exclusive).");
        }
        var version = await FindVersionAsync(db, await FindAsync(db, scope, dataset, ct), number, ct);
        var (format, schema) = (version.ReadFormat(), version.ReadSchema());
        if (stratify is not null && !schema.Columns.Any(c => c.Name == stratify && !c.Ignored))
        {
            throw GureumException.Invalid("stratify", $"Version {number} has no column '{stratify}'.");
        }
        var s = seed ?? 42;
        if (stratify is null)
        {
            var test = 0L;
            for (long i = 0; i < version.RowCount; i++)
            {
                test += DeterministicSplit.IsTest(s, i, ratio) ? 1 : 0;
            }
            return TypedResults.Ok(new SplitResponse(ratio, s, null, version.RowCount - test, test, null));
        }
        var classes = new List<string?>();
        await using (var content = artifacts.OpenRead(version.Sha256))
        {
            await foreach (var row in DatasetReader.ReadRowsAsync(content, format, schema, ct))
            {
                classes.Add(Format(row.GetValueOrDefault(stratify)));
            }
        }
        var testRows = DeterministicSplit.StratifiedTestRows(classes, s, ratio);
        var perClass = Enumerable.Range(0, classes.Count).GroupBy(i => classes[i] ?? "")
            .ToDictionary(g => g.Key, g => new[] { g.LongCount(i => !testRows.Contains(i)), g.LongCount(i => testRows.Contains(i)) });
        return TypedResults.Ok(new SplitResponse(ratio, s, stratify, classes.Count - testRows.Count, testRows.Count, perClass));
    }

    private static async Task<NoContent> DeleteVersion(ProjectScope scope, string dataset, int number, GureumDb db, DatasetIngest ingest, CancellationToken ct)
    {
        var version = await FindVersionAsync(db, await FindAsync(db, scope, dataset, ct), number, ct);
        await RefuseIfTrainedOnAsync(db, scope, version.DatasetId, version, ct);
        await db.DatasetVersions.Where(v => v.Id == version.Id && v.ProjectId == scope.ProjectId).ExecuteDeleteAsync(ct);
        await ingest.ReleaseBlobsAsync([version.Sha256]);
        return TypedResults.NoContent();
    }

    private static async Task<Accepted<AppendResponse>> Append(
        ProjectScope scope, string dataset, JsonElement body, GureumDb db, TimeProvider clock, CancellationToken ct)
    {
        var d = await FindAsync(db, scope, dataset, ct);
        var records = body.ValueKind == JsonValueKind.Array ? body
            : body.ValueKind == JsonValueKind.Object && body.TryGetProperty("rows", out var r) && r.ValueKind == JsonValueKind.Array ? r
            : throw GureumException.Invalid("rows", "Send a JSON array of records, or {\"rows\": [...]}.");
        if (records.GetArrayLength() is 0 or > MaxAppendRows)
        {
            throw GureumException.Invalid("rows", $"Send between 1 and {MaxAppendRows} records per request.");
        }
        var latest = await db.DatasetVersions.AsNoTracking().Where(v => v.DatasetId == d.Id).OrderByDescending(v => v.Number).FirstOrDefaultAsync(ct)
            ?? throw new GureumException(ProblemCode.Conflict, "Appends are checked against the schema of the latest version; upload a first version.");
        var schema = latest.ReadSchema();
        var errors = AppendValidation.Validate(records, schema);
        if (errors.Count > 0)
        {
            throw new GureumException(ProblemCode.Validation, $"{errors.Count} field(s) do not match the schema of version {latest.Number}.", errors);
        }
        var now = clock.GetUtcNow();
        foreach (var record in records.EnumerateArray())
        {
            db.DatasetAppends.Add(new DatasetAppend { DatasetId = d.Id, ProjectId = scope.ProjectId, Row = record.GetRawText(), CreatedAt = now });
        }
        await db.SaveChangesAsync(ct);
        var pending = await db.DatasetAppends.CountAsync(a => a.DatasetId == d.Id, ct);
        return TypedResults.Accepted($"/v1/projects/{scope.ProjectId}/datasets/{d.Id}", new AppendResponse(records.GetArrayLength(), pending));
    }

    internal static ReadOptions ReadOptionsFrom(IQueryCollection query, string contentType, DataLimits limits)
    {
        DataFormat? format = query["format"].ToString() switch
        {
            "" => contentType switch
            {
                var t when t.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) || t.StartsWith("text/tab-separated-values", StringComparison.OrdinalIgnoreCase) => DataFormat.Csv,
                var t when t.StartsWith("application/x-ndjson", StringComparison.OrdinalIgnoreCase) || t.StartsWith("application/jsonl", StringComparison.OrdinalIgnoreCase) => DataFormat.Jsonl,
                var t when t.StartsWith("application/vnd.apache.parquet", StringComparison.OrdinalIgnoreCase) => DataFormat.Parquet,
                var t when t.Length == 0 || t.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase) || t.Contains("gzip", StringComparison.OrdinalIgnoreCase) => null,
                _ => throw new GureumException(ProblemCode.UnsupportedMediaType,
                    $"Content type '{contentType}' is not a dataset format. Send text/csv, text/tab-separated-values, application/x-ndjson, application/vnd.apache.parquet, application/gzip or application/octet-stream (detected)."),
            },
            "csv" or "tsv" => DataFormat.Csv,
            "jsonl" => DataFormat.Jsonl,
            "parquet" => DataFormat.Parquet,
            var other => throw GureumException.Invalid("format", $"Unknown format '{other}': use csv, tsv, jsonl or parquet."),
        };
        char? delimiter = query["delimiter"].ToString() switch
        {
            "" => query["format"] == "tsv" || contentType.StartsWith("text/tab-separated-values", StringComparison.OrdinalIgnoreCase) ? '\t' : null,
            "tab" or "\t" => '\t',
            "," or ";" or "|" => query["delimiter"].ToString()[0],
            _ => throw GureumException.Invalid("delimiter", "'delimiter' must be one of , ; | tab."),
        };
        bool? header = query["header"].ToString() switch
        {
            "" => null,
            "true" => true,
            "false" => false,
            _ => throw GureumException.Invalid("header", "'header' must be true or false."),
        };
        var encoding = query["encoding"].ToString() switch
        {
            "" => null,
            "utf-8" or "utf-16" or "latin1" or "cp949" or "euc-kr" => query["encoding"].ToString(),
            _ => throw GureumException.Invalid("encoding", "'encoding' must be utf-8, utf-16, latin1, cp949 or euc-kr."),
        };
        var onError = query["onError"].ToString() switch
        {
            "" or "reject" => OnError.Reject,
            "skip" => OnError.Skip,
            _ => throw GureumException.Invalid("onError", "'onError' must be reject or skip."),
        };
        var target = query["target"].ToString();
        return new ReadOptions
        {
            Format = format, Delimiter = delimiter, HasHeader = header, Encoding = encoding, OnError = onError,
            Target = target.Length == 0 ? null : target, Limits = limits,
        };
    }

    private static string Format(object? value) => value switch
    {
        null => "",
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>Versions that trained a model stay: the model's lineage and retraining need its data (409 names the training jobs).</summary>
    private static async Task RefuseIfTrainedOnAsync(GureumDb db, ProjectScope scope, string datasetId, DatasetVersion? version, CancellationToken ct)
    {
        var users = await db.TrainingJobs.AsNoTracking()
            .Where(t => t.ProjectId == scope.ProjectId && t.DatasetId == datasetId
                && (version == null || t.DatasetVersionId == version.Id || t.TestVersionId == version.Id))
            .OrderBy(t => t.Id).Select(t => t.Id).Take(5).ToListAsync(ct);
        if (users.Count > 0)
        {
            var what = version is null ? "This dataset" : $"Version {version.Number}";
            throw new GureumException(ProblemCode.Conflict,
                $"{what} trained model(s) of training job(s) {string.Join(", ", users.Select(u => $"'{u}'"))}. Delete those training jobs first (DELETE .../training-jobs/{{id}}).");
        }
    }

    internal static async Task<Dataset> FindAsync(GureumDb db, ProjectScope scope, string reference, CancellationToken ct) =>
        await db.Datasets.AsNoTracking().FirstOrDefaultAsync(d => d.ProjectId == scope.ProjectId && (d.Id == reference || d.Name == reference), ct)
            ?? throw new GureumException(ProblemCode.NotFound, $"Dataset '{reference}' was not found in this project. List datasets with GET .../datasets.");

    private static async Task<DatasetVersion> FindVersionAsync(GureumDb db, Dataset dataset, int number, CancellationToken ct) =>
        await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.DatasetId == dataset.Id && v.ProjectId == dataset.ProjectId && v.Number == number, ct)
            ?? throw new GureumException(ProblemCode.NotFound, $"Dataset '{dataset.Name}' has no version {number}. List versions with GET .../versions.");

    private static async Task<DatasetResponse> DescribeAsync(GureumDb db, Dataset d, CancellationToken ct) => new(
        d.Id, d.ProjectId, d.Name, d.Description, d.CreatedAt,
        await db.DatasetVersions.Where(v => v.DatasetId == d.Id).MaxAsync(v => (int?)v.Number, ct),
        await db.DatasetAppends.CountAsync(a => a.DatasetId == d.Id, ct));
}
