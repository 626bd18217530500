using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gureum.Server.Infrastructure;
using Gureum.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Gureum.Server.Tests.Features;

/// <summary>
/// Every /v1 route the server maps (read from its endpoint table, so new routes join automatically) × every caller
/// that must be refused: no key, a revoked key, a key of another project, a key with too narrow a scope.
/// None may succeed, and each refusal must be indistinguishable from the answer about a project that does not exist.
/// </summary>
public sealed class AuthMatrixTests(GureumApp app) : IClassFixture<GureumApp>
{
    private sealed record Route(string Method, string Pattern, bool UnderProject);

    private IReadOnlyList<Route> Routes() => app.Services.GetRequiredService<EndpointDataSource>().Endpoints
        .OfType<RouteEndpoint>()
        .Where(e => e.RoutePattern.RawText?.StartsWith("/v1/", StringComparison.Ordinal) == true)
        .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
            .Select(m => new Route(m, e.RoutePattern.RawText!, e.RoutePattern.RawText!.Contains("{project}", StringComparison.Ordinal))))
        .Distinct()
        .ToList();

    [Fact]
    public async Task EveryRoute_RefusesEveryWrongCaller()
    {
        var routes = Routes();
        Assert.True(routes.Count >= 12, $"only {routes.Count} routes found");
        var target = await app.CreateProjectAsync();
        var other = await app.CreateProjectAsync();
        var (targetKeyId, _) = await app.CreateKeyAsync(target, "predict");
        using var job = await app.Admin().PostAsJsonAsync($"/v1/projects/{target}/jobs", new { kind = "diagnostics.wait", input = new { steps = 1, stepMilliseconds = 0 } });
        var jobId = (await job.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var (revokedId, revoked) = await app.CreateKeyAsync(target, "project:write");
        (await app.Admin().DeleteAsync($"/v1/projects/{target}/keys/{revokedId}")).Dispose();
        var (_, foreign) = await app.CreateKeyAsync(other, "project:write");
        var (_, narrow) = await app.CreateKeyAsync(target, "ai");
        var adminKeys = await app.Admin().GetFromJsonAsync<JsonElement>("/v1/admin/keys");
        var adminKeyId = adminKeys.GetProperty("items")[0].GetProperty("id").GetString()!;
        var (ghostProject, ghostJob, ghostKey) = (Ids.New(), Ids.New(), Ids.New());

        var callers = new (string Name, string? Key, Func<Route, HttpStatusCode[]> Expected)[]
        {
            ("no key", null, _ => [HttpStatusCode.Unauthorized]),
            ("revoked key", revoked, _ => [HttpStatusCode.Unauthorized]),
            ("other project's key", foreign, r => r.UnderProject ? [HttpStatusCode.NotFound, HttpStatusCode.Forbidden] : IsOperatorRoute(r) || r.Method != "GET" ? [HttpStatusCode.Forbidden] : [HttpStatusCode.OK]),
            // An ai key calls the AI APIs of its project (without a body they answer 400/415; a made-up operation 404),
            // and may read the price list like any key.
            ("ai-only key", narrow, r => IsAiRoute(r) || (r.Pattern == "/v1/prices/" && r.Method == "GET")
                ? [HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.UnsupportedMediaType, HttpStatusCode.NotFound]
                : [HttpStatusCode.Forbidden]),
        };
        var failures = new List<string>();
        foreach (var route in routes)
        {
            foreach (var (name, key, expected) in callers)
            {
                var (status, body) = await SendAsync(route, key, target, jobId, targetKeyId, adminKeyId);
                if (!expected(route).Contains(status))
                {
                    failures.Add($"{route.Method} {route.Pattern} as {name}: {(int)status}");
                }
                if (key == narrow && IsAiRoute(route))
                {
                    continue; // the rightful caller of these routes
                }
                if (status == HttpStatusCode.OK)
                {
                    Assert.DoesNotContain(target, body);
                    continue;
                }
                var (ghostStatus, ghostBody) = await SendAsync(route, key, ghostProject, ghostJob, ghostKey, ghostKey);
                var seen = Normalize(body, target, jobId, targetKeyId, adminKeyId);
                var ghost = Normalize(ghostBody, ghostProject, ghostJob, ghostKey, ghostKey);
                if (status != ghostStatus || seen != ghost)
                {
                    failures.Add($"{route.Method} {route.Pattern} as {name}: differs from a missing project ({(int)status} {seen} vs {(int)ghostStatus} {ghost})");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Routes for operators only (admin keys): key administration, every project's usage, the cluster's nodes.</summary>
    private static bool IsOperatorRoute(Route route) =>
        route.Pattern.StartsWith("/v1/admin", StringComparison.Ordinal) || route.Pattern.StartsWith("/v1/usage", StringComparison.Ordinal)
        || route.Pattern.StartsWith("/v1/nodes", StringComparison.Ordinal);

    private static bool IsAiRoute(Route route) => route.Pattern.StartsWith("/v1/projects/{project}/ai/", StringComparison.Ordinal);

    private async Task<(HttpStatusCode, string)> SendAsync(Route route, string? key, string project, string job, string keyId, string adminKeyId)
    {
        var path = route.Pattern.Replace("{project}", project).Replace("{jobId}", job)
            .Replace("{keyId}", route.Pattern.StartsWith("/v1/admin", StringComparison.Ordinal) ? adminKeyId : keyId);
        path = System.Text.RegularExpressions.Regex.Replace(path, "\\{[^}]+\\}", "1"); // any other parameter: {dataset}, {number:int}, ...
        using var request = new HttpRequestMessage(new HttpMethod(route.Method), path);
        if (route.Method is "POST" or "PUT" or "PATCH")
        {
            request.Content = JsonContent.Create(new { name = "matrix", kind = "diagnostics.wait", input = new { steps = 1 } });
        }
        using var response = await app.Client(key).SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The body with the ids the caller sent replaced and the per-request trace id removed.</summary>
    private static string Normalize(string body, params string[] ids)
    {
        foreach (var id in ids)
        {
            body = body.Replace(id, "{id}", StringComparison.Ordinal);
        }
        return System.Text.RegularExpressions.Regex.Replace(body, "\"traceId\":\"[^\"]*\"", "");
    }

    [Fact]
    public async Task ProjectRoutes_AnswerTheOwnerWithSuccess()
    {
        var project = await app.CreateProjectAsync();
        var (_, owner) = await app.CreateKeyAsync(project, "project:write");
        foreach (var path in new[] { "", "/keys", "/jobs" })
        {
            using var response = await app.Client(owner).GetAsync($"/v1/projects/{project}{path}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task AllMethodsOnKnownPaths_NeverAnswer5xx()
    {
        var project = await app.CreateProjectAsync();
        foreach (var route in Routes())
        {
            var path = System.Text.RegularExpressions.Regex.Replace(route.Pattern.Replace("{project}", project), "\\{[^}]+\\}", "1");
            foreach (var method in new[] { "GET", "POST", "PUT", "PATCH", "DELETE" })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method is "POST" or "PUT" or "PATCH")
                {
                    request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
                }
                using var response = await app.Admin().SendAsync(request);
                Assert.True((int)response.StatusCode < 500, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }
    }
}
