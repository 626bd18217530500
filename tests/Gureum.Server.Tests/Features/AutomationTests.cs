using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gureum.Server.Features.Automation;
using Gureum.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Gureum.Server.Tests.Features;

/// <summary>
/// Alerts and the retraining loop on real data: train on one part of adult, deploy, send another part shifted, see drift
/// flagged on exactly the shifted features, the policy retrain, compare on one holdout, wait for approval, and the
/// alias and the endpoint's traffic move. Sweeps are run by the tests (the timer is set to an hour).
/// </summary>
public sealed class AutomationTests(AutomationTests.App app) : IClassFixture<AutomationTests.App>
{
    public sealed class App() : GureumApp(new Dictionary<string, string?>
    {
        ["Gureum:Serving:RefreshInterval"] = "00:00:00.200",
        ["Gureum:Serving:UsageFlushInterval"] = "00:00:00.500",
        ["Gureum:Automation:SweepSeconds"] = "3600",
        ["Gureum:Webhooks:AllowedHosts:0"] = "127.0.0.1",
    })
    {
        public Task SweepAsync() => Services.GetRequiredService<AutomationHost>().SweepAsync(CancellationToken.None);
    }

    private static readonly string[] AdultColumns =
    [
        "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation", "relationship", "race", "sex",
        "capital_gain", "capital_loss", "hours_per_week", "native_country", "income",
    ];

    private static string[] AdultRows(string file) => [.. File.ReadLines(Path.Combine(Repository.Datasets, file))
        .Where(l => l.Count(c => c == ',') == 14 && !l.Contains('?'))
        .Select(l => string.Join(',', l.Split(',').Select(v => v.Trim().TrimEnd('.'))))];

    private async Task UploadAsync(string project, IEnumerable<string> rows)
    {
        using var content = new StringContent(string.Join(',', AdultColumns) + "\n" + string.Join('\n', rows), Encoding.UTF8, "text/csv");
        using var uploaded = await app.Admin().PostAsync($"/v1/projects/{project}/datasets/adult/versions?target=income", content);
        Assert.True(uploaded.IsSuccessStatusCode, await uploaded.Content.ReadAsStringAsync());
    }

    /// <summary>A project whose endpoint "adult" follows alias "champion" of model "adult", trained on <paramref name="rows"/> rows.</summary>
    private async Task<string> DeployedChampionAsync(int rows, bool wrongLabels = false)
    {
        var project = await app.CreateProjectAsync();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "adult" })).EnsureSuccessStatusCode();
        await UploadAsync(project, AdultRows("adult-train.csv").Take(rows)
            .Select(r => !wrongLabels ? r : r.EndsWith(">50K", StringComparison.Ordinal) ? r[..^4] + "<=50K" : r[..^5] + ">50K"));
        using var submitted = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs", new { dataset = "adult", target = "income", budgetSeconds = 4 });
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await WaitAsync(async () => (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{jobId}")).GetProperty("status").GetString() == "succeeded", 120);
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models", new { name = "adult" })).EnsureSuccessStatusCode();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models/adult/versions", new { trainingJob = jobId })).EnsureSuccessStatusCode();
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/models/adult/aliases/champion", new { version = 1 })).EnsureSuccessStatusCode();
        using var deployed = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints",
            new { name = "adult", deployments = new[] { new { model = "adult", alias = "champion" } }, sampleRate = 1.0 });
        Assert.True(deployed.StatusCode == HttpStatusCode.Accepted, await deployed.Content.ReadAsStringAsync());
        await WaitAsync(async () => (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult")).GetProperty("status").GetString() == "ready", 60);
        return project;
    }

    /// <summary>Sends rows of adult-test as predictions, each changed by <paramref name="shift"/>; returns how many rows went.</summary>
    private async Task<int> SendAsync(string project, int count, Action<Dictionary<string, object?>> shift)
    {
        var numbers = new HashSet<string> { "age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week" };
        var records = AdultRows("adult-test.csv").Take(count).Select(line =>
        {
            var values = line.Split(',');
            var record = new Dictionary<string, object?>();
            for (var i = 0; i < AdultColumns.Length - 1; i++)
            {
                record[AdultColumns[i]] = numbers.Contains(AdultColumns[i]) ? double.Parse(values[i], CultureInfo.InvariantCulture) : values[i];
            }
            shift(record);
            return record;
        }).ToList();
        foreach (var chunk in records.Chunk(50))
        {
            using var answered = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/adult/predict", new { records = chunk });
            Assert.True(answered.StatusCode == HttpStatusCode.OK, await answered.Content.ReadAsStringAsync());
        }
        await WaitAsync(async () => (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/drift?window=1h"))
            .GetProperty("liveRows").GetInt64() >= records.Count, 30);
        return records.Count;
    }

    private static async Task WaitAsync(Func<Task<bool>> done, int seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not done within {seconds} s");
            await Task.Delay(200);
        }
    }

    private async Task<JsonElement> WaitForRunAsync(string project, string runId, params string[] statuses)
    {
        JsonElement run = default;
        await WaitAsync(async () =>
        {
            run = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/retraining-runs/{runId}");
            var status = run.GetProperty("status").GetString();
            Assert.True(statuses.Contains(status) || RunStatus.Active.Contains(status), run.ToString());
            return statuses.Contains(status);
        }, 180);
        return run;
    }

    [Fact]
    public async Task RetrainingLoop_DriftOnTheShiftedFeatures_RetrainsComparesWaitsForApproval_AndMovesTheAliasAndTraffic()
    {
        using var receiver = new WebhookReceiver();
        var project = await DeployedChampionAsync(rows: 1000);
        using (var rule = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/adult/alert-rules",
            new { kind = "drift", severity = "high", window = "1h", cooldownMinutes = 60, minimumCount = 200, webhookUrl = receiver.Url }))
        {
            Assert.True(rule.StatusCode == HttpStatusCode.Created, await rule.Content.ReadAsStringAsync());
        }
        using (var policy = await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/endpoints/adult/retraining-policy", new
        {
            triggers = new { alerts = new[] { "drift" } }, training = new { budgetSeconds = 6 }, promotion = new { metric = "auc", margin = 0.0 },
            smokeTest = new { samples = 5 }, requireApproval = true, canary = new { share = 0.5, minutes = 0 }, webhookUrl = receiver.Url,
        }))
        {
            Assert.True(policy.StatusCode == HttpStatusCode.OK, await policy.Content.ReadAsStringAsync());
        }

        // Nothing drifted yet: a sweep raises nothing.
        await SendAsync(project, 250, _ => { });
        await app.SweepAsync();
        Assert.Empty((await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/alerts")).GetProperty("items").EnumerateArray());

        // Older people working for an employer the training data never saw; more labelled data arrives as version 2.
        await SendAsync(project, 300, r => { r["age"] = (double)r["age"]! + 30; r["workclass"] = "Space-agency"; });
        await UploadAsync(project, AdultRows("adult-train.csv").Skip(1000).Take(12_000));
        await app.SweepAsync();

        var alerts = (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/alerts")).GetProperty("items").EnumerateArray().ToList();
        var alert = Assert.Single(alerts);
        Assert.Equal("drift", alert.GetProperty("kind").GetString());
        var drifted = alert.GetProperty("evidence").GetProperty("features").EnumerateArray().Select(f => f.GetProperty("name").GetString()).Order().ToList();
        Assert.True(drifted.SequenceEqual(["age", "workclass"]), alert.ToString());
        Assert.Equal("delivered", alert.GetProperty("delivery").GetString());
        Assert.Contains(receiver.Received, r => r.Event == "alert.drift" && r.Body.Contains("workclass"));

        var runs = (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/retraining-runs")).GetProperty("items").EnumerateArray().ToList();
        var runId = Assert.Single(runs).GetProperty("id").GetString()!;
        Assert.Equal("alert", runs[0].GetProperty("trigger").GetString());
        var pending = await WaitForRunAsync(project, runId, RunStatus.PendingApproval);

        // The evidence: both models on the same held-out rows, the challenger better, the recorded requests replayed.
        var evaluation = pending.GetProperty("evidence").GetProperty("evaluation");
        Assert.Equal("auc", evaluation.GetProperty("metric").GetString());
        Assert.True(evaluation.GetProperty("holdoutRows").GetInt64() > 1000, evaluation.ToString());
        Assert.True(evaluation.GetProperty("challenger").GetProperty("score").GetDouble() > evaluation.GetProperty("champion").GetProperty("score").GetDouble(), evaluation.ToString());
        Assert.Equal("passed", pending.GetProperty("evidence").GetProperty("smokeTest").GetProperty("outcome").GetString());
        Assert.Equal(2, pending.GetProperty("challengerVersion").GetInt32());
        var steps = pending.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("step").GetString() + ":" + e.GetProperty("outcome").GetString()).ToList();
        Assert.Equal(["trigger:accepted", "train:started", "train:succeeded", "evaluate:better", "smoke-test:passed", "register:succeeded", "approval:waiting"], steps.Where(s => !s!.StartsWith("notify", StringComparison.Ordinal)));
        // Nothing moved while it waits.
        Assert.Equal(1, (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/adult/versions/champion")).GetProperty("version").GetInt32());
        var inbox = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/approvals");
        Assert.Equal(runId, Assert.Single(inbox.EnumerateArray()).GetProperty("id").GetString());
        await WaitAsync(() => Task.FromResult(receiver.Received.Any(r => r.Event == "retraining.pending-approval")), 10);

        // Only admin or project:write keys decide.
        var (_, reader) = await app.CreateKeyAsync(project, "project:read", "predict");
        using (var refused = await app.Client(reader).PostAsJsonAsync($"/v1/projects/{project}/approvals/{runId}/approve", new { comment = "me" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        using (var approved = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/approvals/{runId}/approve", new { comment = "better AUC on fresh data" }))
        {
            Assert.True(approved.StatusCode == HttpStatusCode.Accepted, await approved.Content.ReadAsStringAsync());
        }
        using (var twice = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/approvals/{runId}/reject", new { comment = "too late" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        }
        var promoted = await WaitForRunAsync(project, runId, RunStatus.Promoted);
        Assert.Equal("better AUC on fresh data", promoted.GetProperty("decisionComment").GetString());
        var done = promoted.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("step").GetString() + ":" + e.GetProperty("outcome").GetString()).ToList();
        Assert.Contains("canary:started", done);
        Assert.Contains("canary:passed", done);
        Assert.Contains("promote:succeeded", done);

        // The alias moved, and the endpoint follows it with all of its traffic.
        Assert.Equal(2, (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/adult/versions/champion")).GetProperty("version").GetInt32());
        await WaitAsync(async () =>
        {
            var endpoint = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult");
            var serving = endpoint.GetProperty("serving").EnumerateArray().ToList();
            return endpoint.GetProperty("status").GetString() == "ready" && serving.Count == 1 && serving[0].GetProperty("version").GetInt32() == 2;
        }, 30);
        using (var answer = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/adult/predict",
            new { records = new[] { new { age = 40, workclass = "Private", fnlwgt = 100000, education = "Bachelors", education_num = 13, marital_status = "Never-married",
                occupation = "Sales", relationship = "Not-in-family", race = "White", sex = "Female", capital_gain = 0, capital_loss = 0, hours_per_week = 40, native_country = "United-States" } } }))
        {
            var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(2, body.GetProperty("version").GetInt32());
        }
        await WaitAsync(() => Task.FromResult(receiver.Received.Any(r => r.Event == "retraining.promoted")), 10);

        // The same alert does not fire again within its cooldown, so no second run.
        await app.SweepAsync();
        Assert.Single((await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/alerts")).GetProperty("items").EnumerateArray());
        Assert.Single((await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/retraining-runs")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task ManualRun_NotBetterByTheMargin_StopsWithTheReason_AndTheSameTriggerNeverRunsTwice()
    {
        var project = await DeployedChampionAsync(rows: 1500);
        using (var policy = await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/endpoints/adult/retraining-policy",
            new { training = new { budgetSeconds = 3 }, promotion = new { margin = 0.5 }, requireApproval = false }))
        {
            Assert.True(policy.StatusCode == HttpStatusCode.OK, await policy.Content.ReadAsStringAsync());
        }
        using var started = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/endpoints/adult/retraining-policy/run");
        started.Headers.Add("Idempotency-Key", "retrain-once");
        using var first = await app.Admin().SendAsync(started);
        Assert.True(first.StatusCode == HttpStatusCode.Accepted, await first.Content.ReadAsStringAsync());
        var runId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        // The same Idempotency-Key replays the answer: the same run, not a second one.
        using var again = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/endpoints/adult/retraining-policy/run");
        again.Headers.Add("Idempotency-Key", "retrain-once");
        using var replay = await app.Admin().SendAsync(again);
        Assert.Equal(runId, (await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        // While it runs, another trigger is refused rather than run beside it.
        using (var busy = await app.Admin().PostAsync($"/v1/projects/{project}/endpoints/adult/retraining-policy/run", null))
        {
            Assert.Equal(HttpStatusCode.Conflict, busy.StatusCode);
        }

        var run = await WaitForRunAsync(project, runId, RunStatus.NotBetter);
        Assert.Contains("margin 0.5", run.GetProperty("reason").GetString());
        Assert.Null(run.GetProperty("challengerVersion").GetString());
        Assert.Single((await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/adult/versions")).EnumerateArray());

        // A trigger key is taken once, whoever presents it again.
        var runs = app.Services.GetRequiredService<RetrainingRuns>();
        using var scope = app.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<Gureum.Server.Infrastructure.Db.GureumDb>();
        var policyRow = db.Set<RetrainingPolicy>().Single(p => p.ProjectId == project);
        var trigger = db.Set<RetrainingRun>().Single(r => r.Id == runId).TriggerKey;
        Assert.Null(await runs.StartAsync(policyRow, "manual", trigger, new { }, "adult", 1, CancellationToken.None));
    }

    [Fact]
    public async Task Policy_AndAlertRules_RefuseBadInput_NamingTheField()
    {
        var project = await DeployedChampionAsync(rows: 600);
        var url = $"/v1/projects/{project}/endpoints/adult/retraining-policy";
        await Problems.AssertFieldErrorAsync(await app.Admin().PutAsJsonAsync(url, new { triggers = new { schedule = "every day" } }), "triggers.schedule");
        await Problems.AssertFieldErrorAsync(await app.Admin().PutAsJsonAsync(url, new { triggers = new { schedule = "* * * * * *" } }), "triggers.schedule");
        await Problems.AssertFieldErrorAsync(await app.Admin().PutAsJsonAsync(url, new { triggers = new { alerts = new[] { "moon-phase" } } }), "triggers.alerts");
        await Problems.AssertFieldErrorAsync(await app.Admin().PutAsJsonAsync(url, new { canary = new { share = 1.5 } }), "canary.share");
        await Problems.AssertFieldErrorAsync(await app.Admin().PutAsJsonAsync(url, new { data = "everything" }), "data");
        await Problems.AssertFieldErrorAsync(await app.Admin().PutAsJsonAsync(url, new { promotion = new { margin = -1 } }), "promotion.margin");
        var rules = $"/v1/projects/{project}/endpoints/adult/alert-rules";
        await Problems.AssertFieldErrorAsync(await app.Admin().PostAsJsonAsync(rules, new { kind = "weather" }), "kind");
        await Problems.AssertFieldErrorAsync(await app.Admin().PostAsJsonAsync(rules, new { kind = "drift", severity = "catastrophic" }), "severity");
        await Problems.AssertFieldErrorAsync(await app.Admin().PostAsJsonAsync(rules, new { kind = "latency-p99" }), "threshold");
        await Problems.AssertFieldErrorAsync(await app.Admin().PostAsJsonAsync(rules, new { kind = "error-rate", threshold = 2 }), "threshold");
        await Problems.AssertFieldErrorAsync(await app.Admin().PostAsJsonAsync(rules, new { kind = "error-rate", window = "3 weeks" }), "window");
        // A schedule is kept as the next time it fires.
        var saved = await (await app.Admin().PutAsJsonAsync(url, new { triggers = new { schedule = "0 3 * * *" } })).Content.ReadFromJsonAsync<JsonElement>();
        var next = saved.GetProperty("nextScheduledAt").GetDateTimeOffset();
        Assert.Equal(3, next.UtcDateTime.Hour);
        Assert.True(next > DateTimeOffset.UtcNow && next <= DateTimeOffset.UtcNow.AddDays(1));
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://10.1.2.3/hook")]
    [InlineData("http://172.16.0.1/hook")]
    [InlineData("http://192.168.1.1/hook")]
    [InlineData("http://[::ffff:10.0.0.1]/hook")]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://example.com/hook")]
    [InlineData("http://user:secret@example.com/hook")]
    public void OutboundUrls_ToInternalAddressesOrOtherSchemes_AreRefusedWhenSaved(string url)
    {
        var urls = new OutboundUrls(new WebhookOptions());
        var refused = Assert.Throws<Gureum.Server.Infrastructure.Problems.GureumException>(() => urls.Validate("webhookUrl", url));
        Assert.Contains("webhookUrl", refused.Message);
    }

    [Fact]
    public async Task OutboundUrls_AreCheckedAgainAtConnect_AndRedirectsAreNotFollowed()
    {
        // Saved through an operator's allowance, then called without it: the connection itself refuses loopback.
        using var receiver = new WebhookReceiver();
        using (var strict = new WebhookSender(new OutboundUrls(new WebhookOptions()), new WebhookOptions()))
        {
            var error = await strict.SendAsync(receiver.Url, "test", new { }, CancellationToken.None);
            Assert.Contains("internal addresses", error);
        }
        Assert.Empty(receiver.Received);
        // An allowed receiver that redirects to the metadata service: the redirect is reported, not followed.
        var allowed = new WebhookOptions { AllowedHosts = ["127.0.0.1"] };
        using var sender = new WebhookSender(new OutboundUrls(allowed), allowed);
        receiver.RedirectTo = "http://169.254.169.254/latest/meta-data/";
        var redirected = await sender.SendAsync(receiver.Url, "test", new { }, CancellationToken.None);
        Assert.Contains("redirects are not followed", redirected);
        receiver.RedirectTo = null;
        Assert.Null(await sender.SendAsync(receiver.Url, "test", new { ok = true }, CancellationToken.None));
    }

    [Fact]
    public async Task LatencyAndErrorRules_FireOnceWithinTheCooldown_AndMetricsCountStatuses()
    {
        var project = await DeployedChampionAsync(rows: 600);
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/adult/alert-rules",
            new { kind = "latency-p99", threshold = 0.001, minimumCount = 3, cooldownMinutes = 30 })).EnsureSuccessStatusCode();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/adult/alert-rules",
            new { kind = "error-rate", threshold = 0.5, minimumCount = 3 })).EnsureSuccessStatusCode();
        await SendAsync(project, 150, _ => { });
        // A refused input is the caller's error: counted by status, not as the model's error.
        using (var bad = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/adult/predict", new { records = new[] { new { age = "old" } } }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }
        await WaitAsync(async () =>
        {
            var metrics = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/metrics?window=1h");
            var version = metrics.GetProperty("versions").EnumerateArray().FirstOrDefault();
            return version.ValueKind == JsonValueKind.Object && version.GetProperty("statuses").TryGetProperty("200", out var ok) && ok.GetInt64() == 3
                && version.GetProperty("statuses").TryGetProperty("400", out var refused) && refused.GetInt64() == 1 && version.GetProperty("errors").GetInt64() == 0;
        }, 20);
        await app.SweepAsync();
        await app.SweepAsync();
        var alerts = (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/alerts")).GetProperty("items").EnumerateArray().ToList();
        var latency = Assert.Single(alerts);
        Assert.Equal("latency-p99", latency.GetProperty("kind").GetString());
        Assert.Equal("none", latency.GetProperty("delivery").GetString());
    }

    [Fact]
    public async Task ScheduleAndNewDatasetVersion_EachTriggerARunOnce_AndAWrongLiveMetricRaisesAMetricDropAlert()
    {
        var project = await DeployedChampionAsync(rows: 800);
        using (var policy = await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/endpoints/adult/retraining-policy", new
        {
            triggers = new { schedule = "0 3 * * *", newDatasetVersion = true }, training = new { budgetSeconds = 2 }, promotion = new { margin = 0.9 },
        }))
        {
            Assert.True(policy.StatusCode == HttpStatusCode.OK, await policy.Content.ReadAsStringAsync());
        }
        // The schedule comes due (its cursor moved into the past), and a sweep takes it once.
        using (var scope = app.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Gureum.Server.Infrastructure.Db.GureumDb>();
            var row = db.Set<RetrainingPolicy>().Single(p => p.ProjectId == project);
            row.NextScheduledAt = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds();
            await db.SaveChangesAsync();
        }
        await app.SweepAsync();
        await app.SweepAsync();
        var runs = (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/retraining-runs")).GetProperty("items").EnumerateArray().ToList();
        var scheduled = Assert.Single(runs);
        Assert.Equal("schedule", scheduled.GetProperty("trigger").GetString());
        var next = (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/retraining-policy")).GetProperty("nextScheduledAt").GetDateTimeOffset();
        Assert.True(next > DateTimeOffset.UtcNow && next.UtcDateTime.Hour == 3, next.ToString("O"));
        await WaitForRunAsync(project, scheduled.GetProperty("id").GetString()!, RunStatus.NotBetter);

        // A new version of the dataset the champion was trained on: one run, however many sweeps see it.
        await UploadAsync(project, AdultRows("adult-train.csv").Skip(800).Take(800));
        await app.SweepAsync();
        await app.SweepAsync();
        runs = (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/retraining-runs")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, runs.Count);
        Assert.Equal("dataset", runs[0].GetProperty("trigger").GetString());
        Assert.Equal(2, runs[0].GetProperty("triggerDetail").GetProperty("version").GetInt32());
        await WaitForRunAsync(project, runs[0].GetProperty("id").GetString()!, RunStatus.NotBetter);

        // Feedback that contradicts every answer: the live accuracy falls far below the test accuracy.
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/adult/alert-rules",
            new { kind = "metric-drop", threshold = 0.2, minimumCount = 50 })).EnsureSuccessStatusCode();
        var records = AdultRows("adult-test.csv").Take(60).Select(line =>
        {
            var v = line.Split(',');
            return new Dictionary<string, object?>
            {
                ["age"] = double.Parse(v[0], CultureInfo.InvariantCulture), ["workclass"] = v[1], ["fnlwgt"] = double.Parse(v[2], CultureInfo.InvariantCulture),
                ["education"] = v[3], ["education_num"] = double.Parse(v[4], CultureInfo.InvariantCulture), ["marital_status"] = v[5], ["occupation"] = v[6],
                ["relationship"] = v[7], ["race"] = v[8], ["sex"] = v[9], ["capital_gain"] = double.Parse(v[10], CultureInfo.InvariantCulture),
                ["capital_loss"] = double.Parse(v[11], CultureInfo.InvariantCulture), ["hours_per_week"] = double.Parse(v[12], CultureInfo.InvariantCulture), ["native_country"] = v[13],
            };
        }).ToList();
        using var answered = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/adult/predict", new { records });
        var answer = await answered.Content.ReadFromJsonAsync<JsonElement>();
        var requestId = answer.GetProperty("requestId").GetString();
        var wrong = answer.GetProperty("predictions").EnumerateArray()
            .Select((p, row) => new { requestId, row, label = p.GetProperty("label").GetString() == "<=50K" ? ">50K" : "<=50K" }).ToList();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/adult/feedback", new { feedback = wrong })).EnsureSuccessStatusCode();
        await WaitAsync(async () => (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/feedback?window=1h")).GetProperty("matched").GetInt64() == 60, 20);
        await app.SweepAsync();
        var alert = Assert.Single((await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/adult/alerts")).GetProperty("items").EnumerateArray());
        Assert.Equal("metric-drop", alert.GetProperty("kind").GetString());
        Assert.True(alert.GetProperty("value").GetDouble() > 0.5, alert.ToString());
        Assert.Contains("live accuracy 0 ", alert.GetProperty("message").GetString());
    }

    [Fact]
    public async Task DataFromAppends_SealsTheAppendedRowsIntoAVersion_AndTrainsOnIt()
    {
        var project = await DeployedChampionAsync(rows: 600);
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/endpoints/adult/retraining-policy",
            new { data = "appends", training = new { budgetSeconds = 2 }, promotion = new { margin = 0.9 } })).EnsureSuccessStatusCode();
        var appended = AdultRows("adult-train.csv").Skip(600).Take(400).Select(line =>
        {
            var v = line.Split(',');
            return AdultColumns.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (object)(p.c is "age" or "fnlwgt" or "education_num" or "capital_gain" or "capital_loss" or "hours_per_week"
                ? long.Parse(v[p.i], CultureInfo.InvariantCulture) : v[p.i]));
        }).ToList();
        using (var sent = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets/adult/rows", appended))
        {
            Assert.True(sent.IsSuccessStatusCode, await sent.Content.ReadAsStringAsync());
        }
        using var started = await app.Admin().PostAsync($"/v1/projects/{project}/endpoints/adult/retraining-policy/run", null);
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
        var runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var run = await WaitForRunAsync(project, runId, RunStatus.NotBetter);
        var data = run.GetProperty("events").EnumerateArray().Single(e => e.GetProperty("step").GetString() == "data");
        Assert.Equal("sealed", data.GetProperty("outcome").GetString());
        Assert.Equal(2, data.GetProperty("data").GetProperty("version").GetInt32());
        var challenger = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{run.GetProperty("challengerTrainingJob").GetString()}");
        Assert.Equal(2, challenger.GetProperty("dataset").GetProperty("version").GetInt32());
        Assert.Equal(1000, challenger.GetProperty("report").GetProperty("trainRows").GetInt64() + challenger.GetProperty("report").GetProperty("testRows").GetInt64());
    }

    [Fact]
    public async Task AnApprovalWhoseNodeStoppedBeforeQueueingTheRest_IsCarriedOnByTheNextSweep()
    {
        // A champion trained on inverted labels: any challenger trained on the true ones beats it.
        var project = await DeployedChampionAsync(rows: 600, wrongLabels: true);
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/endpoints/adult/retraining-policy",
            new { training = new { budgetSeconds = 2 }, smokeTest = new { samples = 0 }, requireApproval = true })).EnsureSuccessStatusCode();
        await UploadAsync(project, AdultRows("adult-train.csv").Take(600));
        using var started = await app.Admin().PostAsync($"/v1/projects/{project}/endpoints/adult/retraining-policy/run", null);
        var runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await WaitForRunAsync(project, runId, RunStatus.PendingApproval);

        // The decision was written, then the node stopped before it queued the rest of the run.
        using (var scope = app.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Gureum.Server.Infrastructure.Db.GureumDb>();
            var run = db.Set<RetrainingRun>().Single(r => r.Id == runId);
            run.Status = RunStatus.Approved;
            await db.SaveChangesAsync();
        }
        await app.SweepAsync();
        await WaitForRunAsync(project, runId, RunStatus.Promoted);
        Assert.Equal(2, (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/adult/versions/champion")).GetProperty("version").GetInt32());
        // Sweeping again queues nothing more: the continuation exists once.
        await app.SweepAsync();
        Assert.Single((await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/retraining-runs/{runId}")).GetProperty("events").EnumerateArray(),
            e => e.GetProperty("step").GetString() == "promote");
    }

    /// <summary>A webhook receiver on 127.0.0.1 that records what it is sent.</summary>
    private sealed class WebhookReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        public ConcurrentQueue<(string Event, string Body)> Received { get; } = new();
        public string? RedirectTo { get; set; }
        public string Url { get; }

        public WebhookReceiver()
        {
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}/hook/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(LoopAsync);
        }

        private static int FreePort()
        {
            using var socket = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            socket.Start();
            return ((IPEndPoint)socket.LocalEndpoint).Port;
        }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                if (RedirectTo is { } target)
                {
                    context.Response.StatusCode = 302;
                    context.Response.RedirectLocation = target;
                }
                else
                {
                    using var reader = new StreamReader(context.Request.InputStream);
                    Received.Enqueue((context.Request.Headers["X-Gureum-Event"] ?? "", await reader.ReadToEndAsync()));
                    context.Response.StatusCode = 204;
                }
                context.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }
}
