using System.Net;
using System.Net.Http.Json;
using System.Text;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

/// <summary>A server with a 4 KiB body limit, to reach the limit cheaply.</summary>
public sealed class SmallBodyLimitApp() : GureumApp(new Dictionary<string, string?> { ["Gureum:MaxRequestBodyBytes"] = "4096" });

/// <summary>A server that only answers to one Host name.</summary>
public sealed class HostAllowListApp() : GureumApp(new Dictionary<string, string?> { ["AllowedHosts"] = "gureum.example.com" });

public sealed class HostAllowListTests(HostAllowListApp app) : IClassFixture<HostAllowListApp>
{
    [Fact]
    public async Task UnexpectedHostHeader_Answers400_WhenAnAllowListIsConfigured()
    {
        using var wrong = await app.Admin().GetAsync("/v1/projects");
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/projects") { Headers = { Host = "gureum.example.com" } };
        using var right = await app.Admin().SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
    }
}

/// <summary>Malformed, oversized and wrongly typed requests: each a 4xx problem+json that says what to do, nothing stored.</summary>
public sealed class RequestProblemsTests(SmallBodyLimitApp app) : IClassFixture<SmallBodyLimitApp>
{
    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    [Theory]
    [InlineData("{\"name\":")]
    [InlineData("{name: 'x'}")]
    [InlineData("[1,2,3]")]
    [InlineData("\"just a string\"")]
    [InlineData("{\"name\": 42}")]
    public async Task MalformedJson_Answers400(string body)
    {
        using var response = await app.Admin().PostAsync("/v1/projects", Json(body));
        await Problems.AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed-request");
    }

    [Fact]
    public async Task BodyOverTheLimit_Answers413AndStoresNothing()
    {
        var name = "big-" + Guid.NewGuid().ToString("N")[..6];
        using var response = await app.Admin().PostAsync("/v1/projects", Json($"{{\"name\":\"{name}\",\"description\":\"{new string('x', 8000)}\"}}"));
        var body = await Problems.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Contains("MaxRequestBodyBytes", body.GetProperty("detail").GetString());
        using var lookup = await app.Admin().GetAsync($"/v1/projects/{name}");
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("application/xml")]
    public async Task NonJsonContentType_Answers415(string contentType)
    {
        using var content = new StringContent("{\"name\":\"form-attack\"}");
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var response = await app.Admin().PostAsync("/v1/projects", content);
        await Problems.AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Theory]
    [InlineData("application/python-pickle")]
    [InlineData("application/x-pickle")]
    [InlineData("application/x-java-serialized-object")]
    public async Task SerializedObjectContentTypes_Answer415OnEveryRoute(string contentType)
    {
        foreach (var path in new[] { "/v1/projects", "/v1/admin/keys", "/no/such/route" })
        {
            using var content = new ByteArrayContent([0x80, 0x04, 0x95]);
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            using var response = await app.Admin().PostAsync(path, content);
            await Problems.AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        }
    }

    [Fact]
    public async Task UnknownRoute_Answers404Problem()
    {
        using var response = await app.Admin().GetAsync("/v1/no-such-thing");
        await Problems.AssertProblemAsync(response, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task WrongMethod_Answers405Problem()
    {
        using var response = await app.Admin().PutAsJsonAsync("/v1/projects", new { name = "x" });
        await Problems.AssertProblemAsync(response, HttpStatusCode.MethodNotAllowed, "method-not-allowed");
    }

    [Theory]
    [InlineData("/v1/projects/%2e%2e%2fetc%2fpasswd")]
    [InlineData("/v1/projects/%252e%252e%252f")]
    [InlineData("/v1/projects/..%5c..%5cwindows")]
    [InlineData("/v1/projects/;/..;/x")]
    public async Task TraversalLikeProjectReferences_Answer404(string path)
    {
        using var response = await app.Admin().GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
