using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gureum.Server.Features.Keys;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Gureum.Server.Tests.Features;

public sealed class AuthTests(GureumApp app) : IClassFixture<GureumApp>
{
    [Fact]
    public async Task NoKey_Answers401Problem()
    {
        using var response = await app.Client().GetAsync("/v1/projects");
        await Problems.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("gur_nosuchkey123_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("not-a-key")]
    [InlineData("gur_")]
    [InlineData("gur__secret")]
    public async Task BadKey_Answers401(string key)
    {
        using var response = await app.Client(key).GetAsync("/v1/projects");
        await Problems.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task KeyWithWrongSecret_Answers401()
    {
        var project = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(project, "project:read");
        var tampered = key[..^4] + (key.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        using var response = await app.Client(tampered).GetAsync($"/v1/projects/{project}");
        await Problems.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task XApiKeyHeader_IsAccepted_QueryStringKey_IsNot()
    {
        var project = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(project, "project:read");
        var client = app.Client();
        using var header = new HttpRequestMessage(HttpMethod.Get, $"/v1/projects/{project}") { Headers = { { "X-Api-Key", key } } };
        using var viaHeader = await client.SendAsync(header);
        Assert.Equal(HttpStatusCode.OK, viaHeader.StatusCode);
        foreach (var name in new[] { "api_key", "key", "apiKey", "access_token" })
        {
            using var viaQuery = await client.GetAsync($"/v1/projects/{project}?{name}={Uri.EscapeDataString(key)}");
            Assert.Equal(HttpStatusCode.Unauthorized, viaQuery.StatusCode);
        }
    }

    [Fact]
    public async Task RevokedKey_StopsWorkingAtOnce()
    {
        var project = await app.CreateProjectAsync();
        var (id, key) = await app.CreateKeyAsync(project, "project:read");
        using (var before = await app.Client(key).GetAsync($"/v1/projects/{project}"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }
        using (var revoke = await app.Admin().DeleteAsync($"/v1/projects/{project}/keys/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }
        using var after = await app.Client(key).GetAsync($"/v1/projects/{project}");
        var body = await Problems.AssertProblemAsync(after, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Contains("revoked", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ExpiredKey_Answers401SayingItExpired()
    {
        var project = await app.CreateProjectAsync();
        var (publicId, secret, fullKey) = ApiKeyFormat.Generate();
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GureumDb>();
            db.ApiKeys.Add(new ApiKey
            {
                Id = Ids.New(), PublicId = publicId, ProjectId = project, Name = "old", Scopes = Scopes.ProjectRead,
                SecretHash = ApiKeyFormat.Hash(secret), CreatedAt = DateTimeOffset.UtcNow.AddDays(-2), ExpiresAt = DateTimeOffset.UtcNow.AddDays(-1),
            });
            await db.SaveChangesAsync();
        }
        using var response = await app.Client(fullKey).GetAsync($"/v1/projects/{project}");
        var body = await Problems.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Contains("expired", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task KeyWithoutTheScope_Answers403NamingTheScope()
    {
        var project = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(project, "ai");
        using var response = await app.Client(key).GetAsync($"/v1/projects/{project}/jobs");
        var body = await Problems.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
        Assert.Contains("project:read", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task KeyOfAnotherProject_Answers404AsIfItDidNotExist()
    {
        var mine = await app.CreateProjectAsync();
        var theirs = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(mine, "project:write");
        using var byId = await app.Client(key).GetAsync($"/v1/projects/{theirs}");
        var missing = await app.Client(key).GetAsync($"/v1/projects/{Ids.New()}");
        var a = await Problems.AssertProblemAsync(byId, HttpStatusCode.NotFound, "not-found");
        var b = await Problems.AssertProblemAsync(missing, HttpStatusCode.NotFound, "not-found");
        Assert.Equal(a.GetProperty("title").GetString(), b.GetProperty("title").GetString());
    }

    [Fact]
    public async Task UsingAKey_RecordsLastUsed()
    {
        var project = await app.CreateProjectAsync();
        var (id, key) = await app.CreateKeyAsync(project, "project:read");
        (await app.Client(key).GetAsync($"/v1/projects/{project}")).Dispose();
        var keys = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/keys");
        var listed = keys.GetProperty("items").EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);
        Assert.Equal(JsonValueKind.String, listed.GetProperty("lastUsedAt").ValueKind);
    }

    [Fact]
    public async Task KeysAtRest_AreHashedNeverStoredInFull()
    {
        var project = await app.CreateProjectAsync();
        var (id, key) = await app.CreateKeyAsync(project, "project:read");
        await using var scope = app.Services.CreateAsyncScope();
        var row = await scope.ServiceProvider.GetRequiredService<GureumDb>().ApiKeys.AsNoTracking().SingleAsync(k => k.Id == id);
        Assert.True(ApiKeyFormat.TryParse(key, out _, out var secret));
        Assert.Equal(ApiKeyFormat.Hash(secret), row.SecretHash);
        Assert.DoesNotContain(secret, JsonSerializer.Serialize(row));
    }

    [Fact]
    public async Task BootstrapKey_IsWrittenOnceWithOwnerOnlyMode()
    {
        var path = Path.Combine(app.DataDirectory, BootstrapKey.FileName);
        Assert.Equal(GureumApp.AdminKey, (await File.ReadAllTextAsync(path)).Trim());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Null(await BootstrapKey.EnsureAsync(app.Services));
        if (!TestDatabase.IsPostgres)
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(app.DataDirectory, "gureum.db")));
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(app.DataDirectory));
    }
}
