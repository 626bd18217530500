using System.Globalization;
using System.Text.Json;
using Gureum.Client;
using OpenCvSharp;
using Xunit;

namespace Gureum.Cli.Tests;

/// <summary>
/// The metering and billing commands (usage, invoices, quotas, rate limits, prices) against the shared server. The price
/// list is server-wide: every test that changes it is in this class (run one after another) and puts it back.
/// </summary>
public sealed class UsageTests(GureumServer server) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gureum-cli-usage-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Today => DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string ThisMonth => DateTimeOffset.UtcNow.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    private async Task<(string Name, string Id)> CreateProjectAsync()
    {
        var name = GureumServer.UniqueName("p");
        var run = await server.RunAsync("--json", "projects", "create", name);
        Assert.True(run.ExitCode == 0, run.ToString());
        using var project = JsonDocument.Parse(run.Out);
        return (name, project.RootElement.GetProperty("id").GetString()!);
    }

    private async Task<string> CreateKeyAsync(string project, string scope)
    {
        var run = await server.RunAsync("--json", "keys", "create", project, scope.Replace(':', '-'), "--scope", scope);
        Assert.True(run.ExitCode == 0, run.ToString());
        using var body = JsonDocument.Parse(run.Out);
        return body.RootElement.GetProperty("secret").GetString()!;
    }

    /// <summary>A small blank PNG: face detection is the cheapest metered call (one image, no face in it).</summary>
    private string Image()
    {
        var path = Path.Combine(_directory, "blank.png");
        if (!File.Exists(path))
        {
            using var image = new Mat(64, 64, MatType.CV_8UC1, OpenCvSharp.Scalar.White);
            Cv2.ImWrite(path, image);
        }
        return path;
    }

    /// <summary>Calls face detection <paramref name="times"/> times with <paramref name="key"/>; each must succeed.</summary>
    private async Task DetectFacesAsync(string key, string project, int times)
    {
        for (var i = 0; i < times; i++)
        {
            var run = await server.RunWithKeyAsync(key, "--json", "ai", "faces", project, Image());
            Assert.True(run.ExitCode == 0, run.ToString());
            using var result = JsonDocument.Parse(run.Out);
            Assert.Equal("images", result.RootElement.GetProperty("units").GetProperty("meter").GetString());
        }
    }

    private static JsonDocument Json(CliRun run)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        return JsonDocument.Parse(run.Out);
    }

    /// <summary>The text with the console's line wrapping undone.</summary>
    private static string Flat(string text) => string.Join(' ', text.Split((char[])['\r', '\n', ' '], StringSplitOptions.RemoveEmptyEntries));

    [Fact]
    public async Task Usage_AfterFacesCalls_ShowsATableWithTotals_JsonAndCsv()
    {
        var (project, _) = await CreateProjectAsync();
        var aiKey = await CreateKeyAsync(project, "ai");
        await DetectFacesAsync(server.AdminKey, project, 3);
        await DetectFacesAsync(aiKey, project, 2);

        using (var report = Json(await server.RunAsync("--json", "usage", project, "--group-by", "service,key")))
        {
            var rows = report.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(["key", "service"], report.RootElement.GetProperty("groupBy").EnumerateArray().Select(g => g.GetString()!).Order());
            Assert.All(rows, r => Assert.Equal(("faces", "images"), (r.GetProperty("service").GetString(), r.GetProperty("meter").GetString())));
            Assert.Equal([2.0, 3.0], rows.Select(r => r.GetProperty("quantity").GetDouble()).Order());
            Assert.All(rows, r => Assert.Equal(JsonValueKind.Null, r.GetProperty("period").ValueKind));
        }

        var table = await server.RunAsync("usage", project, "--group-by", "service,key,day");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains($"Usage of {project} from", table.Out);
        Assert.Matches(@"SERVICE\s*│\s*KEY\s*│\s*DAY\s*│\s*METER\s*│\s*QUANTITY", table.Out);
        Assert.Matches($@"faces\s*│\s*\w+\s*│\s*{Today}\s*│\s*images\s*│\s*3\s*│", table.Out);
        Assert.Matches($@"faces\s*│\s*\w+\s*│\s*{Today}\s*│\s*images\s*│\s*2\s*│", table.Out);
        // Two keys' rows, one total below them.
        Assert.Matches(@"SERVICE\s*│\s*METER\s*│\s*TOTAL", table.Out);
        Assert.Matches(@"faces\s*│\s*images\s*│\s*5\s*│", table.Out);

        var stdout = await server.RunAsync("usage", project, "--group-by", "key", "--csv", "-");
        Assert.True(stdout.ExitCode == 0, stdout.ToString());
        var lines = stdout.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = lines[0].Split(',');
        Assert.Equal(["key", "meter", "quantity"], header.Select(h => h.Trim('"')));
        var quantities = lines.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(2, quantities.Count);
        Assert.All(quantities, q => Assert.Equal("images", q[Array.IndexOf(header, "meter")].Trim('"')));
        Assert.Equal(5.0, quantities.Sum(q => double.Parse(q[Array.IndexOf(header, "quantity")].Trim('"'), CultureInfo.InvariantCulture)));

        var file = Path.Combine(_directory, "usage.csv");
        var saved = await server.RunAsync("usage", project, "--group-by", "key", "--csv", file);
        Assert.True(saved.ExitCode == 0, saved.ToString());
        Assert.Contains("Saved", saved.Out);
        Assert.Equal(lines, (await File.ReadAllLinesAsync(file)).Where(l => l.Length > 0).Select(l => l.Trim()));
        var again = await server.RunAsync("usage", project, "--csv", file);
        Assert.True(again.ExitCode == 2, again.ToString());
        Assert.Contains("--force", again.Err);

        // Before the calls, nothing.
        var before = await server.RunAsync("usage", project, "--to", DateTimeOffset.UtcNow.AddDays(-40).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "--from", DateTimeOffset.UtcNow.AddDays(-60).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Assert.True(before.ExitCode == 0, before.ToString());
        Assert.Contains("No usage from", before.Out);
    }

    [Fact]
    public async Task UsageAll_GroupsByProject_WithTheProjectsName()
    {
        var (project, id) = await CreateProjectAsync();
        await DetectFacesAsync(server.AdminKey, project, 1);

        using (var report = Json(await server.RunAsync("--json", "usage", "--all", "--group-by", "service")))
        {
            Assert.Contains("project", report.RootElement.GetProperty("groupBy").EnumerateArray().Select(g => g.GetString()));
            var ours = report.RootElement.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("projectId").GetString() == id).ToList();
            Assert.Equal(("faces", "images", 1.0), (ours.Single().GetProperty("service").GetString(), ours.Single().GetProperty("meter").GetString(),
                ours.Single().GetProperty("quantity").GetDouble()));
        }
        using (var client = new GureumClient(server.Http, server.AdminKey))
        {
            var now = DateTimeOffset.UtcNow;
            var record = await client.GetUsageRecordAsync(now.Year, now.Month, TestContext.Current.CancellationToken);
            Assert.Equal((now.Year, now.Month), (record.Year, record.Month));
            var ourRecord = record.Projects.Single(p => p.ProjectId == id);
            Assert.Equal(project, ourRecord.ProjectName);
            Assert.Equal([new MeterQuantity("faces", "images", 1)], ourRecord.Meters);
        }
        var table = await server.RunAsync("usage", "--all", "--group-by", "service");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Matches($@"{project}\s*│\s*faces\s*│\s*images\s*│\s*1\s*│", table.Out);

        var both = await server.RunAsync("usage", project, "--all");
        Assert.True(both.ExitCode == 2, both.ToString());
        var neither = await server.RunAsync("usage");
        Assert.True(neither.ExitCode == 2, neither.ToString());
        Assert.Contains("--all", neither.Err);

        var projectKey = await CreateKeyAsync(project, "project:read");
        var forbidden = await server.RunWithKeyAsync(projectKey, "usage", "--all");
        Assert.True(forbidden.ExitCode == 3, forbidden.ToString());
    }

    [Fact]
    public async Task Quotas_SetThenShown_WithAFillBar_ChangedAndCleared()
    {
        var (project, _) = await CreateProjectAsync();
        var aiKey = await CreateKeyAsync(project, "ai");
        string keyId;
        using (var keys = Json(await server.RunAsync("--json", "keys", "list", project)))
        {
            keyId = keys.RootElement.GetProperty("items").EnumerateArray().Single(k => k.GetProperty("name").GetString() == "ai").GetProperty("id").GetString()!;
        }
        await DetectFacesAsync(aiKey, project, 3);

        var set = await server.RunAsync("quotas", "set", project, "--service", "faces", "--meter", "images", "--limit", "10");
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Contains("Added quota images of faces: limit 10 a month", Flat(set.Out));

        var shown = await server.RunAsync("quotas", project);
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Matches(@"KEY\s*│\s*SERVICE\s*│\s*METER\s*│\s*USED\s*│\s*LIMIT\s*│\s*FILL\s*│\s*RESETS", shown.Out);
        Assert.Matches(@"\(project\)\s*│\s*faces\s*│\s*images\s*│\s*3\s*│\s*10\s*│\s*█{6}░{14} 30%\s*│\s*\d{4}-\d{2}-01 00:00:00Z", shown.Out);

        Assert.Equal(0, (await server.RunAsync("quotas", "set", project, "--service", "faces", "--meter", "images", "--limit", "4")).ExitCode);
        Assert.Equal(0, (await server.RunAsync("quotas", "set", project, "--service", "*", "--meter", "spend", "--limit", "2.5", "--key-id", keyId)).ExitCode);
        using (var quotas = Json(await server.RunAsync("--json", "quotas", project)))
        {
            var list = quotas.RootElement.GetProperty("quotas").EnumerateArray().ToList();
            Assert.Equal(2, list.Count);
            var images = list.Single(q => q.GetProperty("meter").GetString() == "images");
            Assert.Equal((JsonValueKind.Null, 4.0, 3.0), (images.GetProperty("keyId").ValueKind, images.GetProperty("limit").GetDouble(), images.GetProperty("used").GetDouble()));
            var firstOfNextMonth = new DateTimeOffset(DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
            Assert.Equal(firstOfNextMonth, images.GetProperty("resetsAt").GetDateTimeOffset());
            var spend = list.Single(q => q.GetProperty("meter").GetString() == "spend");
            Assert.Equal((keyId, "*", 2.5), (spend.GetProperty("keyId").GetString(), spend.GetProperty("service").GetString(), spend.GetProperty("limit").GetDouble()));
        }
        var both = await server.RunAsync("quotas", project);
        Assert.Matches($@"{keyId}\s*│\s*\* \(every service\)\s*│\s*spend\s*│", both.Out);
        Assert.Matches(@"█{15}░{5} 75%", both.Out);

        var clearKey = await server.RunAsync("quotas", "clear", project, "--key-id", keyId);
        Assert.True(clearKey.ExitCode == 0, clearKey.ToString());
        Assert.Contains("Removed 1 quota.", clearKey.Out);
        Assert.DoesNotContain("spend", clearKey.Out);
        Assert.Contains("images", clearKey.Out);
        var nothing = await server.RunAsync("quotas", "clear", project, "--service", "ocr");
        Assert.True(nothing.ExitCode == 0, nothing.ToString());
        Assert.Contains("No quota matched", nothing.Out);
        var clearAll = await server.RunAsync("quotas", "clear", project);
        Assert.True(clearAll.ExitCode == 0, clearAll.ToString());
        using (var empty = Json(await server.RunAsync("--json", "quotas", project)))
        {
            Assert.Equal(0, empty.RootElement.GetProperty("quotas").GetArrayLength());
        }
        Assert.Contains("No quotas", (await server.RunAsync("quotas", project)).Out);
    }

    [Fact]
    public async Task Quota_WhenReached_RefusesTheNextCall_WithExitCodeNine()
    {
        var (project, _) = await CreateProjectAsync();
        var set = await server.RunAsync("quotas", "set", project, "--service", "faces", "--meter", "images", "--limit", "2");
        Assert.True(set.ExitCode == 0, set.ToString());
        await DetectFacesAsync(server.AdminKey, project, 2);

        var refused = await server.RunAsync("ai", "faces", project, Image());

        Assert.True(refused.ExitCode == ExitCodes.TooManyRequests, refused.ToString());
        Assert.Contains("quota", Flat(refused.Err));
        Assert.Contains("2 images per month on 'faces'", Flat(refused.Err));
        var shown = await server.RunAsync("quotas", project);
        Assert.Matches(@"█{20} 100%", shown.Out);
    }

    [Fact]
    public async Task RateLimits_SetShownCleared_AndAFastSecondCallIsToldWhenToRetry()
    {
        var (project, _) = await CreateProjectAsync();
        var none = await server.RunAsync("rate-limits", project);
        Assert.True(none.ExitCode == 0, none.ToString());
        Assert.Contains("No rate limits", none.Out);

        var set = await server.RunAsync("rate-limits", "set", project, "--service", "faces", "--rps", "0.05", "--burst", "1");
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Matches(@"\(each key\)\s*│\s*faces\s*│\s*0\.05\s*│\s*1\s*│", set.Out);
        Assert.Equal(0, (await server.RunAsync("rate-limits", "set", project, "--service", "*", "--rps", "100", "--burst", "200")).ExitCode);
        using (var limits = Json(await server.RunAsync("--json", "rate-limits", project)))
        {
            var list = limits.RootElement.GetProperty("rateLimits").EnumerateArray()
                .Select(r => (r.GetProperty("service").GetString(), r.GetProperty("requestsPerSecond").GetDouble(), r.GetProperty("burst").GetInt32()))
                .OrderBy(r => r.Item1, StringComparer.Ordinal).ToList();
            Assert.Equal([("*", 100.0, 200), ("faces", 0.05, 1)], list);
        }

        await DetectFacesAsync(server.AdminKey, project, 1);
        var limited = await server.RunAsync("ai", "faces", project, Image());
        Assert.True(limited.ExitCode == ExitCodes.TooManyRequests, limited.ToString());
        Assert.Matches(@"(retry after|Try again in) \d+ s", Flat(limited.Err));

        var cleared = await server.RunAsync("rate-limits", "clear", project, "--service", "faces");
        Assert.True(cleared.ExitCode == 0, cleared.ToString());
        Assert.Contains("Removed 1 rate limit.", cleared.Out);
        Assert.DoesNotContain("0.05", cleared.Out);
        await DetectFacesAsync(server.AdminKey, project, 1);
    }

    [Fact]
    public async Task Invoice_LineAmount_IsQuantityTimesPrice_AndPricesSetRoundTrips()
    {
        using var client = new GureumClient(server.Http, server.AdminKey);
        var original = await client.GetPricesAsync(TestContext.Current.CancellationToken);
        try
        {
            const decimal unitPrice = 0.0125m;
            var set = await server.RunAsync("prices", "set", "--service", "faces", "--meter", "images", "--unit-price", "0.0125", "--free", "1");
            Assert.True(set.ExitCode == 0, set.ToString());
            Assert.Matches(@"faces\s*│\s*images\s*│\s*0\.0125\s*│\s*1\s*│", set.Out);
            using (var prices = Json(await server.RunAsync("--json", "prices")))
            {
                var faces = prices.RootElement.GetProperty("prices").EnumerateArray().Single(p => p.GetProperty("service").GetString() == "faces");
                Assert.Equal((unitPrice, 1.0), (faces.GetProperty("unitPrice").GetDecimal(), faces.GetProperty("freeUnitsPerMonth").GetDouble()));
                Assert.Equal(original.Currency, prices.RootElement.GetProperty("currency").GetString());
            }
            // A second set changes the price and keeps the free units it does not name; the other prices stay.
            Assert.Equal(0, (await server.RunAsync("prices", "set", "--service", "faces", "--meter", "images", "--unit-price", "0.25")).ExitCode);
            var changed = await client.GetPricesAsync(TestContext.Current.CancellationToken);
            Assert.Equal(new Price("faces", "images", 0.25m, 1), changed.Prices.Single(p => p.Service == "faces" && p.Meter == "images"));
            Assert.Equal(original.Prices.Count(p => p.Service != "faces" || p.Meter != "images"), changed.Prices.Count - 1);

            var (project, id) = await CreateProjectAsync();
            await DetectFacesAsync(server.AdminKey, project, 3);

            double quantity;
            decimal price;
            using (var invoice = Json(await server.RunAsync("--json", "invoice", project, ThisMonth)))
            {
                Assert.Equal((id, ThisMonth, "open"), (invoice.RootElement.GetProperty("projectId").GetString(), invoice.RootElement.GetProperty("month").GetString(),
                    invoice.RootElement.GetProperty("status").GetString()));
                var line = invoice.RootElement.GetProperty("lines").EnumerateArray().Single(l => l.GetProperty("service").GetString() == "faces");
                quantity = line.GetProperty("quantity").GetDouble();
                price = line.GetProperty("unitPrice").GetDecimal();
                Assert.Equal((3.0, 1.0, 2.0, 0.25m), (quantity, line.GetProperty("freeUnits").GetDouble(), line.GetProperty("billableQuantity").GetDouble(), price));
                Assert.Equal((decimal)(quantity - 1) * price, line.GetProperty("amount").GetDecimal());
                Assert.Equal(0.50m, invoice.RootElement.GetProperty("total").GetDecimal());
            }

            var table = await server.RunAsync("invoice", project);
            Assert.True(table.ExitCode == 0, table.ToString());
            Assert.Contains($"Invoice {ThisMonth} of {project} ({id}): open, in {original.Currency}", table.Out);
            Assert.Matches(@"SERVICE\s*│\s*METER\s*│\s*QUANTITY\s*│\s*FREE\s*│\s*BILLABLE\s*│\s*UNIT PRICE\s*│\s*AMOUNT", table.Out);
            Assert.Matches(@"faces\s*│\s*images\s*│\s*3\s*│\s*1\s*│\s*2\s*│\s*0\.25\s*│\s*0\.50\s*│", table.Out);
            Assert.Contains($"Total: 0.50 {original.Currency}", table.Out);

            var list = await server.RunAsync("invoices", project);
            Assert.True(list.ExitCode == 0, list.ToString());
            Assert.Matches($@"{ThisMonth}\s*│\s*open\s*│\s*0\.50 {original.Currency}", list.Out);

            var badMonth = await server.RunAsync("invoice", project, "2026-13");
            Assert.True(badMonth.ExitCode == 2, badMonth.ToString());
            Assert.Contains("yyyy-MM", badMonth.Err);

            var removed = await server.RunAsync("prices", "remove", "--service", "faces", "--meter", "images");
            Assert.True(removed.ExitCode == 0, removed.ToString());
            Assert.DoesNotContain((await client.GetPricesAsync(TestContext.Current.CancellationToken)).Prices, p => p.Service == "faces" && p.Meter == "images");
            var missing = await server.RunAsync("prices", "remove", "--service", "faces", "--meter", "images");
            Assert.True(missing.ExitCode == 4, missing.ToString());
        }
        finally
        {
            await client.SetPricesAsync(original, CancellationToken.None);
        }
    }

    [Fact]
    public async Task NonAdminKey_ReadsQuotas_ButSettingThemExitsForbidden_WithAClearMessage()
    {
        var (project, _) = await CreateProjectAsync();
        var key = await CreateKeyAsync(project, "project:write");

        var read = await server.RunWithKeyAsync(key, "quotas", project);
        Assert.True(read.ExitCode == 0, read.ToString());

        var quota = await server.RunWithKeyAsync(key, "quotas", "set", project, "--service", "faces", "--meter", "images", "--limit", "5");
        Assert.True(quota.ExitCode == ExitCodes.Auth, quota.ToString());
        Assert.Contains("Setting quotas needs an admin key", Flat(quota.Err));

        var rate = await server.RunWithKeyAsync(key, "rate-limits", "set", project, "--service", "*", "--rps", "1", "--burst", "1");
        Assert.True(rate.ExitCode == ExitCodes.Auth, rate.ToString());
        Assert.Contains("Setting rate limits needs an admin key", Flat(rate.Err));

        var price = await server.RunWithKeyAsync(key, "prices", "set", "--service", "faces", "--meter", "images", "--unit-price", "1");
        Assert.True(price.ExitCode == ExitCodes.Auth, price.ToString());
        Assert.Contains("Setting prices needs an admin key", Flat(price.Err));

        using var quotas = Json(await server.RunAsync("--json", "quotas", project));
        Assert.Equal(0, quotas.RootElement.GetProperty("quotas").GetArrayLength());
    }
}
