using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

public sealed class ProjectsTests(GureumApp app) : IClassFixture<GureumApp>
{
    [Fact]
    public async Task Create_ThenGetByIdAndByName_ReturnsTheSameProject()
    {
        var name = "proj-" + Guid.NewGuid().ToString("N")[..8];
        using var created = await app.Admin().PostAsJsonAsync("/v1/projects", new { name, description = "demo" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal(26, id.Length);
        Assert.Equal($"/v1/projects/{id}", created.Headers.Location?.OriginalString);

        foreach (var reference in new[] { id, name })
        {
            var fetched = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{reference}");
            Assert.Equal(id, fetched.GetProperty("id").GetString());
            Assert.Equal("demo", fetched.GetProperty("description").GetString());
        }
    }

    [Fact]
    public async Task Create_WithTakenName_Answers409()
    {
        var name = "dup-" + Guid.NewGuid().ToString("N")[..8];
        await app.CreateProjectAsync(name);
        using var again = await app.Admin().PostAsJsonAsync("/v1/projects", new { name });
        await Problems.AssertProblemAsync(again, HttpStatusCode.Conflict, "conflict");
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("Upper")]
    [InlineData("")]
    [InlineData("-leading-dash")]
    [InlineData("with space")]
    [InlineData("line\nbreak")]
    [InlineData("nul\0byte")]
    [InlineData("x%2e%2e%2fy")]
    [InlineData("a123456789012345678901234567890123456789012345678901234567890123456789")]
    public async Task Create_WithBadName_Answers400NamingTheField(string name)
    {
        using var response = await app.Admin().PostAsJsonAsync("/v1/projects", new { name });
        await Problems.AssertFieldErrorAsync(response, "name");
    }

    [Fact]
    public async Task Create_WithoutName_Answers400NamingTheField()
    {
        using var response = await app.Admin().PostAsJsonAsync("/v1/projects", new { description = "no name" });
        await Problems.AssertFieldErrorAsync(response, "name");
    }

    [Fact]
    public async Task Create_WithServerControlledField_IsRejected()
    {
        using var response = await app.Admin().PostAsJsonAsync("/v1/projects", new { name = "sneaky", id = "01abc", createdAt = "2020-01-01T00:00:00Z" });
        var body = await Problems.AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed-request");
        Assert.Contains("'id'", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task List_PagesWithCursor_WithoutDuplicatesOrGaps()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await app.CreateProjectAsync());
        }
        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = await app.Admin().GetFromJsonAsync<JsonElement>("/v1/projects?limit=2" + (after is null ? "" : "&after=" + after));
            Assert.True(page.GetProperty("items").GetArrayLength() <= 2);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("id").GetString()!));
            after = page.GetProperty("next").GetString();
        }
        while (after is not null);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Subset(seen.ToHashSet(), ids.ToHashSet());
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(201)]
    [InlineData(-5)]
    public async Task List_WithLimitOutOfRange_Answers400(int limit)
    {
        using var response = await app.Admin().GetAsync($"/v1/projects?limit={limit}");
        await Problems.AssertFieldErrorAsync(response, "limit");
    }

    [Fact]
    public async Task List_WithProjectKey_ShowsOnlyItsOwnProject()
    {
        var mine = await app.CreateProjectAsync();
        await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(mine, "project:read");
        var page = await app.Client(key).GetFromJsonAsync<JsonElement>("/v1/projects");
        var ids = page.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("id").GetString()).ToList();
        Assert.Equal([mine], ids);
    }

    [Fact]
    public async Task Delete_RemovesTheProjectAndItsKeys()
    {
        var id = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(id, "project:read");
        using var deleted = await app.Admin().DeleteAsync($"/v1/projects/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await app.Admin().GetAsync($"/v1/projects/{id}");
        await Problems.AssertProblemAsync(gone, HttpStatusCode.NotFound, "not-found");
        using var keyGone = await app.Client(key).GetAsync($"/v1/projects/{id}");
        Assert.Equal(HttpStatusCode.Unauthorized, keyGone.StatusCode);
    }

    [Fact]
    public async Task Delete_WithRunningJob_Answers409AndKeepsTheProject()
    {
        var id = await app.CreateProjectAsync();
        using var job = await app.Admin().PostAsJsonAsync($"/v1/projects/{id}/jobs", new { kind = "diagnostics.wait", input = new { steps = 50, stepMilliseconds = 200 } });
        Assert.Equal(HttpStatusCode.Accepted, job.StatusCode);
        using var deleted = await app.Admin().DeleteAsync($"/v1/projects/{id}");
        await Problems.AssertProblemAsync(deleted, HttpStatusCode.Conflict, "conflict");
        using var still = await app.Admin().GetAsync($"/v1/projects/{id}");
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
        var jobId = (await job.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        (await app.Admin().PostAsync($"/v1/projects/{id}/jobs/{jobId}/cancel", null)).Dispose();
    }
}
