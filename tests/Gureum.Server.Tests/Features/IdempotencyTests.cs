using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

public sealed class IdempotencyTests(GureumApp app) : IClassFixture<GureumApp>
{
    private async Task<HttpResponseMessage> CreateAsync(string idempotencyKey, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/projects") { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await app.Admin().SendAsync(request);
    }

    [Fact]
    public async Task SameKeySameBody_ReplaysTheFirstAnswer()
    {
        var key = Guid.NewGuid().ToString();
        var name = "idem-" + Guid.NewGuid().ToString("N")[..6];
        using var first = await CreateAsync(key, new { name });
        using var second = await CreateAsync(key, new { name });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.True(second.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task SameKeyDifferentBody_Answers422()
    {
        var key = Guid.NewGuid().ToString();
        using var first = await CreateAsync(key, new { name = "idem-a-" + Guid.NewGuid().ToString("N")[..6] });
        using var second = await CreateAsync(key, new { name = "idem-b-" + Guid.NewGuid().ToString("N")[..6] });
        await Problems.AssertProblemAsync(second, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
    }

    [Fact]
    public async Task ConcurrentSameKey_CreatesExactlyOnce()
    {
        var key = Guid.NewGuid().ToString();
        var name = "idem-c-" + Guid.NewGuid().ToString("N")[..6];
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => CreateAsync(key, new { name })));
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, r.StatusCode.ToString()));
        var ids = new HashSet<string>();
        foreach (var r in responses.Where(r => r.StatusCode == HttpStatusCode.Created))
        {
            ids.Add((await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
        }
        Assert.Single(ids);
        foreach (var r in responses.Where(r => r.StatusCode == HttpStatusCode.Conflict))
        {
            await Problems.AssertProblemAsync(r, HttpStatusCode.Conflict, "idempotency-key-in-progress");
        }
        var all = await app.Admin().GetFromJsonAsync<JsonElement>("/v1/projects?limit=200");
        Assert.Single(all.GetProperty("items").EnumerateArray(), p => p.GetProperty("name").GetString() == name);
    }

    [Fact]
    public async Task FailedRequest_IsNotRemembered_SoACorrectedRetryWorks()
    {
        var key = Guid.NewGuid().ToString();
        using var bad = await CreateAsync(key, new { name = "../bad" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var fixedBody = await CreateAsync(key, new { name = "idem-f-" + Guid.NewGuid().ToString("N")[..6] });
        Assert.Equal(HttpStatusCode.Created, fixedBody.StatusCode);
    }
}
