using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

public sealed class JobsTests(GureumApp app) : IClassFixture<GureumApp>
{
    private async Task<(string Project, string Job)> SubmitAsync(int steps, int stepMilliseconds)
    {
        var project = await app.CreateProjectAsync();
        using var response = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/jobs",
            new { kind = "diagnostics.wait", input = new { steps, stepMilliseconds } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("queued", job.GetProperty("status").GetString());
        return (project, job.GetProperty("id").GetString()!);
    }

    private async Task<List<(int Id, string Type, JsonElement Data)>> ReadEventsAsync(string project, string job, int? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/projects/{project}/jobs/{job}/events");
        if (lastEventId is { } last)
        {
            request.Headers.Add("Last-Event-ID", last.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await app.Admin().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<(int, string, JsonElement)>();
        await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(await response.Content.ReadAsStreamAsync(timeout.Token))
            .EnumerateAsync(timeout.Token))
        {
            events.Add((int.Parse(item.EventId!, System.Globalization.CultureInfo.InvariantCulture), item.EventType, JsonDocument.Parse(item.Data).RootElement.Clone()));
        }
        return events;
    }

    [Fact]
    public async Task Submit_StreamsProgressUntilSucceeded_WithOrderedEventIds()
    {
        var (project, job) = await SubmitAsync(steps: 4, stepMilliseconds: 50);
        var events = await ReadEventsAsync(project, job);
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        Assert.Equal("queued", events[0].Data.GetProperty("status").GetString());
        Assert.Contains(events, e => e.Type == "status" && e.Data.GetProperty("status").GetString() == "running");
        Assert.Equal(100, events.Where(e => e.Type == "progress").Max(e => e.Data.GetProperty("percent").GetDouble()));
        Assert.Equal("succeeded", events[^1].Data.GetProperty("status").GetString());

        var final = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs/{job}");
        Assert.Equal("succeeded", final.GetProperty("status").GetString());
        Assert.Equal(4, final.GetProperty("result").GetProperty("steps").GetInt32());
        Assert.Equal(1, final.GetProperty("attempts").GetInt32());
        Assert.Equal(JsonValueKind.String, final.GetProperty("finishedAt").ValueKind);
    }

    [Fact]
    public async Task Events_WithLastEventId_ResumeAfterIt()
    {
        var (project, job) = await SubmitAsync(steps: 2, stepMilliseconds: 10);
        var all = await ReadEventsAsync(project, job);
        var rest = await ReadEventsAsync(project, job, lastEventId: 2);
        Assert.Equal(all.Skip(2).Select(e => e.Id), rest.Select(e => e.Id));
    }

    [Fact]
    public async Task Cancel_RunningJob_EndsCancelled_AndASecondCancelAnswers409()
    {
        var (project, job) = await SubmitAsync(steps: 100, stepMilliseconds: 100);
        using (var cancel = await app.Admin().PostAsync($"/v1/projects/{project}/jobs/{job}/cancel", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }
        var events = await ReadEventsAsync(project, job);
        Assert.Equal("cancelled", events[^1].Data.GetProperty("status").GetString());
        var final = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs/{job}");
        Assert.True(final.GetProperty("cancelRequested").GetBoolean());
        Assert.True(final.GetProperty("percent").GetDouble() < 100);
        using var again = await app.Admin().PostAsync($"/v1/projects/{project}/jobs/{job}/cancel", null);
        await Problems.AssertProblemAsync(again, HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task Submit_UnknownKind_Answers400ListingTheKinds()
    {
        var project = await app.CreateProjectAsync();
        using var response = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/jobs", new { kind = "rm -rf /" });
        await Problems.AssertFieldErrorAsync(response, "kind");
        Assert.Contains("diagnostics.wait", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("{\"steps\": 0}")]
    [InlineData("{\"steps\": \"ten\"}")]
    [InlineData("{\"steps\": 2, \"stepMilliseconds\": 9999999}")]
    [InlineData("[]")]
    [InlineData("null")]
    public async Task Submit_BadInput_Answers400NamingInput(string input)
    {
        var project = await app.CreateProjectAsync();
        using var response = await app.Admin().PostAsync($"/v1/projects/{project}/jobs",
            new StringContent($"{{\"kind\":\"diagnostics.wait\",\"input\":{input}}}", System.Text.Encoding.UTF8, "application/json"));
        await Problems.AssertFieldErrorAsync(response, "input");
    }

    [Fact]
    public async Task List_FiltersByStatus_NewestFirst()
    {
        var (project, first) = await SubmitAsync(steps: 1, stepMilliseconds: 0);
        await ReadEventsAsync(project, first);
        using var second = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/jobs", new { kind = "diagnostics.wait", input = new { steps = 1, stepMilliseconds = 0 } });
        var secondId = (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await ReadEventsAsync(project, secondId);
        var all = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs");
        Assert.Equal([secondId, first], all.GetProperty("items").EnumerateArray().Select(j => j.GetProperty("id").GetString()));
        var failed = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs?status=failed");
        Assert.Equal(0, failed.GetProperty("items").GetArrayLength());
    }
}
