using System.Text.Json;
using Gureum.ML.Models;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Mlflow;
using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Tracking;
using Gureum.Server.Features.Training;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Net.Http.Headers;

namespace Gureum.Server.Features.Registry;

public sealed record CreateModelRequest(string Name, string? Description = null, Dictionary<string, string>? Tags = null);

public sealed record UpdateModelRequest(string? Description = null, string? Name = null);

/// <summary>A version from a stored source (JSON body): a training job of this project, or a run artifact URI.</summary>
public sealed record CreateVersionRequest(string? TrainingJob = null, string? Source = null, string? Description = null, Dictionary<string, string>? Tags = null,
    ModelFileSignature? Signature = null);

/// <summary>The <c>metadata</c> part of a multipart upload.</summary>
public sealed record UploadMetadata(string? Description = null, Dictionary<string, string>? Tags = null, ModelFileSignature? Signature = null, string? RunId = null);

public sealed record UpdateVersionRequest(string? Description = null, Dictionary<string, string>? Tags = null);

public sealed record SetAliasRequest(int Version);

public sealed record AliasResponse(string Alias, int Version, DateTimeOffset UpdatedAt, string UpdatedBy);

public sealed record AliasEventResponse(string Alias, int? FromVersion, int? ToVersion, string By, DateTimeOffset At);

public sealed record ModelVersionResponse(
    string Model, int Version, string Format, string Sha256, long SizeBytes, ModelFileSignature Signature, Dictionary<string, double> Metrics,
    string Source, string? RunId, string? TrainingJobId, string? DatasetVersionId, string Description, Dictionary<string, string> Tags,
    IReadOnlyList<string> Aliases, string CreatedBy, DateTimeOffset CreatedAt, string Download);

public sealed record RegisteredModelResponse(
    string Id, string Name, string Description, Dictionary<string, string> Tags, IReadOnlyList<AliasResponse> Aliases,
    int? LatestVersion, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record ModelListResponse(IReadOnlyList<RegisteredModelResponse> Items, string? Next);

public sealed record LineageNode(string Id, string Kind, string Label, string? Link);

public sealed record LineageEdge(string From, string To, string Relation);

/// <summary>The graph dataset version → training job → run → model version → endpoints serving it.</summary>
public sealed record LineageResponse(IReadOnlyList<LineageNode> Nodes, IReadOnlyList<LineageEdge> Edges);

public sealed record MetricDelta(string Metric, double? Base, double? Other, double? Delta);

public sealed record FieldChange(string Side, string Name, string Change, ModelField? Base, ModelField? Other);

public sealed record VersionComparison(int Base, int Other, IReadOnlyList<MetricDelta> Metrics, IReadOnlyList<FieldChange> Signature, bool SignatureCompatible);

/// <summary>Gureum's own registry API: registered models, versions (upload, from a run or a training job), aliases with history, lineage and comparisons.</summary>
public static class RegistryEndpoints
{
    public static IServiceCollection AddRegistry(this IServiceCollection services, IConfiguration configuration)
    {
        var limits = new ModelFileLimits();
        configuration.GetSection("Gureum:Models").Bind(limits);
        return services
            .AddSingleton(limits)
            .AddSingleton(_ => ModelCheckLauncher.ForAssembly(typeof(RegistryEndpoints).Assembly.Location))
            .AddSingleton<ModelValidation>()
            .AddScoped<TrackingStore>()
            .AddScoped<RegistryStore>()
            .AddScoped<VersionSources>()
            .AddSingleton<IProjectCleanup, RegistryBlobsCleanup>();
    }

    /// <summary>A deleted project's model-version and run-artifact blobs are freed once its rows are gone.</summary>
    private sealed class RegistryBlobsCleanup(GureumDbFactory dbFactory, IArtifactStore artifacts) : IProjectCleanup
    {
        public async Task<Func<Task>> BeforeDeleteAsync(GureumDb db, string projectId, CancellationToken ct)
        {
            var blobs = await db.Set<ModelVersion>().Where(v => v.ProjectId == projectId).Select(v => v.Sha256)
                .Concat(db.Set<RunArtifact>().Where(a => a.ProjectId == projectId).Select(a => a.Sha256)).ToListAsync(ct);
            return () => BlobReferences.ReleaseAsync(dbFactory, artifacts, blobs);
        }
    }

    public static IEndpointRouteBuilder MapRegistry(this IEndpointRouteBuilder app)
    {
        var models = app.MapProjectGroup("/models").WithTags("Registry");
        models.MapPost("/", Create).RequireScope(Scopes.ProjectWrite).WithIdempotency().WithSummary("Register a model name").WithStandardErrors(409);
        models.MapGet("/", List).RequireScope(Scopes.ProjectRead).WithSummary("List registered models (filter: name LIKE 'x%')").WithStandardErrors();
        models.MapGet("/{name}", Get).RequireScope(Scopes.ProjectRead).WithSummary("A registered model with its aliases").WithStandardErrors();
        models.MapPatch("/{name}", Update).RequireScope(Scopes.ProjectWrite).WithSummary("Change the description or rename").WithStandardErrors(409);
        models.MapDelete("/{name}", Delete).RequireScope(Scopes.ProjectWrite).WithSummary("Delete a model with its versions and aliases").WithStandardErrors(409);
        models.MapPost("/{name}/versions", CreateVersion).RequireScope(Scopes.ProjectWrite)
            .AddEndpointFilter(LimitBodyToModelSize).WithIdempotency()
            .WithSummary("Add a version: upload an ONNX file or ML.NET zip (multipart 'file' + optional 'metadata' JSON), or name a training job or run artifact (JSON)")
            .Accepts<CreateVersionRequest>("application/json", "multipart/form-data")
            .WithStandardErrors(404, 409, 413, 415, 422);
        models.MapGet("/{name}/versions", Versions).RequireScope(Scopes.ProjectRead).WithSummary("The model's versions, newest first").WithStandardErrors();
        models.MapGet("/{name}/versions/{version}", GetVersion).RequireScope(Scopes.ProjectRead)
            .WithSummary("A version by number or alias: signature, metrics, source run and dataset").WithStandardErrors();
        models.MapPatch("/{name}/versions/{version}", UpdateVersion).RequireScope(Scopes.ProjectWrite).WithSummary("Change a version's description or tags").WithStandardErrors();
        models.MapDelete("/{name}/versions/{version}", DeleteVersion).RequireScope(Scopes.ProjectWrite).WithSummary("Delete a version (its aliases go too)").WithStandardErrors(409);
        models.MapGet("/{name}/versions/{version}/download", Download).RequireScope(Scopes.ProjectRead)
            .WithSummary("The version's model file").Produces(200, contentType: "application/octet-stream").WithStandardErrors();
        models.MapGet("/{name}/versions/{version}/lineage", Lineage).RequireScope(Scopes.ProjectRead)
            .WithSummary("Dataset version → training job → run → this version → endpoints").WithStandardErrors();
        models.MapGet("/{name}/versions/{version}/compare/{other}", Compare).RequireScope(Scopes.ProjectRead)
            .WithSummary("Metric deltas and signature differences between two versions").WithStandardErrors();
        models.MapGet("/{name}/aliases", Aliases).RequireScope(Scopes.ProjectRead).WithSummary("Current aliases and who moved them when").WithStandardErrors();
        models.MapPut("/{name}/aliases/{alias}", SetAlias).RequireScope(Scopes.ProjectWrite).WithSummary("Point an alias at a version (atomic move)").WithStandardErrors();
        models.MapDelete("/{name}/aliases/{alias}", DeleteAlias).RequireScope(Scopes.ProjectWrite).WithSummary("Remove an alias").WithStandardErrors();

        app.MapProjectGroup("/datasets").WithTags("Datasets").MapGet("/{dataset}/versions/{number:int}/lineage", DatasetLineage)
            .RequireScope(Scopes.ProjectRead).WithSummary("What was made from a dataset version: training jobs, runs, model versions").WithStandardErrors();
        return app;
    }

    /// <summary>
    /// Caps the body at the model limit plus room for the metadata part before anything reads it — also the
    /// idempotency filter, which hashes the whole body — so an oversized upload stops at the limit, not at the end.
    /// </summary>
    private static ValueTask<object?> LimitBodyToModelSize(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var limit = http.RequestServices.GetRequiredService<ModelValidation>().Limits.MaxBytes + 1024 * 1024;
        if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size
            && (size.MaxRequestBodySize is null || size.MaxRequestBodySize > limit))
        {
            size.MaxRequestBodySize = limit;
        }
        return next(context);
    }

    private static async Task<Created<RegisteredModelResponse>> Create(ProjectScope scope, CreateModelRequest request, RegistryStore registry, CancellationToken ct)
    {
        var model = await registry.CreateModelAsync(scope.ProjectId, request.Name, request.Description, request.Tags, ct);
        return TypedResults.Created($"/v1/projects/{scope.ProjectId}/models/{model.Name}", await DescribeAsync(registry, model, ct));
    }

    private static async Task<Ok<ModelListResponse>> List(ProjectScope scope, string? filter, int? limit, string? pageToken, RegistryStore registry, CancellationToken ct)
    {
        var (items, next) = await registry.SearchModelsAsync(scope.ProjectId, filter, [], Infrastructure.Paging.Limit(limit), pageToken, ct);
        var described = new List<RegisteredModelResponse>();
        foreach (var m in items)
        {
            described.Add(await DescribeAsync(registry, m, ct));
        }
        return TypedResults.Ok(new ModelListResponse(described, next));
    }

    private static async Task<Ok<RegisteredModelResponse>> Get(ProjectScope scope, string name, RegistryStore registry, CancellationToken ct) =>
        TypedResults.Ok(await DescribeAsync(registry, await registry.FindModelAsync(scope.ProjectId, name, ct), ct));

    private static async Task<Ok<RegisteredModelResponse>> Update(ProjectScope scope, string name, UpdateModelRequest request, RegistryStore registry, CancellationToken ct)
    {
        var model = await registry.FindModelAsync(scope.ProjectId, name, ct);
        await registry.UpdateModelAsync(model, request.Description, request.Name, ct);
        return TypedResults.Ok(await DescribeAsync(registry, model, ct));
    }

    private static async Task<NoContent> Delete(ProjectScope scope, string name, RegistryStore registry, CancellationToken ct)
    {
        await registry.DeleteModelAsync(await registry.FindModelAsync(scope.ProjectId, name, ct), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Created<ModelVersionResponse>> CreateVersion(
        ProjectScope scope, string name, HttpContext http, RegistryStore registry, VersionSources sources, ModelValidation validation, CancellationToken ct)
    {
        var model = await registry.FindModelAsync(scope.ProjectId, name, ct);
        var mediaType = http.Request.ContentType is { } type && MediaTypeHeaderValue.TryParse(type, out var parsed) ? parsed : null;
        ModelVersion version;
        if (mediaType?.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true)
        {
            version = await UploadAsync(scope, model, http, mediaType, registry, sources, validation, ct);
        }
        else if (mediaType?.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) == true)
        {
            var request = await http.Request.ReadFromJsonAsync<CreateVersionRequest>(ct)
                ?? throw GureumException.Invalid("body", "Send {\"trainingJob\": \"<id>\"} or {\"source\": \"runs:/<run_id>/<path>\"}.");
            var resolved = (request.TrainingJob, request.Source) switch
            {
                ({ } job, null) => await sources.FromTrainingJobAsync(scope.ProjectId, job, ct),
                (null, { } source) => await sources.FromUriAsync(scope.ProjectId, source, null, ct),
                _ => throw GureumException.Invalid("source", "Name exactly one of 'trainingJob' or 'source' (or upload a file as multipart/form-data)."),
            };
            version = await MlflowRegistryApi.CreateFromStoreAsync(http, registry, model, resolved with
            {
                Version = resolved.Version with { Description = request.Description, Tags = request.Tags, Declared = request.Signature },
            }, ct);
        }
        else
        {
            throw new GureumException(ProblemCode.UnsupportedMediaType,
                "Upload the model as multipart/form-data (a 'file' part, and optionally a 'metadata' JSON part), or send JSON naming a training job or run artifact.");
        }
        return TypedResults.Created($"/v1/projects/{scope.ProjectId}/models/{model.Name}/versions/{version.Version}",
            Describe(model, version, await registry.AliasesAsync(model.Id, ct)));
    }

    /// <summary>Streams the 'file' part to a private directory with the size limit applied while reading; the name the client gave is only a format hint.</summary>
    private static async Task<ModelVersion> UploadAsync(ProjectScope scope, RegisteredModel model, HttpContext http, MediaTypeHeaderValue mediaType,
        RegistryStore registry, VersionSources sources, ModelValidation validation, CancellationToken ct)
    {
        var boundary = HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value;
        if (string.IsNullOrEmpty(boundary) || boundary.Length > 70)
        {
            throw GureumException.Invalid("file", "The multipart boundary is missing or longer than 70 characters (RFC 2046).");
        }
        var reader = new MultipartReader(boundary, http.Request.Body) { HeadersLengthLimit = 16 * 1024, HeadersCountLimit = 16 };
        StagedModelFile? staged = null;
        string? fileName = null;
        UploadMetadata metadata = new();
        try
        {
            var parts = 0;
            MultipartSection? section;
            while ((section = await ReadSectionAsync(reader, ct)) is not null)
            {
                if (++parts > 4)
                {
                    throw GureumException.Invalid("file", "A model upload has at most two parts: 'file' and 'metadata'.");
                }
                var disposition = section.GetContentDispositionHeader();
                var partName = disposition?.Name.Value?.Trim('"');
                if (partName == "file" && staged is null)
                {
                    fileName = disposition!.FileName.Value?.Trim('"') ?? disposition.FileNameStar.Value;
                    staged = await StagedModelFile.FromStreamAsync(http.RequestServices.GetRequiredService<IArtifactStore>(), section.Body, validation.Limits.MaxBytes, ct, fromClient: true);
                }
                else if (partName == "metadata")
                {
                    try
                    {
                        metadata = await JsonSerializer.DeserializeAsync<UploadMetadata>(section.Body, MetadataJson, ct) ?? new();
                    }
                    catch (JsonException e)
                    {
                        throw GureumException.Invalid("metadata", "The 'metadata' part is not valid JSON for this endpoint: " + e.Message);
                    }
                }
                else
                {
                    throw GureumException.Invalid(partName ?? "file", $"Unexpected part '{partName}'; send 'file' (the model) and optionally 'metadata' (JSON).");
                }
            }
            if (staged is null)
            {
                throw GureumException.Invalid("file", "The upload has no 'file' part with the model.");
            }
            Run? run = null;
            if (metadata.RunId is { } runId)
            {
                run = await http.RequestServices.GetRequiredService<TrackingStore>().FindRunAsync(scope.ProjectId, runId, ct);
            }
            return await registry.CreateVersionAsync(model, staged.Path, new NewVersion("upload", fileName, metadata.Signature, run?.Id, run?.TrainingJobId,
                run?.DatasetVersionId, null, metadata.Description, metadata.Tags), Caller.From(http.User).KeyId, ct);
        }
        finally
        {
            staged?.Dispose();
        }
    }

    private static readonly JsonSerializerOptions MetadataJson = new(RegistryStore.DatasetJson) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };

    private static async Task<MultipartSection?> ReadSectionAsync(MultipartReader reader, CancellationToken ct)
    {
        try
        {
            return await reader.ReadNextSectionAsync(ct);
        }
        catch (Exception e) when (e is InvalidDataException or IOException && !ct.IsCancellationRequested)
        {
            throw GureumException.Invalid("file", "The multipart body is malformed: " + e.Message);
        }
    }

    private static async Task<Ok<List<ModelVersionResponse>>> Versions(ProjectScope scope, string name, RegistryStore registry, CancellationToken ct)
    {
        var model = await registry.FindModelAsync(scope.ProjectId, name, ct);
        var aliases = await registry.AliasesAsync(model.Id, ct);
        return TypedResults.Ok((await registry.VersionsAsync(model, ct)).Select(v => Describe(model, v, aliases)).ToList());
    }

    private static async Task<(RegisteredModel, ModelVersion)> FindAsync(ProjectScope scope, string name, string version, RegistryStore registry, CancellationToken ct)
    {
        var model = await registry.FindModelAsync(scope.ProjectId, name, ct);
        // A version is a number or an alias ('champion').
        var found = int.TryParse(version, out _) ? await registry.FindVersionAsync(model, version, ct) : await registry.FindByAliasAsync(model, version, ct);
        return (model, found);
    }

    private static async Task<Ok<ModelVersionResponse>> GetVersion(ProjectScope scope, string name, string version, RegistryStore registry, CancellationToken ct)
    {
        var (model, found) = await FindAsync(scope, name, version, registry, ct);
        return TypedResults.Ok(Describe(model, found, await registry.AliasesAsync(model.Id, ct)));
    }

    private static async Task<Ok<ModelVersionResponse>> UpdateVersion(ProjectScope scope, string name, string version, UpdateVersionRequest request,
        RegistryStore registry, CancellationToken ct)
    {
        var (model, found) = await FindAsync(scope, name, version, registry, ct);
        await registry.UpdateVersionAsync(found, request.Description, ct);
        foreach (var (key, value) in request.Tags ?? [])
        {
            await registry.SetVersionTagAsync(found, key, value, ct);
        }
        return TypedResults.Ok(Describe(model, found, await registry.AliasesAsync(model.Id, ct)));
    }

    private static async Task<NoContent> DeleteVersion(ProjectScope scope, string name, string version, HttpContext http, RegistryStore registry, CancellationToken ct)
    {
        var (model, found) = await FindAsync(scope, name, version, registry, ct);
        await registry.DeleteVersionAsync(model, found, Caller.From(http.User).KeyId, ct);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> Download(ProjectScope scope, string name, string version, RegistryStore registry, IArtifactStore blobs, CancellationToken ct)
    {
        var (model, found) = await FindAsync(scope, name, version, registry, ct);
        var extension = found.Format == "onnx" ? "onnx" : "zip";
        return Results.Stream(blobs.OpenRead(found.Sha256), found.Format == "onnx" ? "application/octet-stream" : "application/zip",
            $"{model.Name}-v{found.Version}.{extension}");
    }

    private static async Task<Ok<VersionComparison>> Compare(ProjectScope scope, string name, string version, string other, RegistryStore registry, CancellationToken ct)
    {
        var (model, a) = await FindAsync(scope, name, version, registry, ct);
        var (_, b) = await FindAsync(scope, name, other, registry, ct);
        var ma = a.ReadMetrics();
        var mb = b.ReadMetrics();
        var metrics = ma.Keys.Union(mb.Keys).Order(StringComparer.Ordinal).Select(k =>
        {
            double? x = ma.TryGetValue(k, out var va) ? va : null;
            double? y = mb.TryGetValue(k, out var vb) ? vb : null;
            return new MetricDelta(k, x, y, x is not null && y is not null ? y - x : null);
        }).ToList();
        var sa = RegistryStore.ReadSignature(a);
        var sb = RegistryStore.ReadSignature(b);
        var changes = Diff("input", sa.Inputs, sb.Inputs).Concat(Diff("output", sa.Outputs, sb.Outputs)).ToList();
        // Compatible: every input the old version took is still taken the same way, and no new input is required.
        var compatible = !changes.Any(c => c.Side == "input");
        return TypedResults.Ok(new VersionComparison(a.Version, b.Version, metrics, changes, compatible));
    }

    private static IEnumerable<FieldChange> Diff(string side, IReadOnlyList<ModelField> a, IReadOnlyList<ModelField> b)
    {
        var byName = b.ToDictionary(f => f.Name);
        foreach (var f in a)
        {
            if (!byName.TryGetValue(f.Name, out var g))
            {
                yield return new FieldChange(side, f.Name, "removed", f, null);
            }
            else if (f.Type != g.Type || !(f.Shape ?? []).SequenceEqual(g.Shape ?? []))
            {
                yield return new FieldChange(side, f.Name, "changed", f, g);
            }
        }
        foreach (var g in b.Where(g => a.All(f => f.Name != g.Name)))
        {
            yield return new FieldChange(side, g.Name, "added", null, g);
        }
    }

    private static async Task<Ok<Dictionary<string, object>>> Aliases(ProjectScope scope, string name, RegistryStore registry, CancellationToken ct)
    {
        var model = await registry.FindModelAsync(scope.ProjectId, name, ct);
        var current = (await registry.AliasesAsync(model.Id, ct)).Select(a => new AliasResponse(a.Alias, a.Version, a.UpdatedAt, a.UpdatedBy)).ToList();
        var history = (await registry.AliasHistoryAsync(model, ct)).Select(e => new AliasEventResponse(e.Alias, e.FromVersion, e.ToVersion, e.By, e.At)).ToList();
        return TypedResults.Ok(new Dictionary<string, object> { ["aliases"] = current, ["history"] = history });
    }

    private static async Task<Ok<AliasResponse>> SetAlias(ProjectScope scope, string name, string alias, SetAliasRequest request, HttpContext http,
        RegistryStore registry, CancellationToken ct)
    {
        var model = await registry.FindModelAsync(scope.ProjectId, name, ct);
        var version = await registry.FindVersionAsync(model, request.Version.ToString(), ct);
        await registry.SetAliasAsync(model, alias, version, Caller.From(http.User).KeyId, ct);
        var row = (await registry.AliasesAsync(model.Id, ct)).First(a => a.Alias == alias);
        return TypedResults.Ok(new AliasResponse(row.Alias, row.Version, row.UpdatedAt, row.UpdatedBy));
    }

    private static async Task<NoContent> DeleteAlias(ProjectScope scope, string name, string alias, HttpContext http, RegistryStore registry, CancellationToken ct)
    {
        var model = await registry.FindModelAsync(scope.ProjectId, name, ct);
        await registry.DeleteAliasAsync(model, alias, Caller.From(http.User).KeyId, ct);
        return TypedResults.NoContent();
    }

    // ---- lineage ----

    private static async Task<Ok<LineageResponse>> Lineage(ProjectScope scope, string name, string version, RegistryStore registry, GureumDb db, CancellationToken ct)
    {
        var (model, found) = await FindAsync(scope, name, version, registry, ct);
        var graph = new LineageGraph(scope.ProjectId);
        var versionNode = graph.ModelVersion(model.Name, found);
        Run? run = found.RunId is null ? null : await db.Set<Run>().AsNoTracking().FirstOrDefaultAsync(r => r.Id == found.RunId && r.ProjectId == scope.ProjectId, ct);
        var trainingJobId = found.TrainingJobId ?? run?.TrainingJobId;
        var training = trainingJobId is null ? null : await db.TrainingJobs.AsNoTracking().FirstOrDefaultAsync(t => t.Id == trainingJobId && t.ProjectId == scope.ProjectId, ct);
        if (run is not null)
        {
            graph.Edge(graph.Run(run), versionNode, "produced");
        }
        if (training is not null)
        {
            var job = graph.TrainingJob(training);
            graph.Edge(job, run is null ? versionNode : graph.Run(run), run is null ? "produced" : "recorded as");
            await AddDatasetVersionsAsync(graph, db, training, job, ct);
        }
        else if ((found.DatasetVersionId ?? run?.DatasetVersionId) is { } datasetVersionId)
        {
            var dv = await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == datasetVersionId && v.ProjectId == scope.ProjectId, ct);
            if (dv is not null)
            {
                graph.Edge(await graph.DatasetVersionAsync(db, dv, ct), run is null ? versionNode : graph.Run(run), "trained");
            }
        }
        foreach (var endpoint in await registry.ServingEndpointsAsync(model, found.Version, null, ct))
        {
            graph.Edge(versionNode, graph.Endpoint(endpoint), "serves as");
        }
        return TypedResults.Ok(graph.Build());
    }

    private static async Task<Ok<LineageResponse>> DatasetLineage(ProjectScope scope, string dataset, int number, GureumDb db, CancellationToken ct)
    {
        var ds = await db.Datasets.AsNoTracking().FirstOrDefaultAsync(d => d.ProjectId == scope.ProjectId && (d.Id == dataset || d.Name == dataset), ct)
            ?? throw new GureumException(ProblemCode.NotFound, $"Dataset '{dataset}' was not found in this project.");
        var dv = await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.DatasetId == ds.Id && v.Number == number, ct)
            ?? throw new GureumException(ProblemCode.NotFound, $"Dataset '{dataset}' has no version {number}.");
        var graph = new LineageGraph(scope.ProjectId);
        var dvNode = await graph.DatasetVersionAsync(db, dv, ct);
        var trainings = await db.TrainingJobs.AsNoTracking().Where(t => t.ProjectId == scope.ProjectId && (t.DatasetVersionId == dv.Id || t.TestVersionId == dv.Id)).ToListAsync(ct);
        foreach (var training in trainings)
        {
            var job = graph.TrainingJob(training);
            graph.Edge(dvNode, job, training.DatasetVersionId == dv.Id ? "trained" : "tested");
            var runs = await db.Set<Run>().AsNoTracking().Where(r => r.TrainingJobId == training.Id && r.ParentRunId == null).ToListAsync(ct);
            foreach (var run in runs)
            {
                graph.Edge(job, graph.Run(run), "recorded as");
            }
        }
        var jobIds = trainings.Select(t => t.Id).ToList();
        var versions = await db.Set<ModelVersion>().AsNoTracking().Where(v => v.ProjectId == scope.ProjectId
            && (v.DatasetVersionId == dv.Id || (v.TrainingJobId != null && jobIds.Contains(v.TrainingJobId)))).Include(v => v.Model).ToListAsync(ct);
        foreach (var v in versions)
        {
            var node = graph.ModelVersion(v.Model!.Name, v);
            var parent = v.RunId is not null && graph.Has("run:" + v.RunId) ? "run:" + v.RunId
                : v.TrainingJobId is not null && graph.Has("training-job:" + v.TrainingJobId) ? "training-job:" + v.TrainingJobId : dvNode;
            graph.Edge(parent, node, "produced");
        }
        return TypedResults.Ok(graph.Build());
    }

    private static async Task AddDatasetVersionsAsync(LineageGraph graph, GureumDb db, TrainingJob training, string job, CancellationToken ct)
    {
        foreach (var (id, relation) in new[] { (training.DatasetVersionId, "trained"), (training.TestVersionId, "tested") })
        {
            if (id is null)
            {
                continue;
            }
            var dv = await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == id, ct);
            if (dv is not null)
            {
                graph.Edge(await graph.DatasetVersionAsync(db, dv, ct), job, relation);
            }
        }
    }

    private sealed class LineageGraph(string projectId)
    {
        private readonly Dictionary<string, LineageNode> _nodes = [];
        private readonly List<LineageEdge> _edges = [];
        private readonly string _base = $"/v1/projects/{projectId}";

        public bool Has(string id) => _nodes.ContainsKey(id);

        private string Add(string id, string kind, string label, string? link)
        {
            _nodes.TryAdd(id, new LineageNode(id, kind, label, link));
            return id;
        }

        public async Task<string> DatasetVersionAsync(GureumDb db, DatasetVersion dv, CancellationToken ct)
        {
            var name = await db.Datasets.Where(d => d.Id == dv.DatasetId).Select(d => d.Name).FirstAsync(ct);
            return Add("dataset-version:" + dv.Id, "datasetVersion", $"{name} v{dv.Number}", $"{_base}/datasets/{dv.DatasetId}/versions/{dv.Number}");
        }

        public string TrainingJob(TrainingJob t) => Add("training-job:" + t.Id, "trainingJob", $"training {t.Target} ({t.Task})", $"{_base}/training-jobs/{t.Id}");

        public string Run(Run r) => Add("run:" + r.Id, "run", r.Name, $"{_base}/runs/{r.Id}");

        public string ModelVersion(string model, ModelVersion v) =>
            Add("model-version:" + v.Id, "modelVersion", $"{model} v{v.Version}", $"{_base}/models/{model}/versions/{v.Version}");

        public string Endpoint(string name) => Add("endpoint:" + name, "endpoint", name, $"{_base}/endpoints/{name}");

        public void Edge(string from, string to, string relation)
        {
            if (!_edges.Any(e => e.From == from && e.To == to))
            {
                _edges.Add(new LineageEdge(from, to, relation));
            }
        }

        public LineageResponse Build() => new([.. _nodes.Values], _edges);
    }

    // ---- shapes ----

    private static async Task<RegisteredModelResponse> DescribeAsync(RegistryStore registry, RegisteredModel m, CancellationToken ct)
    {
        var aliases = await registry.AliasesAsync(m.Id, ct);
        var latest = (await registry.LatestVersionAsync(m, ct))?.Version;
        return new RegisteredModelResponse(m.Id, m.Name, m.Description, m.ReadTags(),
            [.. aliases.Select(a => new AliasResponse(a.Alias, a.Version, a.UpdatedAt, a.UpdatedBy))], latest, m.CreatedAt, m.UpdatedAt);
    }

    internal static ModelVersionResponse Describe(RegisteredModel model, ModelVersion v, IReadOnlyList<ModelAlias> aliases) => new(
        model.Name, v.Version, v.Format, v.Sha256, v.SizeBytes, RegistryStore.ReadSignature(v), v.ReadMetrics(), v.Source, v.RunId, v.TrainingJobId,
        v.DatasetVersionId, v.Description, v.ReadTags(), [.. aliases.Where(a => a.Version == v.Version).Select(a => a.Alias)], v.CreatedBy, v.CreatedAt,
        $"/v1/projects/{model.ProjectId}/models/{model.Name}/versions/{v.Version}/download");
}
