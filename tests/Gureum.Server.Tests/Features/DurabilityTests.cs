using System.Net.Http.Json;
using System.Text.Json;
using Gureum.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Gureum.Server.Tests.Features;

/// <summary>The real server process killed or stopped mid-job, then started again on the same data.</summary>
public sealed class DurabilityTests : ServerProcessTests
{
    private static async Task<(string Project, string Job)> SubmitAsync(HttpClient admin, int steps, int stepMilliseconds)
    {
        using var project = await admin.PostAsJsonAsync("/v1/projects", new { name = "durable" });
        var projectId = (await project.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        using var job = await admin.PostAsJsonAsync($"/v1/projects/{projectId}/jobs", new { kind = "diagnostics.wait", input = new { steps, stepMilliseconds } });
        return (projectId, (await job.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient admin, string project, string job, Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var state = await admin.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs/{job}");
            if (condition(state))
            {
                return state;
            }
            Assert.True(DateTime.UtcNow < deadline, $"job did not reach the expected state: {state}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task KillDashNine_MidJob_TheJobResumesFromItsCheckpointAfterRestart()
    {
        string project, job;
        await using (var first = await ServerProcess.StartAsync(DataDirectory, Database))
        {
            (project, job) = await SubmitAsync(first.Admin(), steps: 20, stepMilliseconds: 150);
            await WaitForAsync(first.Admin(), project, job, j => j.GetProperty("percent").GetDouble() >= 25, TimeSpan.FromSeconds(30));
            await first.KillAsync();
        }
        await using var second = await ServerProcess.StartAsync(DataDirectory, Database);
        var done = await WaitForAsync(second.Admin(), project, job, j => j.GetProperty("status").GetString() is "succeeded" or "failed", TimeSpan.FromSeconds(60));
        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        Assert.Equal(2, done.GetProperty("attempts").GetInt32());
        Assert.True(done.GetProperty("result").GetProperty("resumedFromStep").GetInt32() >= 5, done.ToString());
        AssertSqliteIntact();
    }

    [Fact]
    public async Task KillDashNine_MidTraining_TheSearchResumesKeepingItsTrials_AndProducesAModel()
    {
        string project, id;
        int trialsBefore;
        await using (var first = await ServerProcess.StartAsync(DataDirectory, Database))
        {
            var admin = first.Admin();
            using var created = await admin.PostAsJsonAsync("/v1/projects", new { name = "durable-training" });
            project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            (await admin.PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "titanic" })).Dispose();
            using (var upload = await admin.PostAsync($"/v1/projects/{project}/datasets/titanic/versions",
                new StringContent(File.ReadAllText(Path.Combine(Repository.Datasets, "titanic.csv")), System.Text.Encoding.UTF8, "text/csv")))
            {
                upload.EnsureSuccessStatusCode();
            }
            using var submitted = await admin.PostAsJsonAsync($"/v1/projects/{project}/training-jobs",
                new { dataset = "titanic", target = "survived", budgetSeconds = 30, ignoreColumns = new[] { "alive" } });
            id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((trialsBefore = (await admin.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{id}/trials"))
                .GetProperty("trials").GetArrayLength()) < 2)
            {
                Assert.True(DateTime.UtcNow < deadline, "no trials recorded");
                await Task.Delay(100);
            }
            await first.KillAsync();
        }
        await using var second = await ServerProcess.StartAsync(DataDirectory, Database);
        var done = await WaitForAsync(second.Admin(), project, id, j => j.GetProperty("status").GetString() is "succeeded" or "failed", TimeSpan.FromSeconds(120));
        Assert.True(done.GetProperty("status").GetString() == "succeeded", done.ToString());
        Assert.Equal(2, done.GetProperty("attempts").GetInt32());
        var board = await second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{id}/trials?orderBy=number");
        var trials = board.GetProperty("trials").EnumerateArray().ToList();
        // The first attempt's trials are kept and numbered on; the second attempt continued the search.
        Assert.True(trials.Count(t => t.GetProperty("attempt").GetInt32() == 1) >= trialsBefore, board.ToString());
        Assert.Contains(trials, t => t.GetProperty("attempt").GetInt32() == 2);
        Assert.Equal(Enumerable.Range(1, trials.Count), trials.Select(t => t.GetProperty("number").GetInt32()));
        var training = await second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{id}");
        Assert.Equal(trials.Count, training.GetProperty("report").GetProperty("trials").GetInt32());
        AssertSqliteIntact();
    }

    [Fact]
    public async Task Sigterm_MidJob_ExitsZero_CheckpointsAndResumesWithoutUsingAnAttempt()
    {
        string project, job;
        await using (var first = await ServerProcess.StartAsync(DataDirectory, Database))
        {
            (project, job) = await SubmitAsync(first.Admin(), steps: 40, stepMilliseconds: 150);
            await WaitForAsync(first.Admin(), project, job, j => j.GetProperty("percent").GetDouble() >= 10, TimeSpan.FromSeconds(30));
            var exitCode = await first.TerminateAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, exitCode);
        }
        await using var second = await ServerProcess.StartAsync(DataDirectory, Database);
        var done = await WaitForAsync(second.Admin(), project, job, j => j.GetProperty("status").GetString() is "succeeded" or "failed", TimeSpan.FromSeconds(60));
        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        Assert.Equal(1, done.GetProperty("attempts").GetInt32());
        Assert.True(done.GetProperty("result").GetProperty("resumedFromStep").GetInt32() >= 4, done.ToString());
        AssertSqliteIntact();
    }

    [Fact]
    public async Task Logs_NeverContainAKeySecret_EvenWhenRequestsFail()
    {
        await using var server = await ServerProcess.StartAsync(DataDirectory, Database);
        var admin = server.Admin();
        using var project = await admin.PostAsJsonAsync("/v1/projects", new { name = "logs" });
        using var created = await admin.PostAsJsonAsync("/v1/projects/logs/keys", new { name = "app", scopes = new[] { "project:read" } });
        var secret = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        using var client = new HttpClient { BaseAddress = new Uri(server.Url) };
        client.DefaultRequestHeaders.Add("X-Api-Key", secret);
        (await client.GetAsync("/v1/projects/logs")).Dispose();
        (await client.PostAsync("/v1/projects", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"))).Dispose();
        client.DefaultRequestHeaders.Remove("X-Api-Key");
        client.DefaultRequestHeaders.Add("X-Api-Key", secret + "x");
        (await client.GetAsync("/v1/projects/logs")).Dispose();
        await server.TerminateAsync(TimeSpan.FromSeconds(30));
        var secretPart = secret.Split('_', 3)[2];
        Assert.DoesNotContain(secretPart, server.Output);
        Assert.DoesNotContain(GureumApp.AdminKey.Split('_', 3)[2], server.Output);
        Assert.Contains("\"LogLevel\"", server.Output);
    }

    [Fact]
    public async Task KillDashNine_MidUpload_LeavesNoVersion_AndTheNextUploadWorks()
    {
        string project;
        await using (var first = await ServerProcess.StartAsync(DataDirectory, Database))
        {
            var admin = first.Admin();
            using var created = await admin.PostAsJsonAsync("/v1/projects", new { name = "uploads" });
            project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            (await admin.PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "big" })).Dispose();
            var halfSent = new TaskCompletionSource();
            using var content = new System.Net.Http.StreamContent(new SlowCsv(halfSent));
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/csv");
            var upload = admin.PostAsync($"/v1/projects/{project}/datasets/big/versions", content);
            await halfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await first.KillAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => upload);
        }
        await using var second = await ServerProcess.StartAsync(DataDirectory, Database);
        var versions = await second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/datasets/big/versions");
        Assert.Equal(0, versions.GetArrayLength());
        using var retry = await second.Admin().PostAsync($"/v1/projects/{project}/datasets/big/versions",
            new StringContent("a,b\n1,2\n", System.Text.Encoding.UTF8, "text/csv"));
        Assert.Equal(System.Net.HttpStatusCode.Created, retry.StatusCode);
        // Only the retry's blob exists: the killed upload never got past the temp directory.
        Assert.Single(Directory.EnumerateFiles(Path.Combine(DataDirectory, "artifacts", "sha256"), "*", SearchOption.AllDirectories));
        AssertSqliteIntact();
    }

    /// <summary>A CSV body that sends 2 MB, signals, then trickles until the connection dies.</summary>
    private sealed class SlowCsv(TaskCompletionSource halfSent) : Stream
    {
        private long _sent;
        private bool _header;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_header)
            {
                _header = true;
                "a,b\n"u8.CopyTo(buffer.Span);
                return 4;
            }
            if (_sent > 2_000_000)
            {
                halfSent.TrySetResult();
                await Task.Delay(50, cancellationToken);
            }
            var n = Math.Min(buffer.Length, 8192) / 4 * 4;
            for (var i = 0; i < n; i += 4)
            {
                "1,2\n"u8.CopyTo(buffer.Span[i..]);
            }
            _sent += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _sent; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task KillDashNine_DuringTrackingWrites_EveryAcknowledgedBatchIsWhole_AndNoBatchIsHalfWritten()
    {
        const int writers = 3, pointsPerBatch = 25;
        string project, run;
        var acknowledged = Enumerable.Range(0, writers).Select(_ => new System.Collections.Concurrent.ConcurrentBag<int>()).ToArray();
        await using (var first = await ServerProcess.StartAsync(DataDirectory, Database))
        {
            var admin = first.Admin();
            using var created = await admin.PostAsJsonAsync("/v1/projects", new { name = "tracking-durable" });
            project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            var mlflow = $"/v1/projects/{project}/mlflow/api/2.0/mlflow";
            using var runCreated = await admin.PostAsJsonAsync($"{mlflow}/runs/create", new { experiment_id = "0", run_name = "killed" });
            run = (await runCreated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;

            // Writers log batches (a metric series slice plus one param each) as fast as they can until the process dies.
            var enough = new TaskCompletionSource();
            var loops = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                for (var batch = 0; ; batch++)
                {
                    var metrics = Enumerable.Range(0, pointsPerBatch).Select(i => new { key = $"m{w}", value = batch + i / 100.0, timestamp = 1_700_000_000_000L, step = batch * pointsPerBatch + i });
                    using var logged = await admin.PostAsJsonAsync($"{mlflow}/runs/log-batch",
                        new { run_id = run, metrics, @params = new[] { new { key = $"p{w}_{batch}", value = batch.ToString() } } });
                    logged.EnsureSuccessStatusCode();
                    acknowledged[w].Add(batch);
                    if (acknowledged.Sum(a => a.Count) >= 60)
                    {
                        enough.TrySetResult();
                    }
                }
            })).ToList();
            await enough.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await first.KillAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(loops));
        }

        await using var second = await ServerProcess.StartAsync(DataDirectory, Database);
        var stored = await second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/runs/{run}");
        var storedParams = stored.GetProperty("params").EnumerateObject().Select(p => p.Name).ToHashSet();
        for (var w = 0; w < writers; w++)
        {
            var history = await second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/runs/{run}/metrics/m{w}?limit=25000");
            var batches = history.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("step").GetInt64())
                .GroupBy(step => step / pointsPerBatch).ToDictionary(g => (int)g.Key, g => g.Count());
            // All or nothing per batch: a batch's points and its param were committed together.
            Assert.All(batches, b => Assert.Equal(pointsPerBatch, b.Value));
            Assert.All(batches.Keys, b => Assert.Contains($"p{w}_{b}", storedParams));
            Assert.Equal(batches.Count, storedParams.Count(p => p.StartsWith($"p{w}_", StringComparison.Ordinal)));
            // Nothing that was acknowledged is lost.
            Assert.All(acknowledged[w], b => Assert.True(batches.ContainsKey(b), $"acknowledged batch {b} of writer {w} is missing"));
        }
        // The run still takes writes after the restart.
        using var after = await second.Admin().PostAsJsonAsync($"/v1/projects/{project}/mlflow/api/2.0/mlflow/runs/log-metric",
            new { run_id = run, key = "after", value = 1.0, timestamp = 1_700_000_000_000L });
        after.EnsureSuccessStatusCode();
        AssertSqliteIntact();
    }

    [Fact]
    public async Task KillDashNine_MidModelUpload_LeavesNoVersionAndNoBlob_AndTheRetryWorks()
    {
        string project;
        await using (var first = await ServerProcess.StartAsync(DataDirectory, Database))
        {
            var admin = first.Admin();
            using var created = await admin.PostAsJsonAsync("/v1/projects", new { name = "models-durable" });
            project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            (await admin.PostAsJsonAsync($"/v1/projects/{project}/models", new { name = "big" })).EnsureSuccessStatusCode();
            var halfSent = new TaskCompletionSource();
            using var form = new System.Net.Http.MultipartFormDataContent();
            form.Add(new System.Net.Http.StreamContent(new SlowCsv(halfSent)), "file", "model.onnx");
            var upload = admin.PostAsync($"/v1/projects/{project}/models/big/versions", form);
            await halfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
            // Kill only once the server is writing the file (the first 2 MB may still sit in socket buffers).
            var scratch = Path.Combine(DataDirectory, "artifacts", "tmp");
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!Directory.EnumerateFiles(scratch, "model", SearchOption.AllDirectories).Any(f => new FileInfo(f).Length > 0))
            {
                Assert.True(DateTime.UtcNow < deadline, "the server never started writing the upload");
                await Task.Delay(20);
            }
            await first.KillAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => upload);
        }
        await using var second = await ServerProcess.StartAsync(DataDirectory, Database);
        var versions = await second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/big/versions");
        Assert.Equal(0, versions.GetArrayLength());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(DataDirectory, "artifacts", "sha256"), "*", SearchOption.AllDirectories));
        // The half-written file stayed in the store's scratch space (swept once it is an hour old), not in the system temp.
        Assert.NotEmpty(Directory.EnumerateDirectories(Path.Combine(DataDirectory, "artifacts", "tmp"), "scratch-*"));

        using var retryForm = new System.Net.Http.MultipartFormDataContent();
        retryForm.Add(new System.Net.Http.ByteArrayContent(File.ReadAllBytes(Path.Combine(Repository.Models, "linear.onnx"))), "file", "linear.onnx");
        using var retry = await second.Admin().PostAsync($"/v1/projects/{project}/models/big/versions", retryForm);
        Assert.Equal(System.Net.HttpStatusCode.Created, retry.StatusCode);
        Assert.Single(Directory.EnumerateFiles(Path.Combine(DataDirectory, "artifacts", "sha256"), "*", SearchOption.AllDirectories));
        AssertSqliteIntact();
    }

    [Fact]
    public async Task KillDashNine_WhileServing_TheEndpointComesBackAfterRestart_AndAChangeInFlightIsNotLost()
    {
        string project;
        var body = new System.Net.Http.StringContent("""{"inputs": {"x": [[1, 2, 3, 4]]}}""", System.Text.Encoding.UTF8, "application/json");
        await using (var first = await ServerProcess.StartAsync(DataDirectory, Database))
        {
            var admin = first.Admin();
            using var created = await admin.PostAsJsonAsync("/v1/projects", new { name = "serving-durable" });
            project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            (await admin.PostAsJsonAsync($"/v1/projects/{project}/models", new { name = "golden" })).EnsureSuccessStatusCode();
            for (var i = 0; i < 2; i++)
            {
                using var form = new System.Net.Http.MultipartFormDataContent();
                form.Add(new System.Net.Http.ByteArrayContent(File.ReadAllBytes(Path.Combine(Repository.Models, "linear.onnx"))), "file", "linear.onnx");
                (await admin.PostAsync($"/v1/projects/{project}/models/golden/versions", form)).EnsureSuccessStatusCode();
            }
            (await admin.PostAsJsonAsync($"/v1/projects/{project}/endpoints", new { name = "golden", deployments = new[] { new { model = "golden", version = 1 } } })).EnsureSuccessStatusCode();
            await WaitServedAsync(admin, project, 1);
            // Under load, acknowledge a change to version 2 and die before (or while) it loads.
            var load = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
            {
                for (var i = 0; i < 200; i++)
                {
                    try { (await admin.PostAsync($"/v1/projects/{project}/endpoints/golden/predict", body)).Dispose(); } catch (HttpRequestException) { return; }
                }
            })).ToList();
            using var changed = await admin.PutAsJsonAsync($"/v1/projects/{project}/endpoints/golden", new { deployments = new[] { new { model = "golden", version = 2 } } });
            Assert.Equal(System.Net.HttpStatusCode.Accepted, changed.StatusCode);
            await first.KillAsync();
            await Task.WhenAll(load);
        }
        await using var second = await ServerProcess.StartAsync(DataDirectory, Database);
        // The restarted node loads what the database says: the acknowledged change, not the old version.
        await WaitServedAsync(second.Admin(), project, 2);
        using var answer = await second.Admin().PostAsync($"/v1/projects/{project}/endpoints/golden/predict",
            new System.Net.Http.StringContent("""{"inputs": {"x": [[1, 2, 3, 4]]}}""", System.Text.Encoding.UTF8, "application/json"));
        var json = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, json.GetProperty("version").GetInt32());
        Assert.Equal(4f, json.GetProperty("outputs").GetProperty("y")[0][0].GetSingle(), 4);
        AssertSqliteIntact();
    }

    private static async Task WaitServedAsync(HttpClient admin, string project, int version)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var endpoint = await admin.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/golden");
            if (endpoint.GetProperty("status").GetString() == "ready" && endpoint.GetProperty("serving").EnumerateArray().Any(s => s.GetProperty("version").GetInt32() == version)
                && endpoint.GetProperty("update").ValueKind == JsonValueKind.Null)
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, "not served in time: " + endpoint);
            await Task.Delay(100);
        }
    }

    /// <summary>An asynchronous OCR of a long TIFF is a job: killed mid-document, it runs again after the restart,
    /// every page comes back in order, and the pages are billed once although the work ran twice.</summary>
    [Fact]
    public async Task KillDashNine_MidOcrOperation_TheOperationFinishesAfterRestart_AndIsBilledOnce()
    {
        // Enough pages (~2 s of OCR) that the kill lands mid-document even on a fast machine.
        const int pages = 40;
        var tiff = AiTests.MultiPageTiff([.. Enumerable.Range(1, pages).Select(i => AiTests.RenderText($"PAGE NUMBER {i}", "THE QUICK BROWN FOX JUMPS"))]);
        string project, location;
        await using (var first = await ServerProcess.StartAsync(DataDirectory, Database))
        {
            var admin = first.Admin();
            using var created = await admin.PostAsJsonAsync("/v1/projects", new { name = "ocr-durable" });
            project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            var body = new System.Net.Http.ByteArrayContent(tiff);
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/tiff");
            using var accepted = await admin.PostAsync($"/v1/projects/{project}/ai/ocr", body);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
            location = accepted.Headers.GetValues("Operation-Location").Single();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            JsonElement seen;
            while ((seen = await admin.GetFromJsonAsync<JsonElement>(location)).GetProperty("percentDone").GetDouble() < 100.0 / pages)
            {
                Assert.True(DateTime.UtcNow < deadline, "the operation did not start");
                await Task.Delay(20);
            }
            await first.KillAsync();
            Assert.True(seen.GetProperty("percentDone").GetDouble() < 50, "killed too late to test a resume: " + seen);
        }
        await using var second = await ServerProcess.StartAsync(DataDirectory, Database);
        var end = DateTime.UtcNow.AddSeconds(120);
        JsonElement operation;
        while ((operation = await second.Admin().GetFromJsonAsync<JsonElement>(location)).GetProperty("status").GetString() is "notStarted" or "running")
        {
            Assert.True(DateTime.UtcNow < end, "the operation did not finish after the restart: " + operation);
            await Task.Delay(200);
        }
        Assert.True(operation.GetProperty("status").GetString() == "succeeded", operation.ToString());
        var texts = operation.GetProperty("result").GetProperty("pages").EnumerateArray().Select(p => p.GetProperty("text").GetString()!).ToList();
        Assert.Equal(pages, texts.Count);
        Assert.All(texts, (text, i) => Assert.Contains($"PAGE NUMBER {i + 1}", text));
        var job = await second.Admin().GetFromJsonAsync<JsonElement>(location.Replace("/ai/operations/", "/jobs/"));
        Assert.Equal(2, job.GetProperty("attempts").GetInt32());

        // Usage is journaled before the operation is marked succeeded; a report moves it into the database; the pages appear once.
        (await second.Admin().GetAsync($"/v1/projects/{project}/usage")).EnsureSuccessStatusCode();
        Assert.Equal([("ocr", "pages", (double)pages)], await UsageAsync(project));
        AssertSqliteIntact();
    }

    /// <summary>
    /// Metered calls race a kill -9: every call that was answered is billed (usage is durable before the answer), none
    /// is billed twice, and the hour/day/month aggregates agree with the events they were written with.
    /// </summary>
    [Fact]
    public async Task KillDashNine_DuringMeteredCalls_EveryAnsweredCallIsBilled_AndNoneTwice()
    {
        using var blank = new OpenCvSharp.Mat(48, 64, OpenCvSharp.MatType.CV_8UC1, OpenCvSharp.Scalar.White);
        var png = blank.ImEncode(".png");
        string project;
        var answered = 0;
        var sent = 0;
        await using (var first = await ServerProcess.StartAsync(DataDirectory, Database))
        {
            var admin = first.Admin();
            using var created = await admin.PostAsJsonAsync("/v1/projects", new { name = "metered" });
            project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            using var stop = new CancellationTokenSource();
            var callers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                using var client = first.Admin();
                while (!stop.IsCancellationRequested)
                {
                    var body = new System.Net.Http.ByteArrayContent(png);
                    body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
                    Interlocked.Increment(ref sent);
                    try
                    {
                        using var response = await client.PostAsync($"/v1/projects/{project}/ai/faces", body);
                        if (response.IsSuccessStatusCode) Interlocked.Increment(ref answered);
                    }
                    catch (HttpRequestException)
                    {
                        return; // the server is gone
                    }
                }
            })).ToList();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Volatile.Read(ref answered) < 40)
            {
                Assert.True(DateTime.UtcNow < deadline, "the metered calls did not run");
                await Task.Delay(10);
            }
            await first.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(callers);
        }
        await using var second = await ServerProcess.StartAsync(DataDirectory, Database);
        // The report first: it waits until the journal the killed process left is in the database.
        var report = await second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?groupBy=service");
        var events = await UsageAsync(project);
        Assert.InRange(events.Count, answered, sent);
        Assert.All(events, e => Assert.Equal(("faces", "images", 1.0), e));
        Assert.Equal(events.Count, report.GetProperty("rows").EnumerateArray().Single().GetProperty("quantity").GetDouble());
        var monthly = await second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?groupBy=month");
        Assert.Equal(events.Count, monthly.GetProperty("rows").EnumerateArray().Single().GetProperty("quantity").GetDouble());
        AssertSqliteIntact();
    }

    /// <summary>Usage rows of a project, read from the database the server wrote.</summary>
    private async Task<List<(string Service, string Meter, double Quantity)>> UsageAsync(string project)
    {
        const string sql = "SELECT \"Service\", \"Meter\", \"Quantity\" FROM usage_events WHERE \"ProjectId\" = @p ORDER BY \"Id\"";
        System.Data.Common.DbConnection connection = Database is null
            ? new SqliteConnection($"Data Source={Path.Combine(DataDirectory, "gureum.db")};Pooling=False")
            : new Npgsql.NpgsqlConnection(Database);
        await using (connection)
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            var parameter = command.CreateParameter();
            parameter.ParameterName = "p";
            parameter.Value = project;
            command.Parameters.Add(parameter);
            var rows = new List<(string, string, double)>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetString(1), reader.GetDouble(2)));
            return rows;
        }
    }

    [Fact]
    public async Task KillDashNine_MidRetraining_TheRunResumesWithItsOneChallenger_AndTheTriggerIsNeverRunTwice()
    {
        string project, runId;
        await using (var first = await ServerProcess.StartAsync(DataDirectory, Database))
        {
            var admin = first.Admin();
            using var created = await admin.PostAsJsonAsync("/v1/projects", new { name = "durable-retraining" });
            project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            (await admin.PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "titanic" })).Dispose();
            var csv = File.ReadAllLines(Path.Combine(Repository.Datasets, "titanic.csv"));
            using (var upload = await admin.PostAsync($"/v1/projects/{project}/datasets/titanic/versions",
                new StringContent(string.Join('\n', csv), System.Text.Encoding.UTF8, "text/csv")))
            {
                upload.EnsureSuccessStatusCode();
            }
            using var submitted = await admin.PostAsJsonAsync($"/v1/projects/{project}/training-jobs",
                new { dataset = "titanic", target = "survived", budgetSeconds = 3, ignoreColumns = new[] { "alive" } });
            var championJob = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            await WaitForAsync(admin, project, championJob, j => j.GetProperty("status").GetString() == "succeeded", TimeSpan.FromSeconds(90));
            (await admin.PostAsJsonAsync($"/v1/projects/{project}/models", new { name = "titanic" })).EnsureSuccessStatusCode();
            (await admin.PostAsJsonAsync($"/v1/projects/{project}/models/titanic/versions", new { trainingJob = championJob })).EnsureSuccessStatusCode();
            (await admin.PutAsJsonAsync($"/v1/projects/{project}/models/titanic/aliases/champion", new { version = 1 })).EnsureSuccessStatusCode();
            (await admin.PostAsJsonAsync($"/v1/projects/{project}/endpoints",
                new { name = "titanic", deployments = new[] { new { model = "titanic", alias = "champion" } } })).EnsureSuccessStatusCode();
            (await admin.PutAsJsonAsync($"/v1/projects/{project}/endpoints/titanic/retraining-policy",
                new { training = new { budgetSeconds = 20 }, requireApproval = false, smokeTest = new { samples = 0 } })).EnsureSuccessStatusCode();
            using var trigger = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/endpoints/titanic/retraining-policy/run");
            trigger.Headers.Add("Idempotency-Key", "nightly-2026-12-07");
            using var started = await admin.SendAsync(trigger);
            Assert.True(started.StatusCode == System.Net.HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
            runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            // Killed while the challenger trains: after its first trials are recorded.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var run = await admin.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/retraining-runs/{runId}");
                if (run.GetProperty("challengerTrainingJob").GetString() is { } challenger
                    && (await admin.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{challenger}/trials")).GetProperty("trials").GetArrayLength() >= 1)
                {
                    break;
                }
                Assert.True(DateTime.UtcNow < deadline, "the challenger did not start training: " + run);
                await Task.Delay(100);
            }
            await first.KillAsync();
        }
        await using var second = await ServerProcess.StartAsync(DataDirectory, Database);
        var again = second.Admin();
        var finished = DateTime.UtcNow.AddSeconds(150);
        JsonElement done;
        while ((done = await again.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/retraining-runs/{runId}")).GetProperty("status").GetString()
               is "queued" or "training" or "evaluating" or "approved" or "canary")
        {
            Assert.True(DateTime.UtcNow < finished, "the run did not finish after the restart: " + done);
            await Task.Delay(200);
        }
        Assert.True(done.GetProperty("status").GetString() is "promoted" or "not-better", done.ToString());
        var steps = done.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("step").GetString() + ":" + e.GetProperty("outcome").GetString()).ToList();
        Assert.Equal(1, steps.Count(s => s == "trigger:accepted"));
        Assert.Equal(1, steps.Count(s => s == "train:started"));
        Assert.Equal(1, steps.Count(s => s == "evaluate:better" || s == "evaluate:not-better"));
        // One champion and one challenger were trained; the challenger's job resumed rather than started over.
        var jobs = (await again.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, jobs.Count);
        var challengerJob = await again.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs/{done.GetProperty("challengerTrainingJob").GetString()}");
        Assert.Equal(2, challengerJob.GetProperty("attempts").GetInt32());
        // The same trigger presented again is the same run.
        using var replay = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/endpoints/titanic/retraining-policy/run");
        replay.Headers.Add("Idempotency-Key", "nightly-2026-12-07");
        using var replayed = await again.SendAsync(replay);
        Assert.Equal(runId, (await replayed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        Assert.Single((await again.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/titanic/retraining-runs")).GetProperty("items").EnumerateArray());
        AssertSqliteIntact();
    }

    private void AssertSqliteIntact()
    {
        if (Database is not null)
        {
            return;
        }
        using var connection = new SqliteConnection($"Data Source={Path.Combine(DataDirectory, "gureum.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check;";
        Assert.Equal("ok", command.ExecuteScalar());
    }
}
