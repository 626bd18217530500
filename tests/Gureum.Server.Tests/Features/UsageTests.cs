using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Gureum.Server.Features.Usage;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenCvSharp;

namespace Gureum.Server.Tests.Features;

/// <summary>
/// Pay-per-use through the real server: usage written once per request and reported by service, key and day (JSON and
/// CSV), quotas that concurrent requests cannot overshoot, per-key token buckets answering 429 with Retry-After,
/// invoices that match a hand computation, and the operator-only settings refused to project keys.
/// </summary>
public sealed class UsageTests(GureumApp app) : IClassFixture<GureumApp>
{
    private static readonly byte[] SmallImage = Blank(64, 48);

    private static byte[] Blank(int width, int height)
    {
        using var image = new Mat(height, width, MatType.CV_8UC1, OpenCvSharp.Scalar.White);
        return image.ImEncode(".png");
    }

    private static ByteArrayContent Png()
    {
        var content = new ByteArrayContent(SmallImage);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    private async Task<(string Project, string KeyId, HttpClient Client)> ProjectWithKeyAsync(params string[] scopes)
    {
        var project = await app.CreateProjectAsync();
        var (keyId, key) = await app.CreateKeyAsync(project, scopes.Length == 0 ? ["project:write"] : scopes);
        return (project, keyId, app.Client(key));
    }

    private static Task<HttpResponseMessage> FacesAsync(HttpClient client, string project) => client.PostAsync($"/v1/projects/{project}/ai/faces", Png());

    private async Task<List<UsageEvent>> EventsAsync(string project)
    {
        await app.Services.GetRequiredService<UsageMeter>().FlushAsync();
        await using var db = app.Services.GetRequiredService<GureumDbFactory>().Create();
        return await db.Set<UsageEvent>().AsNoTracking().Where(e => e.ProjectId == project).ToListAsync();
    }

    [Fact]
    public async Task MeteredCalls_AreReportedByServiceKeyAndDay_AsJsonAndCsv()
    {
        var (project, keyId, client) = await ProjectWithKeyAsync();
        for (var i = 0; i < 3; i++) (await FacesAsync(client, project)).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync($"/v1/projects/{project}/ai/translate", new { texts = new[] { "hello", "the house" }, source = "eng", target = "spa" })).EnsureSuccessStatusCode();

        var byService = await client.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?groupBy=service");
        var rows = byService.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("service").GetString()!, r => (r.GetProperty("meter").GetString(), r.GetProperty("quantity").GetDouble()));
        Assert.Equal(("images", 3.0), rows["faces"]);
        Assert.Equal(("characters", 14.0), rows["translate"]); // 5 + 9 characters, one target

        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var byKeyDay = await client.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?groupBy=key,day");
        var images = byKeyDay.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("meter").GetString() == "images");
        Assert.Equal(keyId, images.GetProperty("keyId").GetString());
        Assert.Equal(today, images.GetProperty("period").GetString());
        Assert.Equal(JsonValueKind.Null, images.GetProperty("service").ValueKind);

        var csv = await client.GetStringAsync($"/v1/projects/{project}/usage?groupBy=service,day&format=csv");
        var lines = csv.TrimEnd('\n').Split('\n');
        Assert.Equal("service,day,meter,quantity", lines[0]);
        Assert.Contains($"faces,{today},images,3", lines);

        // Events carry the server's request id: one per call, nothing counted twice.
        var events = await EventsAsync(project);
        Assert.Equal(4, events.Count);
        Assert.Equal(4, events.Select(e => e.RequestId).Distinct().Count());
    }

    [Fact]
    public async Task ConcurrentRequests_AgainstASmallQuota_NeverOvershoot()
    {
        var (project, _, client) = await ProjectWithKeyAsync("ai");
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/quotas", new { quotas = new[] { new { keyId = (string?)null, service = "faces", meter = "images", limit = 5.0 } } }))
            .EnsureSuccessStatusCode();

        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => FacesAsync(client, project)));
        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        var refused = responses.Where(r => r.StatusCode != HttpStatusCode.OK).ToList();
        Assert.Equal(19, refused.Count);
        var problem = await Problems.AssertProblemAsync(refused[0], HttpStatusCode.TooManyRequests, "quota-exceeded");
        Assert.Equal("images", problem.GetProperty("quota").GetProperty("meter").GetString());
        Assert.Equal(5, problem.GetProperty("quota").GetProperty("limit").GetDouble());
        Assert.Equal(5, problem.GetProperty("used").GetDouble());
        var resetsAt = problem.GetProperty("resetsAt").GetDateTimeOffset();
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1), resetsAt);
        // Retry-After: whole seconds until the quota resets.
        var retryAfter = int.Parse(refused[0].Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, (resetsAt - now).TotalSeconds - 60, (resetsAt - now).TotalSeconds + 60);

        Assert.Equal(5, (await EventsAsync(project)).Sum(e => e.Quantity));
        var quotas = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/quotas");
        Assert.Equal(5, quotas.GetProperty("quotas")[0].GetProperty("used").GetDouble());
    }

    [Fact]
    public async Task KeyQuotas_LimitOnlyThatKey_AndASpendCapCountsMoney()
    {
        var project = await app.CreateProjectAsync();
        var (limitedId, limitedKey) = await app.CreateKeyAsync(project, "ai");
        var (_, otherKey) = await app.CreateKeyAsync(project, "ai");
        var (limited, other) = (app.Client(limitedKey), app.Client(otherKey));
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/quotas", new { quotas = new[] { new { keyId = (string?)limitedId, service = "*", meter = "images", limit = 1.0 } } }))
            .EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.OK, (await FacesAsync(limited, project)).StatusCode);
        var refused = await Problems.AssertProblemAsync(await FacesAsync(limited, project), HttpStatusCode.TooManyRequests, "quota-exceeded");
        Assert.Contains(limitedId, refused.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await FacesAsync(other, project)).StatusCode);

        // A spend cap: faces priced 0.01 with no free units, a cap of 0.025 allows two images.
        var prices = await app.Admin().GetFromJsonAsync<JsonElement>("/v1/prices");
        try
        {
            (await app.Admin().PutAsJsonAsync("/v1/prices", new { currency = "USD", prices = new[] { new { service = "faces", meter = "images", unitPrice = 0.01m, freeUnitsPerMonth = 0.0 } } }))
                .EnsureSuccessStatusCode();
            var capped = await app.CreateProjectAsync();
            var (_, cappedKey) = await app.CreateKeyAsync(capped, "ai");
            (await app.Admin().PutAsJsonAsync($"/v1/projects/{capped}/quotas", new { quotas = new[] { new { keyId = (string?)null, service = "*", meter = "spend", limit = 0.025 } } }))
                .EnsureSuccessStatusCode();
            var client = app.Client(cappedKey);
            Assert.Equal(HttpStatusCode.OK, (await FacesAsync(client, capped)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await FacesAsync(client, capped)).StatusCode);
            var spend = await Problems.AssertProblemAsync(await FacesAsync(client, capped), HttpStatusCode.TooManyRequests, "quota-exceeded");
            Assert.Equal(0.02, spend.GetProperty("used").GetDouble(), 6);
        }
        finally
        {
            (await app.Admin().PutAsync("/v1/prices", JsonContent.Create(prices))).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task RateLimits_Answer429WithRetryAfter_AndNoKeyExceedsItsBucket()
    {
        var project = await app.CreateProjectAsync();
        var (_, first) = await app.CreateKeyAsync(project, "ai");
        var (_, second) = await app.CreateKeyAsync(project, "ai");
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/rate-limits",
            new { rateLimits = new[] { new { keyId = (string?)null, service = "faces", requestsPerSecond = 0.5, burst = 3 } } })).EnsureSuccessStatusCode();

        var started = DateTime.UtcNow;
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => FacesAsync(app.Client(first), project)));
        var elapsed = (DateTime.UtcNow - started).TotalSeconds;
        var passed = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        // The burst, plus at most what refilled while the requests ran (0.5 per second), plus one.
        Assert.InRange(passed, 3, 3 + (int)Math.Ceiling(elapsed * 0.5) + 1);
        var refused = responses.First(r => r.StatusCode != HttpStatusCode.OK);
        var problem = await Problems.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests, "rate-limited");
        Assert.Equal(0.5, problem.GetProperty("requestsPerSecond").GetDouble());
        var retryAfter = refused.Headers.GetValues("Retry-After").Single();
        Assert.Matches("^[0-9]+$", retryAfter);
        Assert.InRange(int.Parse(retryAfter, CultureInfo.InvariantCulture), 1, 2);

        // Each key has its own bucket.
        var secondAnswer = await FacesAsync(app.Client(second), project);
        Assert.True(secondAnswer.StatusCode == HttpStatusCode.OK, await secondAnswer.Content.ReadAsStringAsync());
        // Refused requests did no work and are not billed.
        Assert.Equal(passed + 1, (await EventsAsync(project)).Count);

        // After Retry-After the key may call again.
        await Task.Delay(TimeSpan.FromSeconds(int.Parse(retryAfter, CultureInfo.InvariantCulture)));
        Assert.Equal(HttpStatusCode.OK, (await FacesAsync(app.Client(first), project)).StatusCode);
    }

    [Fact]
    public async Task IdempotencyKeys_AReplayedRequestIsBilledOnce()
    {
        var (project, keyId, client) = await ProjectWithKeyAsync("ai");
        // Through the API: an OCR retried with the same Idempotency-Key is answered from the first call, billed once.
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/ai/ocr") { Content = Png() };
            request.Headers.Add("Idempotency-Key", "scan-42");
            (await client.SendAsync(request)).EnsureSuccessStatusCode();
        }
        Assert.Equal(1, (await EventsAsync(project)).Count(e => e.Service == "ocr"));

        // The writer itself: the same request id recorded twice (a retry after a crash between the write and the answer).
        var meter = app.Services.GetRequiredService<UsageMeter>();
        await meter.RecordAsync(project, keyId, "faces", "images", 1, "retry-7");
        await meter.FlushAsync();
        await meter.RecordAsync(project, keyId, "faces", "images", 1, "retry-7");
        var usage = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?groupBy=service");
        Assert.Equal(1, usage.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("service").GetString() == "faces").GetProperty("quantity").GetDouble());
    }

    [Fact]
    public async Task Invoices_MatchAHandComputation()
    {
        var (project, keyId, client) = await ProjectWithKeyAsync("project:read");
        var meter = app.Services.GetRequiredService<UsageMeter>();
        var now = DateTimeOffset.UtcNow;
        var lastMonth = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(-1).AddDays(3);
        // Last month: 1200 OCR pages, 2.5 M translated characters, 600 k + 700 k predictions on two endpoints, 7 unpriced.
        await meter.RecordAsync(project, keyId, "ocr", "pages", 700, "r1", lastMonth);
        await meter.RecordAsync(project, keyId, "ocr", "pages", 500, "r2", lastMonth.AddDays(1));
        await meter.RecordAsync(project, keyId, "translate", "characters", 2_500_000, "r3", lastMonth);
        await meter.RecordAsync(project, keyId, "predict:churn", "predictions", 600_000, "r4", lastMonth);
        await meter.RecordAsync(project, keyId, "predict:fraud", "predictions", 700_000, "r5", lastMonth);
        await meter.RecordAsync(project, keyId, "faces", "images", 7, "r6", lastMonth);
        // This month: 10 pages, inside the free units.
        await meter.RecordAsync(project, keyId, "ocr", "pages", 10, "r7");

        // The configured price list (appsettings.json) applies.
        var month = lastMonth.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var invoice = await client.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/invoices/{month}");
        Assert.Equal("closed", invoice.GetProperty("status").GetString());
        Assert.Equal("USD", invoice.GetProperty("currency").GetString());
        var lines = invoice.GetProperty("lines").EnumerateArray().ToDictionary(l => l.GetProperty("service").GetString()!);
        // ocr: (1200 - 1000 free) × 0.0015 = 0.30
        Assert.Equal(1200, lines["ocr"].GetProperty("quantity").GetDouble());
        Assert.Equal(200, lines["ocr"].GetProperty("billableQuantity").GetDouble());
        Assert.Equal(0.30m, lines["ocr"].GetProperty("amount").GetDecimal());
        // translate: (2 500 000 - 2 000 000) × 0.00001 = 5.00
        Assert.Equal(5.00m, lines["translate"].GetProperty("amount").GetDecimal());
        // predict (both endpoints share one price and its free million): 300 000 × 0.000002 = 0.60
        Assert.Equal(1_300_000, lines["predict"].GetProperty("quantity").GetDouble());
        Assert.Equal(0.60m, lines["predict"].GetProperty("amount").GetDecimal());
        // faces: 7 images, all inside the 30 000 free
        Assert.Equal(0m, lines["faces"].GetProperty("amount").GetDecimal());
        Assert.Equal(5.90m, invoice.GetProperty("total").GetDecimal());

        var list = await client.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/invoices");
        var months = list.GetProperty("invoices").EnumerateArray().Select(i => (i.GetProperty("month").GetString(), i.GetProperty("status").GetString(), i.GetProperty("total").GetDecimal())).ToList();
        Assert.Equal([(now.ToString("yyyy-MM", CultureInfo.InvariantCulture), "open", 0m), (month, "closed", 5.90m)], months);

        // The operator's usage log for that month holds the same quantities and total.
        var records = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/usage/records/{lastMonth.Year}/{lastMonth.Month}");
        var mine = records.GetProperty("projects").EnumerateArray().Single(p => p.GetProperty("projectId").GetString() == project);
        Assert.Equal(5.90m, mine.GetProperty("total").GetDecimal());
        Assert.Equal(5, mine.GetProperty("meters").GetArrayLength()); // ocr, translate, two endpoints, faces

        // Whole-month ranges read the month aggregates; the hourly ones give the same sums.
        var ranged = await client.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?from={month}-01&to={now:yyyy-MM}-01&groupBy=service");
        Assert.Equal(1200, ranged.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("service").GetString() == "ocr").GetProperty("quantity").GetDouble());
        var hourly = await client.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?from={month}-01T00:30:00Z&to={now:yyyy-MM}-01&groupBy=service,hour");
        Assert.Equal(1200, hourly.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("service").GetString() == "ocr").Sum(r => r.GetProperty("quantity").GetDouble()));

        // Deleting the project does not erase what it used: the month can still be billed.
        (await app.Admin().DeleteAsync($"/v1/projects/{project}")).EnsureSuccessStatusCode();
        records = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/usage/records/{lastMonth.Year}/{lastMonth.Month}");
        mine = records.GetProperty("projects").EnumerateArray().Single(p => p.GetProperty("projectId").GetString() == project);
        Assert.Equal("(deleted)", mine.GetProperty("projectName").GetString());
        Assert.Equal(5.90m, mine.GetProperty("total").GetDecimal());
    }

    [Fact]
    public async Task AuthMatrix_OperatorSettingsAreRefusedToProjectKeys_AndBadValuesNameTheirField()
    {
        var (project, _, owner) = await ProjectWithKeyAsync("project:write");
        var other = await app.CreateProjectAsync();
        var (otherKeyId, _) = await app.CreateKeyAsync(other, "ai");
        var quota = new { quotas = new[] { new { keyId = (string?)null, service = "ocr", meter = "pages", limit = 10.0 } } };
        await Problems.AssertProblemAsync(await owner.PutAsJsonAsync($"/v1/projects/{project}/quotas", quota), HttpStatusCode.Forbidden, "forbidden");
        await Problems.AssertProblemAsync(await owner.PutAsJsonAsync($"/v1/projects/{project}/rate-limits", new { rateLimits = Array.Empty<object>() }), HttpStatusCode.Forbidden, "forbidden");
        await Problems.AssertProblemAsync(await owner.PutAsJsonAsync("/v1/prices", new { currency = "USD", prices = Array.Empty<object>() }), HttpStatusCode.Forbidden, "forbidden");
        await Problems.AssertProblemAsync(await owner.GetAsync("/v1/usage"), HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/v1/prices")).StatusCode);

        var admin = app.Admin();
        await Problems.AssertFieldErrorAsync(await admin.PutAsJsonAsync($"/v1/projects/{project}/quotas",
            new { quotas = new[] { new { keyId = (string?)otherKeyId, service = "ocr", meter = "pages", limit = 10.0 } } }), "quotas[0].keyId");
        await Problems.AssertFieldErrorAsync(await admin.PutAsJsonAsync($"/v1/projects/{project}/quotas",
            new { quotas = new[] { new { keyId = (string?)null, service = "ocr", meter = "PAGES;", limit = 10.0 } } }), "quotas[0].meter");
        await Problems.AssertFieldErrorAsync(await admin.PutAsJsonAsync($"/v1/projects/{project}/quotas",
            new { quotas = new[] { new { keyId = (string?)null, service = "o*r", meter = "pages", limit = 10.0 } } }), "quotas[0].service");
        await Problems.AssertFieldErrorAsync(await admin.PutAsJsonAsync($"/v1/projects/{project}/quotas",
            new { quotas = new[] { new { keyId = (string?)null, service = "ocr", meter = "pages", limit = -1.0 } } }), "quotas[0].limit");
        await Problems.AssertFieldErrorAsync(await admin.PutAsJsonAsync($"/v1/projects/{project}/rate-limits",
            new { rateLimits = new[] { new { keyId = (string?)null, service = "*", requestsPerSecond = 0.0, burst = 1 } } }), "rateLimits[0].requestsPerSecond");
        await Problems.AssertFieldErrorAsync(await admin.PutAsJsonAsync($"/v1/projects/{project}/rate-limits",
            new { rateLimits = new[] { new { keyId = (string?)null, service = "*", requestsPerSecond = 1.0, burst = 0 } } }), "rateLimits[0].burst");
        await Problems.AssertFieldErrorAsync(await admin.PutAsJsonAsync("/v1/prices", new { currency = "dollars", prices = Array.Empty<object>() }), "currency");
        await Problems.AssertFieldErrorAsync(await admin.PutAsJsonAsync("/v1/prices",
            new { currency = "EUR", prices = new[] { new { service = "ocr", meter = "pages", unitPrice = -1m, freeUnitsPerMonth = 0.0 } } }), "prices[0].unitPrice");
        await Problems.AssertFieldErrorAsync(await owner.GetAsync($"/v1/projects/{project}/usage?groupBy=colour"), "groupBy");
        await Problems.AssertFieldErrorAsync(await owner.GetAsync($"/v1/projects/{project}/usage?from=2026-12-05&to=2026-12-01"), "to");
        await Problems.AssertFieldErrorAsync(await owner.GetAsync($"/v1/projects/{project}/usage?from=yesterday"), "from");
        await Problems.AssertFieldErrorAsync(await owner.GetAsync($"/v1/projects/{project}/invoices/2026-13"), "month");
        await Problems.AssertFieldErrorAsync(await admin.GetAsync("/v1/usage/records/2026/13"), "month");
        await Problems.AssertProblemAsync(await owner.GetAsync($"/v1/projects/{project}/invoices/2999-01"), HttpStatusCode.NotFound, "not-found");

        // A project key sees only its project's usage, however it asks.
        await Problems.AssertProblemAsync(await owner.GetAsync($"/v1/projects/{other}/usage"), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Requests_LimitBodiesRefuseFormsUnknownFieldsAndTooManyRules()
    {
        var project = await app.CreateProjectAsync();
        var admin = app.Admin();
        await Problems.AssertProblemAsync(await admin.PutAsync($"/v1/projects/{project}/quotas", new StringContent("{\"quotas\": []}", System.Text.Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        // A tenant-chosen field such as projectId is not a thing a body may set.
        await Problems.AssertProblemAsync(await admin.PutAsync($"/v1/projects/{project}/quotas", new StringContent("{\"quotas\": [], \"projectId\": \"other\"}", System.Text.Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest, "malformed-request");
        var many = Enumerable.Range(0, 201).Select(i => new { keyId = (string?)null, service = "ocr", meter = "pages", limit = (double)i }).ToArray();
        await Problems.AssertFieldErrorAsync(await admin.PutAsJsonAsync($"/v1/projects/{project}/quotas", new { quotas = many }), "quotas");
        await Problems.AssertFieldErrorAsync(await admin.PutAsJsonAsync($"/v1/projects/{project}/quotas", new { }), "quotas");
    }

    [Fact]
    public async Task Storage_IsCountedOncePerDay_InGigabyteDays()
    {
        var (project, _, client) = await ProjectWithKeyAsync();
        var csv = new StringContent("a,b\n1,2\n3,4\n");
        csv.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        (await client.PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "tiny" })).EnsureSuccessStatusCode();
        (await client.PostAsync($"/v1/projects/{project}/datasets/tiny/versions", csv)).EnsureSuccessStatusCode();

        var storage = app.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<StorageMeter>().Single();
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        await storage.MeterDayAsync(day, CancellationToken.None);
        await storage.MeterDayAsync(day, CancellationToken.None);
        var events = (await EventsAsync(project)).Where(e => e.Service == "storage").ToList();
        var only = Assert.Single(events);
        Assert.Equal("gb-days", only.Meter);
        Assert.Equal(Math.Round(12 / 1e9, 9), only.Quantity, 12); // the 12 stored bytes, for one day
        Assert.Equal(StorageMeter.SystemKey, only.KeyId);
    }
}

/// <summary>A server that fsyncs each call's usage before answering it.</summary>
public sealed class SyncEachCallApp() : GureumApp(new Dictionary<string, string?> { ["Gureum:Metering:SyncEachCall"] = "true" });

public sealed class SyncEachCallUsageTests(SyncEachCallApp app) : IClassFixture<SyncEachCallApp>
{
    [Fact]
    public async Task EveryConcurrentCall_IsBilled_WhenEachWaitsForItsFsync()
    {
        var project = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(project, "ai");
        using var image = new Mat(48, 64, MatType.CV_8UC1, OpenCvSharp.Scalar.White);
        var png = image.ImEncode(".png");
        var client = app.Client(key);
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ =>
        {
            var content = new ByteArrayContent(png);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            return client.PostAsync($"/v1/projects/{project}/ai/faces", content);
        }));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var usage = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?groupBy=service");
        Assert.Equal(12, usage.GetProperty("rows").EnumerateArray().Single().GetProperty("quantity").GetDouble());
    }
}

public sealed class TokenBucketTests
{
    /// <summary>A clock that only moves when the test moves it, so the refill the bucket may give is known exactly.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        public long Ticks;
        public override long TimestampFrequency => 1_000_000;
        public override long GetTimestamp() => Interlocked.Read(ref Ticks);
    }

    /// <summary>A bucket a hair short of a token says to wait: a wait under 100 ns must not round to Zero, which means "taken".</summary>
    [Fact]
    public void ABucketJustShortOfAToken_SaysWait_NotTaken()
    {
        var clock = new SteppingClock();
        var buckets = new TokenBuckets<string>(clock);
        const double rate = 333_333; // 3 µs refill 0.999999 of a token
        Assert.Equal(TimeSpan.Zero, buckets.TryTake("key", rate, 1));
        clock.Ticks += 3;
        var wait = buckets.TryTake("key", rate, 1);
        Assert.True(wait > TimeSpan.Zero, "0.999999 tokens were reported as a token taken");
        clock.Ticks += 1;
        Assert.Equal(TimeSpan.Zero, buckets.TryTake("key", rate, 1));
    }

    /// <summary>Threads racing one bucket while time moves: never more than the burst plus the refill, and never told to wait longer than one token's time.</summary>
    [Fact]
    public async Task RacingTakers_NeverGetMoreThanTheBucketHolds_NorAWaitOverOneToken()
    {
        var clock = new SteppingClock();
        var buckets = new TokenBuckets<string>(clock);
        const double rate = 200;
        const int burst = 10;
        var taken = 0;
        var longestWait = TimeSpan.Zero;
        using var done = new CancellationTokenSource();
        // Time moves 20 µs at a step while the takers race, so racers read different times.
        var ticking = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                Interlocked.Add(ref clock.Ticks, 20);
                Thread.SpinWait(50);
            }
        });
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var wait = buckets.TryTake("key", rate, burst);
                if (wait == TimeSpan.Zero) Interlocked.Increment(ref taken);
                else lock (buckets) longestWait = wait > longestWait ? wait : longestWait;
            }
        })));
        await done.CancelAsync();
        await ticking;
        var elapsed = Interlocked.Read(ref clock.Ticks) / 1e6;
        Assert.InRange(taken, burst, burst + (int)Math.Ceiling(elapsed * rate) + 1);
        Assert.True(longestWait <= TimeSpan.FromSeconds(1 / rate), $"told to wait {longestWait.TotalMilliseconds} ms");
    }
}

public sealed class UsageJournalFolderTests
{
    /// <summary>A node's name becomes a folder of the shared usage directory only when it is a plain file name.</summary>
    [Theory]
    [InlineData("node-a", "node-a")]
    [InlineData("edge_1.kr", "edge_1.kr")]
    [InlineData("..", null)]
    [InlineData("../../etc", null)]
    [InlineData("a/b", null)]
    [InlineData("", null)]
    public void Paths_ANodeNameBecomesItsJournalFolder_OnlyWhenPlain_OtherwiseAHash(string name, string? expected)
    {
        var folder = UsageMeter.JournalFolder(name);
        if (expected is not null) Assert.Equal(expected, folder);
        else Assert.Matches("^node-[0-9a-f]{32}$", folder);
    }
}
