using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

public sealed class KeysTests(GureumApp app) : IClassFixture<GureumApp>
{
    [Fact]
    public async Task Create_ReturnsSecretOnce_ListNeverShowsIt()
    {
        var project = await app.CreateProjectAsync();
        using var created = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/keys", new { name = "ci", scopes = new[] { "predict", "ai" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var secret = body.GetProperty("secret").GetString()!;
        Assert.StartsWith("gur_", secret);
        Assert.Equal(["predict", "ai"], body.GetProperty("key").GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));

        var listText = await app.Admin().GetStringAsync($"/v1/projects/{project}/keys");
        Assert.DoesNotContain(secret.Split('_', 3)[2], listText); // base64url secrets may themselves contain '_'
        Assert.DoesNotContain("secretHash", listText, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"status\":\"active\"", listText);
    }

    [Fact]
    public async Task Create_WithoutScopes_DefaultsToReadOnly()
    {
        var project = await app.CreateProjectAsync();
        using var created = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/keys", new { name = "reader" });
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["project:read"], body.GetProperty("key").GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
    }

    [Theory]
    [InlineData("admin")]
    [InlineData("root")]
    [InlineData("project:*")]
    public async Task Create_WithForbiddenOrUnknownScope_Answers400(string scope)
    {
        var project = await app.CreateProjectAsync();
        using var response = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/keys", new { name = "x", scopes = new[] { scope } });
        await Problems.AssertFieldErrorAsync(response, "scopes");
    }

    [Fact]
    public async Task Create_WithExpiryInThePast_Answers400()
    {
        var project = await app.CreateProjectAsync();
        using var response = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/keys", new { name = "x", expiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) });
        await Problems.AssertFieldErrorAsync(response, "expiresAt");
    }

    [Fact]
    public async Task ProjectWriteKey_ManagesKeysOfItsOwnProjectOnly()
    {
        var project = await app.CreateProjectAsync();
        var other = await app.CreateProjectAsync();
        var (_, writer) = await app.CreateKeyAsync(project, "project:write");
        using var own = await app.Client(writer).PostAsJsonAsync($"/v1/projects/{project}/keys", new { name = "child", scopes = new[] { "predict" } });
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        using var foreign = await app.Client(writer).PostAsJsonAsync($"/v1/projects/{other}/keys", new { name = "child" });
        await Problems.AssertProblemAsync(foreign, HttpStatusCode.NotFound, "not-found");
        using var admin = await app.Client(writer).PostAsJsonAsync("/v1/admin/keys", new { name = "escalate" });
        await Problems.AssertProblemAsync(admin, HttpStatusCode.Forbidden, "forbidden");
    }

    [Fact]
    public async Task RevokingAKeyOfAnotherProject_Answers404AndLeavesItWorking()
    {
        var project = await app.CreateProjectAsync();
        var other = await app.CreateProjectAsync();
        var (victimId, victimKey) = await app.CreateKeyAsync(other, "project:read");
        var (_, attacker) = await app.CreateKeyAsync(project, "project:write");
        using var response = await app.Client(attacker).DeleteAsync($"/v1/projects/{project}/keys/{victimId}");
        await Problems.AssertProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        using var still = await app.Client(victimKey).GetAsync($"/v1/projects/{other}");
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
    }

    [Fact]
    public async Task AdminKeyRotation_NewKeyWorks_OldOneRevoked_LastOneProtected()
    {
        await using var isolated = new GureumApp();
        await isolated.InitializeAsync();
        using var created = await isolated.Admin().PostAsJsonAsync("/v1/admin/keys", new { name = "rotated" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var newKey = body.GetProperty("secret").GetString()!;
        var newId = body.GetProperty("key").GetProperty("id").GetString()!;

        var admins = await isolated.Client(newKey).GetFromJsonAsync<JsonElement>("/v1/admin/keys");
        var bootstrapId = admins.GetProperty("items").EnumerateArray().Select(k => k.GetProperty("id").GetString()).Single(id => id != newId);
        using (var revoke = await isolated.Client(newKey).DeleteAsync($"/v1/admin/keys/{bootstrapId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }
        using (var old = await isolated.Admin().GetAsync("/v1/projects"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }
        using var last = await isolated.Client(newKey).DeleteAsync($"/v1/admin/keys/{newId}");
        await Problems.AssertProblemAsync(last, HttpStatusCode.Conflict, "conflict");
    }
}
