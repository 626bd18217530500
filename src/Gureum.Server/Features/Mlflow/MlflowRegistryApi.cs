using Gureum.Server.Features.Registry;
using Gureum.Server.Features.Tracking;
using Gureum.Server.Infrastructure.Artifacts;
using Gureum.Server.Infrastructure.Auth;

namespace Gureum.Server.Features.Mlflow;

/// <summary>MLflow's Model Registry REST API over <see cref="RegistryStore"/>. Stages are not kept: aliases cover them.</summary>
internal static class MlflowRegistryApi
{
    private delegate Task<object> Handler(HttpContext http, MlflowRequest request, RegistryStore registry, string project, CancellationToken ct);

    public static void Map(RouteGroupBuilder g)
    {
        Route(g, "POST", "/registered-models/create", Scopes.ProjectWrite, ["name", "tags", "description"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.CreateModelAsync(project, r.RequiredString("name"), r.String("description"), Tags(r), ct);
            return new { registered_model = await ModelAsync(registry, model, ct) };
        });
        Route(g, "GET", "/registered-models/get", Scopes.ProjectRead, ["name"], async (http, r, registry, project, ct) =>
            new { registered_model = await ModelAsync(registry, await registry.FindModelAsync(project, r.RequiredString("name"), ct), ct) });
        Route(g, "PATCH", "/registered-models/update", Scopes.ProjectWrite, ["name", "description"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            await registry.UpdateModelAsync(model, r.String("description"), null, ct);
            return new { registered_model = await ModelAsync(registry, model, ct) };
        });
        Route(g, "POST", "/registered-models/rename", Scopes.ProjectWrite, ["name", "new_name"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            await registry.UpdateModelAsync(model, null, r.RequiredString("new_name"), ct);
            return new { registered_model = await ModelAsync(registry, model, ct) };
        });
        Route(g, "DELETE", "/registered-models/delete", Scopes.ProjectWrite, ["name"], async (http, r, registry, project, ct) =>
        {
            await registry.DeleteModelAsync(await registry.FindModelAsync(project, r.RequiredString("name"), ct), ct);
            return MlflowApi.Empty;
        });
        Route(g, "GET", "/registered-models/search", Scopes.ProjectRead, ["filter", "max_results", "order_by", "page_token"], async (http, r, registry, project, ct) =>
        {
            var (items, next) = await registry.SearchModelsAsync(project, r.String("filter"), r.Strings("order_by"), r.MaxResults(100, 1000), r.String("page_token"), ct);
            var models = new List<object>();
            foreach (var m in items)
            {
                models.Add(await ModelAsync(registry, m, ct));
            }
            return new { registered_models = models, next_page_token = next };
        });
        Route(g, "POST", "/registered-models/get-latest-versions", Scopes.ProjectRead, ["name", "stages"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            var latest = await registry.LatestVersionAsync(model, ct);
            var aliases = await registry.AliasesAsync(model.Id, ct);
            return new { model_versions = latest is null ? [] : new[] { Version(model.Name, latest, aliases) } };
        });
        Route(g, "POST", "/registered-models/set-tag", Scopes.ProjectWrite, ["name", "key", "value"], async (http, r, registry, project, ct) =>
        {
            await registry.SetModelTagAsync(await registry.FindModelAsync(project, r.RequiredString("name"), ct), r.RequiredString("key"), r.String("value") ?? "", ct);
            return MlflowApi.Empty;
        });
        Route(g, "DELETE", "/registered-models/delete-tag", Scopes.ProjectWrite, ["name", "key"], async (http, r, registry, project, ct) =>
        {
            await registry.SetModelTagAsync(await registry.FindModelAsync(project, r.RequiredString("name"), ct), r.RequiredString("key"), null, ct);
            return MlflowApi.Empty;
        });
        Route(g, "POST", "/registered-models/alias", Scopes.ProjectWrite, ["name", "alias", "version"], async (http, r, registry, project, ct) =>
        {
            RegistryStore.ValidateAlias(r.RequiredString("alias"));
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            var version = await registry.FindVersionAsync(model, r.RequiredString("version"), ct);
            await registry.SetAliasAsync(model, r.RequiredString("alias"), version, Caller.From(http.User).KeyId, ct);
            return MlflowApi.Empty;
        });
        Route(g, "DELETE", "/registered-models/alias", Scopes.ProjectWrite, ["name", "alias"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            await registry.DeleteAliasAsync(model, r.RequiredString("alias"), Caller.From(http.User).KeyId, ct);
            return MlflowApi.Empty;
        });
        Route(g, "GET", "/registered-models/alias", Scopes.ProjectRead, ["name", "alias"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            var version = await registry.FindByAliasAsync(model, r.RequiredString("alias"), ct);
            return new { model_version = Version(model.Name, version, await registry.AliasesAsync(model.Id, ct)) };
        });

        Route(g, "POST", "/model-versions/create", Scopes.ProjectWrite, ["name", "source", "run_id", "tags", "run_link", "description", "model_id"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            var sources = http.RequestServices.GetRequiredService<VersionSources>();
            var resolved = await sources.FromUriAsync(project, r.RequiredString("source"), r.String("run_id"), ct);
            var version = await CreateFromStoreAsync(http, registry, model, resolved with
            {
                Version = resolved.Version with { Description = r.String("description"), Tags = Tags(r) },
            }, ct);
            return new { model_version = Version(model.Name, version, []) };
        });
        Route(g, "GET", "/model-versions/get", Scopes.ProjectRead, ["name", "version"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            var version = await registry.FindVersionAsync(model, r.RequiredString("version"), ct);
            return new { model_version = Version(model.Name, version, await registry.AliasesAsync(model.Id, ct)) };
        });
        Route(g, "PATCH", "/model-versions/update", Scopes.ProjectWrite, ["name", "version", "description"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            var version = await registry.FindVersionAsync(model, r.RequiredString("version"), ct);
            await registry.UpdateVersionAsync(version, r.String("description"), ct);
            return new { model_version = Version(model.Name, version, await registry.AliasesAsync(model.Id, ct)) };
        });
        Route(g, "DELETE", "/model-versions/delete", Scopes.ProjectWrite, ["name", "version"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            var version = await registry.FindVersionAsync(model, r.RequiredString("version"), ct);
            await registry.DeleteVersionAsync(model, version, Caller.From(http.User).KeyId, ct);
            return MlflowApi.Empty;
        });
        Route(g, "GET", "/model-versions/search", Scopes.ProjectRead, ["filter", "max_results", "order_by", "page_token"], async (http, r, registry, project, ct) =>
        {
            var (items, next) = await registry.SearchVersionsAsync(project, r.String("filter"), r.Strings("order_by"), r.MaxResults(10000, 200000), r.String("page_token"), ct);
            var versions = new List<object>();
            foreach (var (v, name) in items)
            {
                versions.Add(Version(name, v, await registry.AliasesAsync(v.ModelId, ct)));
            }
            return new { model_versions = versions, next_page_token = next };
        });
        Route(g, "POST", "/model-versions/set-tag", Scopes.ProjectWrite, ["name", "version", "key", "value"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            await registry.SetVersionTagAsync(await registry.FindVersionAsync(model, r.RequiredString("version"), ct), r.RequiredString("key"), r.String("value") ?? "", ct);
            return MlflowApi.Empty;
        });
        Route(g, "DELETE", "/model-versions/delete-tag", Scopes.ProjectWrite, ["name", "version", "key"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            await registry.SetVersionTagAsync(await registry.FindVersionAsync(model, r.RequiredString("version"), ct), r.RequiredString("key"), null, ct);
            return MlflowApi.Empty;
        });
        Route(g, "GET", "/model-versions/get-download-uri", Scopes.ProjectRead, ["name", "version"], async (http, r, registry, project, ct) =>
        {
            var model = await registry.FindModelAsync(project, r.RequiredString("name"), ct);
            var version = await registry.FindVersionAsync(model, r.RequiredString("version"), ct);
            return new { artifact_uri = version.Source };
        });
    }

    /// <summary>Copies a stored file into a private directory, validates it there and registers it.</summary>
    internal static Task<ModelVersion> CreateFromStoreAsync(HttpContext http, RegistryStore registry, RegisteredModel model, ResolvedSource source, CancellationToken ct) =>
        CreateFromStoreAsync(http.RequestServices, registry, model, source, Caller.From(http.User).KeyId, ct);

    /// <summary>A new version from a file already in our storage (a run artifact, a training job's model), validated like an upload.</summary>
    internal static async Task<ModelVersion> CreateFromStoreAsync(IServiceProvider services, RegistryStore registry, RegisteredModel model, ResolvedSource source,
        string createdBy, CancellationToken ct)
    {
        var blobs = services.GetRequiredService<IArtifactStore>();
        var validation = services.GetRequiredService<ModelValidation>();
        using var staged = await StagedModelFile.FromStreamAsync(blobs, blobs.OpenRead(source.Sha256), validation.Limits.MaxBytes, ct);
        return await registry.CreateVersionAsync(model, staged.Path, source.Version with { FileName = source.FileName }, createdBy, ct);
    }

    private static Dictionary<string, string>? Tags(MlflowRequest r) =>
        r.Tags() is { Count: > 0 } tags ? tags.GroupBy(t => t.Key).ToDictionary(g => g.Key, g => g.Last().Value) : null;

    private static async Task<object> ModelAsync(RegistryStore registry, RegisteredModel m, CancellationToken ct)
    {
        var aliases = await registry.AliasesAsync(m.Id, ct);
        var latest = await registry.LatestVersionAsync(m, ct);
        return new
        {
            name = m.Name,
            creation_timestamp = m.CreatedAt.ToUnixTimeMilliseconds(),
            last_updated_timestamp = m.UpdatedAt.ToUnixTimeMilliseconds(),
            description = m.Description,
            latest_versions = latest is null ? [] : new[] { Version(m.Name, latest, aliases) },
            tags = m.ReadTags().OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new { key = t.Key, value = t.Value }),
            aliases = aliases.Select(a => new { alias = a.Alias, version = a.Version.ToString() }),
        };
    }

    internal static object Version(string modelName, ModelVersion v, IReadOnlyList<ModelAlias> aliases) => new
    {
        name = modelName,
        version = v.Version.ToString(),
        creation_timestamp = v.CreatedAt.ToUnixTimeMilliseconds(),
        last_updated_timestamp = v.UpdatedAt.ToUnixTimeMilliseconds(),
        user_id = v.CreatedBy,
        current_stage = "None",
        description = v.Description,
        source = v.Source,
        run_id = v.RunId ?? "",
        status = "READY",
        tags = v.ReadTags().OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new { key = t.Key, value = t.Value }),
        aliases = aliases.Where(a => a.ModelId == v.ModelId && a.Version == v.Version).Select(a => a.Alias),
    };

    private static void Route(RouteGroupBuilder g, string method, string pattern, string scope, string[] fields, Handler handler)
    {
        // MLflow clients send reads as GET with a query, deletes as DELETE with a JSON body: MlflowRequest reads either.
        g.MapMethods(pattern, [method], async (HttpContext http, RegistryStore registry, CancellationToken ct) =>
        {
            var project = await MlflowApi.ProjectAsync(http);
            var request = await MlflowRequest.ReadAsync(http, fields);
            return MlflowApi.Ok(await handler(http, request, registry, project, ct));
        }).RequireScope(scope);
    }
}
