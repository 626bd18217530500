using System.Text.Json;
using System.Text.RegularExpressions;
using Gureum.ML.Models;
using Gureum.Server.Features.Serving;
using Gureum.Server.Features.Tracking;
using Gureum.Server.Features.Training;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Registry;

/// <summary>Where a new version's file comes from and what is known about it besides the file.</summary>
public sealed record NewVersion(
    string Source,
    string? FileName = null,
    ModelFileSignature? Declared = null,
    string? RunId = null,
    string? TrainingJobId = null,
    string? DatasetVersionId = null,
    IReadOnlyDictionary<string, double>? Metrics = null,
    string? Description = null,
    IReadOnlyDictionary<string, string>? Tags = null);

/// <summary>
/// Registered models, their versions and aliases, for Gureum's registry API and the MLflow-compatible one. A version is
/// created only from a file that passed validation (static checks, then a bounded load in a child process), so a row
/// never points at something that cannot be served.
/// </summary>
public sealed partial class RegistryStore(GureumDb db, IArtifactStore artifacts, ModelValidation validation, TimeProvider clock)
{
    public const string NameRule = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters";

    // ---- models ----

    public async Task<RegisteredModel> CreateModelAsync(string projectId, string name, string? description, IReadOnlyDictionary<string, string>? tags, CancellationToken ct)
    {
        ValidateName(name);
        ValidateTags(tags);
        if (await db.Set<RegisteredModel>().AnyAsync(m => m.ProjectId == projectId && m.Name == name, ct))
        {
            throw new GureumException(ProblemCode.Conflict, $"Registered Model (name={name}) already exists.", mlflowCode: MlflowCodes.ResourceAlreadyExists);
        }
        var now = clock.GetUtcNow();
        var model = new RegisteredModel
        {
            Id = Ids.New(), ProjectId = projectId, Name = name, Description = Description(description),
            Tags = JsonSerializer.Serialize(tags ?? new Dictionary<string, string>()), CreatedAt = now, UpdatedAt = now,
        };
        db.Add(model);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            throw new GureumException(ProblemCode.Conflict, $"Registered Model (name={name}) already exists.", mlflowCode: MlflowCodes.ResourceAlreadyExists);
        }
        return model;
    }

    public async Task<RegisteredModel> FindModelAsync(string projectId, string name, CancellationToken ct) =>
        await db.Set<RegisteredModel>().FirstOrDefaultAsync(m => m.ProjectId == projectId && m.Name == name, ct)
            ?? throw TrackingStore.NotFound($"Registered Model with name={name} not found");

    public async Task<(List<RegisteredModel> Items, string? Next)> SearchModelsAsync(string projectId, string? filter, IReadOnlyList<string> orderBy,
        int maxResults, string? pageToken, CancellationToken ct)
    {
        IQueryable<RegisteredModel> query = db.Set<RegisteredModel>().Where(m => m.ProjectId == projectId);
        var tagClauses = new List<FilterClause>();
        foreach (var c in SearchFilter.Parse(filter))
        {
            if (c.Kind == "tag")
            {
                tagClauses.Add(c);
                continue;
            }
            if (c.Kind != "attribute" || c.Key != "name")
            {
                throw TrackingStore.Invalid("filter", $"Registered models can be filtered by name and tags only; '{c.Key}' is not supported.");
            }
            query = c.Op switch
            {
                "=" => query.Where(m => m.Name == c.Text),
                "!=" => query.Where(m => m.Name != c.Text),
                "LIKE" => query.Where(m => EF.Functions.Like(m.Name, c.Text!)),
                "ILIKE" => query.Where(m => EF.Functions.Like(m.Name.ToLower(), c.Text!.ToLower())),
                _ => throw TrackingStore.Invalid("filter", $"Model names compare with =, !=, LIKE or ILIKE, not {c.Op}."),
            };
        }
        var order = SearchFilter.ParseOrder(orderBy);
        var first = order.Count > 0 ? order[0] : new OrderTerm("attribute", "name", true);
        query = first.Key switch
        {
            "name" => first.Ascending ? query.OrderBy(m => m.Name) : query.OrderByDescending(m => m.Name),
            "timestamp" or "last_updated_timestamp" => first.Ascending ? query.OrderBy(m => m.UpdatedAt) : query.OrderByDescending(m => m.UpdatedAt),
            "creation_timestamp" => first.Ascending ? query.OrderBy(m => m.CreatedAt) : query.OrderByDescending(m => m.CreatedAt),
            _ => throw TrackingStore.Invalid("order_by", $"Registered models can be ordered by name, creation_timestamp or last_updated_timestamp, not '{first.Key}'."),
        };
        var rows = await query.ToListAsync(ct);
        rows = [.. rows.Where(m => tagClauses.All(c => m.ReadTags().TryGetValue(c.Key, out var v) && c.Op switch
        {
            "=" => v == c.Text,
            "!=" => v != c.Text,
            _ => throw TrackingStore.Invalid("filter", "Model tags compare with = or !=."),
        }))];
        var offset = PageTokens.Read(pageToken);
        return PageTokens.Page(rows, offset, maxResults);
    }

    public async Task UpdateModelAsync(RegisteredModel model, string? description, string? newName, CancellationToken ct)
    {
        if (newName is not null && newName != model.Name)
        {
            ValidateName(newName);
            if (await db.Set<RegisteredModel>().AnyAsync(m => m.ProjectId == model.ProjectId && m.Name == newName, ct))
            {
                throw new GureumException(ProblemCode.Conflict, $"Registered Model (name={newName}) already exists.", mlflowCode: MlflowCodes.ResourceAlreadyExists);
            }
            model.Name = newName;
        }
        if (description is not null)
        {
            model.Description = Description(description);
        }
        model.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
    }

    public async Task SetModelTagAsync(RegisteredModel model, string key, string? value, CancellationToken ct)
    {
        var tags = model.ReadTags();
        if (value is null)
        {
            if (!tags.Remove(key))
            {
                throw TrackingStore.NotFound($"Registered model '{model.Name}' has no tag '{key}'.");
            }
        }
        else
        {
            tags[key] = value;
            ValidateTags(tags);
        }
        model.Tags = JsonSerializer.Serialize(tags);
        model.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Deletes the model, its versions and aliases; blobs no other row refers to are freed.</summary>
    public async Task DeleteModelAsync(RegisteredModel model, CancellationToken ct)
    {
        await EnsureNotServedAsync(model, null, null, $"Model '{model.Name}'", ct);
        var blobs = await db.Set<ModelVersion>().Where(v => v.ModelId == model.Id).Select(v => v.Sha256).ToListAsync(ct);
        db.Remove(model);
        await db.SaveChangesAsync(ct);
        await BlobReferences.ReleaseAsync(db, artifacts, blobs);
    }

    // ---- versions ----

    /// <summary>
    /// Validates the file (which must be in a directory of its own: ONNX external data is resolved beside it), stores it
    /// and makes it the next version. Nothing is stored when validation fails.
    /// </summary>
    public async Task<ModelVersion> CreateVersionAsync(RegisteredModel model, string file, NewVersion request, string createdBy, CancellationToken ct)
    {
        ValidateTags(request.Tags);
        var (format, signature) = await validation.ValidateAsync(file, request.FileName, request.Declared, ct);
        ArtifactInfo stored;
        await using (var content = File.OpenRead(file))
        {
            stored = await artifacts.PutAsync(content, validation.Limits.MaxBytes, ct);
        }
        for (var attempt = 0; ; attempt++)
        {
            var number = (await db.Set<ModelVersion>().Where(v => v.ModelId == model.Id).MaxAsync(v => (int?)v.Version, ct) ?? 0) + 1;
            var now = clock.GetUtcNow();
            var version = new ModelVersion
            {
                Id = Ids.New(), ModelId = model.Id, ProjectId = model.ProjectId, Version = number,
                Format = format == ModelFormat.Onnx ? "onnx" : "mlnet", Sha256 = stored.Sha256, SizeBytes = stored.Length,
                Signature = JsonSerializer.Serialize(signature, DatasetJson), Metrics = JsonSerializer.Serialize(request.Metrics ?? new Dictionary<string, double>()),
                Source = request.Source, RunId = request.RunId, TrainingJobId = request.TrainingJobId, DatasetVersionId = request.DatasetVersionId,
                Description = Description(request.Description), Tags = JsonSerializer.Serialize(request.Tags ?? new Dictionary<string, string>()),
                CreatedBy = createdBy, CreatedAt = now, UpdatedAt = now,
            };
            db.Add(version);
            try
            {
                model.UpdatedAt = now;
                await db.SaveChangesAsync(ct);
                return version;
            }
            catch (DbUpdateException) when (attempt < 5)
            {
                db.Entry(version).State = EntityState.Detached;
            }
        }
    }

    internal static readonly JsonSerializerOptions DatasetJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static ModelFileSignature ReadSignature(ModelVersion v) => JsonSerializer.Deserialize<ModelFileSignature>(v.Signature, DatasetJson)!;

    public async Task<ModelVersion> FindVersionAsync(RegisteredModel model, string version, CancellationToken ct)
    {
        if (!int.TryParse(version, out var number))
        {
            throw TrackingStore.Invalid("version", $"Model version must be a number; it was '{version}'.");
        }
        return await db.Set<ModelVersion>().FirstOrDefaultAsync(v => v.ModelId == model.Id && v.Version == number, ct)
            ?? throw TrackingStore.NotFound($"Model Version (name={model.Name}, version={version}) not found");
    }

    public Task<ModelVersion?> LatestVersionAsync(RegisteredModel model, CancellationToken ct) =>
        db.Set<ModelVersion>().Where(v => v.ModelId == model.Id).OrderByDescending(v => v.Version).FirstOrDefaultAsync(ct);

    public Task<List<ModelVersion>> VersionsAsync(RegisteredModel model, CancellationToken ct) =>
        db.Set<ModelVersion>().Where(v => v.ModelId == model.Id).OrderByDescending(v => v.Version).ToListAsync(ct);

    public async Task<(List<(ModelVersion Version, string Model)> Items, string? Next)> SearchVersionsAsync(string projectId, string? filter,
        IReadOnlyList<string> orderBy, int maxResults, string? pageToken, CancellationToken ct)
    {
        var query = db.Set<ModelVersion>().Where(v => v.ProjectId == projectId).Select(v => new { Version = v, Model = v.Model!.Name });
        foreach (var c in SearchFilter.Parse(filter))
        {
            var key = c.Kind == "attribute" ? c.Key : c.Kind + "." + c.Key;
            query = (key, c.Op) switch
            {
                ("name", "=") => query.Where(x => x.Model == c.Text),
                ("name", "LIKE") => query.Where(x => EF.Functions.Like(x.Model, c.Text!)),
                ("name", "ILIKE") => query.Where(x => EF.Functions.Like(x.Model.ToLower(), c.Text!.ToLower())),
                ("run_id", "=") => query.Where(x => x.Version.RunId == c.Text),
                ("run_id", "IN") => query.Where(x => c.List!.Contains(x.Version.RunId!)),
                ("source_path" or "source", "=") => query.Where(x => x.Version.Source == c.Text),
                ("version_number", "=") => query.Where(x => x.Version.Version == (int)(c.Number ?? -1)),
                _ => throw TrackingStore.Invalid("filter", $"Model versions can be filtered by name (=, LIKE, ILIKE), run_id (=, IN), source_path (=) or version_number (=); not '{key} {c.Op}'."),
            };
        }
        var order = SearchFilter.ParseOrder(orderBy);
        var first = order.Count > 0 ? order[0] : new OrderTerm("attribute", "last_updated_timestamp", false);
        query = first.Key switch
        {
            "name" => first.Ascending ? query.OrderBy(x => x.Model).ThenByDescending(x => x.Version.Version) : query.OrderByDescending(x => x.Model).ThenByDescending(x => x.Version.Version),
            "version_number" => first.Ascending ? query.OrderBy(x => x.Version.Version) : query.OrderByDescending(x => x.Version.Version),
            "creation_timestamp" => first.Ascending ? query.OrderBy(x => x.Version.CreatedAt) : query.OrderByDescending(x => x.Version.CreatedAt),
            "last_updated_timestamp" or "timestamp" => first.Ascending ? query.OrderBy(x => x.Version.UpdatedAt) : query.OrderByDescending(x => x.Version.UpdatedAt),
            _ => throw TrackingStore.Invalid("order_by", $"Model versions can be ordered by name, version_number, creation_timestamp or last_updated_timestamp, not '{first.Key}'."),
        };
        var offset = PageTokens.Read(pageToken);
        var (rows, next) = await PageTokens.PageAsync(query, offset, maxResults, ct);
        return ([.. rows.Select(x => (x.Version, x.Model))], next);
    }

    public async Task UpdateVersionAsync(ModelVersion version, string? description, CancellationToken ct)
    {
        if (description is not null)
        {
            version.Description = Description(description);
        }
        version.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
    }

    public async Task SetVersionTagAsync(ModelVersion version, string key, string? value, CancellationToken ct)
    {
        var tags = version.ReadTags();
        if (value is null)
        {
            if (!tags.Remove(key))
            {
                throw TrackingStore.NotFound($"Model version {version.Version} has no tag '{key}'.");
            }
        }
        else
        {
            tags[key] = value;
            ValidateTags(tags);
        }
        version.Tags = JsonSerializer.Serialize(tags);
        version.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Deletes a version; aliases on it go too (recorded in their history), as in MLflow.</summary>
    public async Task DeleteVersionAsync(RegisteredModel model, ModelVersion version, string by, CancellationToken ct)
    {
        await EnsureNotServedAsync(model, version.Version, null, $"{model.Name} v{version.Version}", ct);
        var aliases = await db.Set<ModelAlias>().Where(a => a.ModelId == model.Id && a.Version == version.Version).ToListAsync(ct);
        foreach (var alias in aliases)
        {
            db.Remove(alias);
            db.Add(new ModelAliasEvent { ModelId = model.Id, Alias = alias.Alias, FromVersion = version.Version, ToVersion = null, By = by, At = clock.GetUtcNow() });
        }
        db.Remove(version);
        await db.SaveChangesAsync(ct);
        await BlobReferences.ReleaseAsync(db, artifacts, [version.Sha256]);
    }

    /// <summary>
    /// The endpoints serving this model: all of them (no version or alias given), those naming the version directly or
    /// through an alias now on it, or those following the alias.
    /// </summary>
    public async Task<List<string>> ServingEndpointsAsync(RegisteredModel model, int? version, string? alias, CancellationToken ct)
    {
        var links = await db.Set<EndpointModel>().Where(m => m.ModelId == model.Id)
            .Join(db.Set<InferenceEndpoint>(), m => m.EndpointId, e => e.Id, (m, e) => new { m.Version, m.Alias, e.Name }).ToListAsync(ct);
        var aliasesOnVersion = version is { } v
            ? await db.Set<ModelAlias>().Where(a => a.ModelId == model.Id && a.Version == v).Select(a => a.Alias).ToListAsync(ct)
            : [];
        return [.. links.Where(l => (version is null && alias is null)
                || (version is { } n && (l.Version == n || (l.Alias is not null && aliasesOnVersion.Contains(l.Alias))))
                || (alias is not null && l.Alias == alias))
            .Select(l => l.Name).Distinct().Order()];
    }

    private async Task EnsureNotServedAsync(RegisteredModel model, int? version, string? alias, string what, CancellationToken ct)
    {
        var endpoints = await ServingEndpointsAsync(model, version, alias, ct);
        if (endpoints.Count > 0)
        {
            throw new GureumException(ProblemCode.Conflict,
                $"{what} is served by endpoint {string.Join(", ", endpoints.Select(e => $"'{e}'"))}; change the endpoint (PUT) or delete it first.");
        }
    }

    // ---- aliases ----

    public Task<List<ModelAlias>> AliasesAsync(string modelId, CancellationToken ct) =>
        db.Set<ModelAlias>().Where(a => a.ModelId == modelId).OrderBy(a => a.Alias).ToListAsync(ct);

    /// <summary>Points the alias at the version in one transaction with its history row: readers see the old or the new target, never neither.</summary>
    public async Task SetAliasAsync(RegisteredModel model, string alias, ModelVersion version, string by, CancellationToken ct)
    {
        ValidateAlias(alias);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var row = await db.Set<ModelAlias>().FirstOrDefaultAsync(a => a.ModelId == model.Id && a.Alias == alias, ct);
        var now = clock.GetUtcNow();
        int? from = row?.Version;
        if (row is null)
        {
            db.Add(new ModelAlias { ModelId = model.Id, Alias = alias, Version = version.Version, UpdatedAt = now, UpdatedBy = by });
        }
        else
        {
            row.Version = version.Version;
            row.UpdatedAt = now;
            row.UpdatedBy = by;
        }
        if (from != version.Version)
        {
            db.Add(new ModelAliasEvent { ModelId = model.Id, Alias = alias, FromVersion = from, ToVersion = version.Version, By = by, At = now });
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
    }

    public async Task DeleteAliasAsync(RegisteredModel model, string alias, string by, CancellationToken ct)
    {
        var row = await db.Set<ModelAlias>().FirstOrDefaultAsync(a => a.ModelId == model.Id && a.Alias == alias, ct)
            ?? throw TrackingStore.NotFound($"Registered model '{model.Name}' has no alias '{alias}'.");
        await EnsureNotServedAsync(model, null, alias, $"Alias '{alias}' of {model.Name}", ct);
        db.Remove(row);
        db.Add(new ModelAliasEvent { ModelId = model.Id, Alias = alias, FromVersion = row.Version, ToVersion = null, By = by, At = clock.GetUtcNow() });
        await db.SaveChangesAsync(ct);
    }

    public async Task<ModelVersion> FindByAliasAsync(RegisteredModel model, string alias, CancellationToken ct)
    {
        var row = await db.Set<ModelAlias>().FirstOrDefaultAsync(a => a.ModelId == model.Id && a.Alias == alias, ct)
            ?? throw TrackingStore.NotFound($"Registered model alias {alias} not found.");
        return await FindVersionAsync(model, row.Version.ToString(), ct);
    }

    public Task<List<ModelAliasEvent>> AliasHistoryAsync(RegisteredModel model, CancellationToken ct) =>
        db.Set<ModelAliasEvent>().Where(e => e.ModelId == model.Id).OrderByDescending(e => e.Id).Take(500).ToListAsync(ct);

    // ---- rules ----

    public static void ValidateName(string name)
    {
        if (!NamePattern().IsMatch(name) || name.Contains("..", StringComparison.Ordinal))
        {
            throw TrackingStore.Invalid("name", $"Model names are {NameRule}; '{(name.Length > 80 ? name[..80] : name)}' is not.");
        }
    }

    public static void ValidateAlias(string alias)
    {
        if (!AliasPattern().IsMatch(alias) || alias.Equals("latest", StringComparison.OrdinalIgnoreCase) || VersionLike().IsMatch(alias))
        {
            throw TrackingStore.Invalid("alias", $"Aliases are letters, digits, '_' and '-' (at most 64), and not 'latest' or 'v<number>'; '{alias}' is not allowed.");
        }
    }

    private static void ValidateTags(IReadOnlyDictionary<string, string>? tags)
    {
        foreach (var (key, value) in tags ?? new Dictionary<string, string>())
        {
            if (key.Length is 0 or > TrackingStore.MaxKeyLength || key.Any(char.IsControl) || value.Length > TrackingStore.MaxTagValueLength)
            {
                throw TrackingStore.Invalid("tags", $"Tag keys are 1 to {TrackingStore.MaxKeyLength} characters without control characters and values at most {TrackingStore.MaxTagValueLength}.");
            }
        }
    }

    private static string Description(string? description) => description is { Length: > 5000 }
        ? throw TrackingStore.Invalid("description", "'description' is limited to 5000 characters.")
        : description ?? "";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex AliasPattern();

    [GeneratedRegex("^[vV][0-9]+$")]
    private static partial Regex VersionLike();
}

/// <summary>
/// The registry's use of <see cref="ModelFiles"/>: format detection, the isolated load check and the comparison with
/// what the user declared, with their failures turned into the right 4xx.
/// </summary>
public sealed class ModelValidation(ModelFileLimits limits, ModelCheckLauncher launcher)
{
    public ModelFileLimits Limits => limits;

    public async Task<(ModelFormat Format, ModelFileSignature Signature)> ValidateAsync(string file, string? fileName, ModelFileSignature? declared, CancellationToken ct)
    {
        try
        {
            if (new FileInfo(file).Length > limits.MaxBytes)
            {
                throw new ModelFileException(ModelFileException.TooLarge, "file", $"Model files are limited to {limits.MaxBytes:N0} bytes.");
            }
            var format = ModelFiles.Detect(file, fileName);
            var signature = await ModelFiles.ValidateAsync(file, format, limits, launcher, ct);
            if (declared is not null && ModelFiles.FindMismatch(declared with { Format = format }, signature) is { } mismatch)
            {
                throw new ModelFileException(ModelFileException.Invalid, "signature", "The declared signature does not match the model: " + mismatch);
            }
            return (format, signature);
        }
        catch (ModelFileException e)
        {
            var code = e.Code switch
            {
                ModelFileException.Unsupported => ProblemCode.UnsupportedMediaType,
                ModelFileException.TooLarge => ProblemCode.PayloadTooLarge,
                _ => ProblemCode.UnreadableData,
            };
            throw new GureumException(code, e.Message, new Dictionary<string, string[]> { [e.Field] = [e.Message] }, MlflowCodes.InvalidParameterValue);
        }
    }
}
