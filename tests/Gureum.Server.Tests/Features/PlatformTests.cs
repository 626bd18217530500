using System.Net;
using System.Text.Json;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Gureum.Server.Tests.Features;

/// <summary>Storage, docs, health and metrics of the running platform (each database lane).</summary>
public sealed class PlatformTests(GureumApp app) : IClassFixture<GureumApp>
{
    [Fact]
    public async Task Migrations_AreAllApplied_AndMatchTheModel()
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GureumDb>();
        Assert.Equal(TestDatabase.IsPostgres ? "Npgsql.EntityFrameworkCore.PostgreSQL" : "Microsoft.EntityFrameworkCore.Sqlite", db.Database.ProviderName);
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.NotEmpty(await db.Database.GetAppliedMigrationsAsync());
        Assert.False(db.Database.HasPendingModelChanges(), "the model changed without a migration: run dotnet ef migrations add for both providers");
    }

    [Fact]
    public async Task Sqlite_RunsInWalMode()
    {
        Assert.SkipWhen(TestDatabase.IsPostgres, "SQLite lane only");
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GureumDb>();
        var mode = await db.Database.SqlQueryRaw<string>("PRAGMA journal_mode").ToListAsync();
        Assert.Equal("wal", mode.Single());
    }

    [Fact]
    public async Task HealthLive_And_Ready_AnswerWithoutAKey()
    {
        using var live = await app.Client().GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using var ready = await app.Client().GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal(["accepting", "ai-engines", "artifacts", "database", "endpoints"], body.GetProperty("checks").EnumerateObject().Select(c => c.Name).Order());
    }

    [Fact]
    public async Task Metrics_NeedAnAdminKey_AndCountRequestsPerRoute()
    {
        using var anonymous = await app.Client().GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        (await app.Admin().GetAsync("/v1/projects")).Dispose();
        var text = await app.Admin().GetStringAsync("/metrics");
        Assert.Contains("http_server_request_duration_seconds_bucket", text);
        Assert.Contains("http_route=\"/v1/projects/\"", text);
        Assert.Contains("http_server_active_requests", text);
        Assert.Contains("dotnet_gc_", text);
    }

    [Fact]
    public async Task Docs_AreServed()
    {
        using var docs = await app.Client().GetAsync("/docs/");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Contains("text/html", docs.Content.Headers.ContentType?.ToString());
    }

    [Fact]
    public async Task OpenApi_DocumentsEveryRoute_WithItsErrors()
    {
        var document = JsonDocument.Parse(await app.Client().GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths");
        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/v1/", StringComparison.Ordinal) == true)
            // The MLflow-compatible mirror under /v1/projects/{project}/mlflow is documented by MLflow's own REST reference.
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true });
        foreach (var route in routes)
        {
            var path = System.Text.RegularExpressions.Regex.Replace(route.RoutePattern.RawText!.TrimEnd('/'), "\\{(\\w+):[^}]+\\}", "{$1}").Replace("{**", "{");
            Assert.True(paths.TryGetProperty(path, out var item) || paths.TryGetProperty(path + "/", out item), $"{path} is missing from /openapi/v1.json");
            foreach (var operation in item.EnumerateObject())
            {
                Assert.True(operation.Value.GetProperty("responses").TryGetProperty("401", out _), $"{operation.Name} {path} does not document 401");
            }
        }
        Assert.True(document.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("bearer", out _));
    }

    /// <summary>The API surface as a checked-in file, so every change to it shows in review. UPDATE_SNAPSHOTS=1 rewrites it.</summary>
    [Fact]
    public async Task OpenApi_MatchesTheCheckedInSnapshot()
    {
        var actual = Normalize(await app.Client().GetStringAsync("/openapi/v1.json"));
        var source = Path.Combine(Repository.Root, "tests", "Gureum.Server.Tests", "openapi.snapshot.json");
        if (Environment.GetEnvironmentVariable("UPDATE_SNAPSHOTS") == "1")
        {
            await File.WriteAllTextAsync(source, actual);
        }
        Assert.True(File.Exists(source), "no snapshot yet: run the tests once with UPDATE_SNAPSHOTS=1");
        Assert.Equal(await File.ReadAllTextAsync(source), actual);
    }

    private static string Normalize(string json)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        node.AsObject().Remove("servers");
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
