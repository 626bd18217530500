using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

/// <summary>
/// Several Gureum nodes as separate processes on 127.0.0.1, one Orleans cluster on a throwaway PostgreSQL database and a
/// shared artifact directory. PostgreSQL lane only: cluster mode keeps its membership there.
/// </summary>
public sealed class ClusterTests : IAsyncLifetime
{
    private readonly string? _database = TestDatabase.Create();
    private readonly string _root = Directory.CreateTempSubdirectory("gureum-cluster-").FullName;
    private readonly List<ServerProcess> _nodes = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        TestDatabase.Drop(_database);
        Directory.Delete(_root, recursive: true);
    }

    private async Task<ServerProcess> StartNodeAsync(string name, params string[] labels)
    {
        var args = new List<string> { "--cluster", "--node-name", name, "--artifacts", Path.Combine(_root, "artifacts") };
        foreach (var label in labels) args.AddRange(["--label", label]);
        var node = await ServerProcess.StartAsync(Directory.CreateDirectory(Path.Combine(_root, name)).FullName, _database, [.. args]);
        _nodes.Add(node);
        return node;
    }

    private static async Task<JsonElement> WaitForAsync(Func<Task<JsonElement>> read, Func<JsonElement, bool> done, int seconds, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await read();
            if (done(value)) return value;
            Assert.True(DateTime.UtcNow < deadline, $"{what} did not happen in {seconds} s: {value}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task ThreeNodes_SeeEachOther_AnyAnswersAnyCall_AndTrainingRunsOnlyWhereItsLabelsAre()
    {
        Assert.SkipWhen(_database is null, "cluster mode needs PostgreSQL (the PostgreSQL lane runs it)");
        var first = await StartNodeAsync("n1", "zone=cloud");
        var others = await Task.WhenAll(StartNodeAsync("n2", "zone=cloud"), StartNodeAsync("n3", "zone=onprem", "sovereign=true"));
        var (second, third) = (others[0], others[1]);

        var nodes = await WaitForAsync(() => second.Admin().GetFromJsonAsync<JsonElement>("/v1/nodes"),
            n => n.EnumerateArray().Count(x => x.GetProperty("alive").GetBoolean()) == 3, 30, "three live nodes");
        var byName = nodes.EnumerateArray().ToDictionary(n => n.GetProperty("name").GetString()!);
        Assert.Equal("true", byName["n3"].GetProperty("labels").GetProperty("sovereign").GetString());
        Assert.Equal("cloud", byName["n1"].GetProperty("labels").GetProperty("zone").GetString());
        Assert.All(byName.Values, n => Assert.True(n.GetProperty("cores").GetInt32() >= 1 && n.GetProperty("memoryBytes").GetInt64() > 0));

        // Written through one node, read through another; files through the shared artifact directory.
        using var created = await first.Admin().PostAsJsonAsync("/v1/projects", new { name = "everywhere" });
        var project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal("everywhere", (await third.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}")).GetProperty("name").GetString());
        (await second.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "titanic" })).EnsureSuccessStatusCode();
        using (var upload = await second.Admin().PostAsync($"/v1/projects/{project}/datasets/titanic/versions",
            new StringContent(File.ReadAllText(Path.Combine(Repository.Datasets, "titanic.csv")), Encoding.UTF8, "text/csv")))
        {
            upload.EnsureSuccessStatusCode();
        }
        Assert.Equal(1, (await first.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/datasets/titanic/versions/1/profile"))
            .GetProperty("columns").EnumerateArray().Count(c => c.GetProperty("name").GetString() == "age"));

        // Sovereign data: submitted on a cloud node, trained only on the node labelled sovereign=true.
        using var submitted = await first.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs", new
        {
            dataset = "titanic", target = "survived", budgetSeconds = 3, ignoreColumns = new[] { "alive" }, requirements = new { labels = new { sovereign = "true" } },
        });
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, await submitted.Content.ReadAsStringAsync());
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var job = await WaitForAsync(() => second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs/{jobId}"),
            j => j.GetProperty("status").GetString() is "succeeded" or "failed", 120, "sovereign training");
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal("n3", job.GetProperty("node").GetString());
        // The model it made is read through another node from the shared artifacts.
        using (var model = await first.Admin().GetAsync($"/v1/projects/{project}/training-jobs/{jobId}/model"))
        {
            Assert.Equal(HttpStatusCode.OK, model.StatusCode);
        }

        // An endpoint placed on one on-premises replica: only n3 loads it; the others forward its requests there.
        (await first.Admin().PostAsJsonAsync($"/v1/projects/{project}/models", new { name = "titanic" })).EnsureSuccessStatusCode();
        (await first.Admin().PostAsJsonAsync($"/v1/projects/{project}/models/titanic/versions", new { trainingJob = jobId })).EnsureSuccessStatusCode();
        using (var deployed = await second.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints", new
        {
            name = "titanic", deployments = new[] { new { model = "titanic", version = 1 } },
            placement = new { replicas = 1, requirements = new { labels = new { zone = "onprem" } } },
        }))
        {
            Assert.True(deployed.StatusCode == HttpStatusCode.Accepted, await deployed.Content.ReadAsStringAsync());
        }
        await WaitForAsync(() => third.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/titanic"),
            e => e.GetProperty("status").GetString() == "ready", 60, "the endpoint loading on n3");
        var onFirst = await WaitForAsync(() => first.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/titanic"),
            e => e.GetProperty("status").GetString() == "elsewhere", 30, "n1 leaving the endpoint to n3");
        Assert.Empty(onFirst.GetProperty("serving").EnumerateArray());
        var row = new { pclass = 1, sex = "female", age = 29.0, sibsp = 0, parch = 0, fare = 80.0, embarked = "S", @class = "First", who = "woman",
            adult_male = false, deck = "B", embark_town = "Southampton", alone = true };
        foreach (var via in new[] { first, second, third })
        {
            using var answered = await via.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/titanic/predict", new { records = new[] { row } });
            var text = await answered.Content.ReadAsStringAsync();
            Assert.True(answered.StatusCode == HttpStatusCode.OK, text);
            Assert.Equal(1, JsonDocument.Parse(text).RootElement.GetProperty("version").GetInt32());
        }
        var served = (await third.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/titanic")).GetProperty("serving")[0];
        Assert.Equal(3, served.GetProperty("requests").GetInt64());
        // Its one replica takes every call, so it grants the key's whole rate limit (a forwarded call is taken once).
        using var keyCreated = await first.Admin().PostAsJsonAsync($"/v1/projects/{project}/keys", new { name = "limited", scopes = new[] { "predict" } });
        var limited = (await keyCreated.Content.ReadFromJsonAsync<JsonElement>())!;
        // Set through n3, which takes the calls: other nodes read changed limits within 5 s.
        (await third.Admin().PutAsJsonAsync($"/v1/projects/{project}/rate-limits", new
        {
            rateLimits = new[] { new { keyId = limited.GetProperty("key").GetProperty("id").GetString(), service = "predict:titanic", requestsPerSecond = 0.2, burst = 3 } },
        })).EnsureSuccessStatusCode();
        var limitedStarted = DateTime.UtcNow;
        var limitedPassed = 0;
        foreach (var via in new[] { first, second, third, first, second, third })
        {
            using var client = new HttpClient { BaseAddress = new Uri(via.Url) };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", limited.GetProperty("secret").GetString());
            using var answer = await client.PostAsJsonAsync($"/v1/projects/{project}/endpoints/titanic/predict", new { records = new[] { row } });
            Assert.True(answer.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, await answer.Content.ReadAsStringAsync());
            if (answer.StatusCode == HttpStatusCode.OK) limitedPassed++;
        }
        Assert.InRange(limitedPassed, 3, 3 + (int)Math.Ceiling((DateTime.UtcNow - limitedStarted).TotalSeconds * 0.2) + 1);
        // A placement no live node meets: 503 saying so, from any node.
        (await second.Admin().PutAsJsonAsync($"/v1/projects/{project}/endpoints/titanic", new
        {
            deployments = new[] { new { model = "titanic", version = 1 } }, placement = new { requirements = new { labels = new { zone = "moon" } } },
        })).EnsureSuccessStatusCode();
        await WaitForAsync(() => third.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/titanic"),
            e => e.GetProperty("status").GetString() == "elsewhere", 30, "n3 unloading the endpoint");
        using (var nowhere = await first.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/titanic/predict", new { records = new[] { row } }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, nowhere.StatusCode);
            Assert.Contains("zone=moon", await nowhere.Content.ReadAsStringAsync());
        }

        // Nobody has a GPU: such a job waits, saying why, and runs nowhere.
        using var gpu = await second.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs",
            new { dataset = "titanic", target = "survived", budgetSeconds = 3, requirements = new { gpu = true } });
        var gpuJob = (await gpu.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var waiting = await WaitForAsync(() => third.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs/{gpuJob}"),
            j => j.GetProperty("message").GetString()!.Contains("waiting for a node with a GPU", StringComparison.Ordinal), 20, "the GPU job's waiting note");
        Assert.Equal("queued", waiting.GetProperty("status").GetString());
        await Problems.AssertFieldErrorAsync(await first.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs",
            new { dataset = "titanic", target = "survived", requirements = new { labels = new Dictionary<string, string> { ["zone name"] = "x" } } }), "requirements.labels");
    }

    [Fact]
    public async Task KillingTheNodeThatRunsATraining_ResumesItOnAnotherNode_WithinBoundedTime_KeepingItsTrials()
    {
        Assert.SkipWhen(_database is null, "cluster mode needs PostgreSQL (the PostgreSQL lane runs it)");
        var first = await StartNodeAsync("a");
        var second = await StartNodeAsync("b");
        await WaitForAsync(() => first.Admin().GetFromJsonAsync<JsonElement>("/v1/nodes"),
            n => n.EnumerateArray().Count(x => x.GetProperty("alive").GetBoolean()) == 2, 30, "two live nodes");
        using var created = await first.Admin().PostAsJsonAsync("/v1/projects", new { name = "survivor" });
        var project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        (await first.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "titanic" })).EnsureSuccessStatusCode();
        using (var upload = await first.Admin().PostAsync($"/v1/projects/{project}/datasets/titanic/versions",
            new StringContent(File.ReadAllText(Path.Combine(Repository.Datasets, "titanic.csv")), Encoding.UTF8, "text/csv")))
        {
            upload.EnsureSuccessStatusCode();
        }
        using var submitted = await first.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs",
            new { dataset = "titanic", target = "survived", budgetSeconds = 30, ignoreColumns = new[] { "alive" } });
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        // Killed after its first trial, so that budget is left for the survivor to go on with (LightGBM fits run one at
        // a time, ~6 s each on a loaded machine: with two trials first, the resumed attempt had none left and stopped).
        var trialsBefore = (await WaitForAsync(() => second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{jobId}/trials"),
            t => t.GetProperty("trials").GetArrayLength() >= 1, 60, "a first trial")).GetProperty("trials").GetArrayLength();
        var victimName = (await second.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs/{jobId}")).GetProperty("node").GetString();
        var (victim, survivor) = victimName == "a" ? (first, second) : (second, first);
        await victim.KillAsync();

        var started = DateTime.UtcNow;
        var done = await WaitForAsync(() => survivor.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs/{jobId}"),
            j => j.GetProperty("status").GetString() is "succeeded" or "failed", 120, "the training's resumption");
        Assert.True(done.GetProperty("status").GetString() == "succeeded", done.ToString());
        Assert.NotEqual(victimName, done.GetProperty("node").GetString());
        Assert.Equal(2, done.GetProperty("attempts").GetInt32());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(90), $"finished {(DateTime.UtcNow - started).TotalSeconds:0} s after the kill");
        // The first attempt's trials are kept and numbered on; the survivor continued the search and made the one model.
        var trials = (await survivor.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{jobId}/trials?orderBy=number"))
            .GetProperty("trials").EnumerateArray().ToList();
        Assert.True(trials.Count(t => t.GetProperty("attempt").GetInt32() == 1) >= trialsBefore);
        Assert.Contains(trials, t => t.GetProperty("attempt").GetInt32() == 2);
        Assert.Equal(Enumerable.Range(1, trials.Count), trials.Select(t => t.GetProperty("number").GetInt32()));
        using (var model = await survivor.Admin().GetAsync($"/v1/projects/{project}/training-jobs/{jobId}/model"))
        {
            Assert.Equal(HttpStatusCode.OK, model.StatusCode);
        }
        // Billed once, when it ended (the usage report moves the survivor's journal first).
        (await survivor.Admin().GetAsync($"/v1/projects/{project}/usage")).EnsureSuccessStatusCode();
        await using (var connection = new Npgsql.NpgsqlConnection(_database))
        {
            await connection.OpenAsync();
            await using var count = new Npgsql.NpgsqlCommand("""SELECT count(*) FROM usage_events WHERE "ProjectId" = @p AND "Service" = 'training'""", connection);
            count.Parameters.AddWithValue("p", project);
            Assert.Equal(1L, (long)(await count.ExecuteScalarAsync())!);
        }
        var nodes = await survivor.Admin().GetFromJsonAsync<JsonElement>("/v1/nodes");
        Assert.False(nodes.EnumerateArray().Single(n => n.GetProperty("name").GetString() == victimName).GetProperty("alive").GetBoolean());
    }

    [Fact]
    public async Task RollingRestart_AndANodeKilled_UnderSteadyPredictionLoad_FailNoRequest()
    {
        Assert.SkipWhen(_database is null, "cluster mode needs PostgreSQL (the PostgreSQL lane runs it)");
        var names = new[] { "r1", "r2", "r3" };
        var servers = new ServerProcess[3];
        servers[0] = await StartNodeAsync(names[0]);
        (servers[1], servers[2]) = (await StartNodeAsync(names[1]), await StartNodeAsync(names[2]));
        var admin = servers[0].Admin();
        using var created = await admin.PostAsJsonAsync("/v1/projects", new { name = "steady" });
        var project = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        (await admin.PostAsJsonAsync($"/v1/projects/{project}/models", new { name = "lin" })).EnsureSuccessStatusCode();
        using (var form = new MultipartFormDataContent())
        {
            var file = new ByteArrayContent(File.ReadAllBytes(Path.Combine(Repository.Models, "linear.onnx")));
            file.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            form.Add(file, "file", "linear.onnx");
            (await admin.PostAsync($"/v1/projects/{project}/models/lin/versions", form)).EnsureSuccessStatusCode();
        }
        (await admin.PostAsJsonAsync($"/v1/projects/{project}/endpoints", new { name = "lin", deployments = new[] { new { model = "lin", version = 1 } } })).EnsureSuccessStatusCode();
        foreach (var server in servers)
        {
            await WaitForAsync(() => server.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/lin"),
                e => e.GetProperty("status").GetString() == "ready", 60, "the endpoint loading on every node");
        }

        // Rate limits hold for the cluster, not per node: each of the three nodes grants a key a third of its rate and
        // burst, so 30 calls spread over the nodes get the rule's burst of 6 and its refill, not three times that.
        await WaitForAsync(() => admin.GetFromJsonAsync<JsonElement>("/v1/nodes"),
            n => n.EnumerateArray().Count(x => x.GetProperty("alive").GetBoolean()) == 3, 30, "three live nodes");
        await Task.Delay(TimeSpan.FromSeconds(4)); // every node's next heartbeat counts the three
        using var keyCreated = await admin.PostAsJsonAsync($"/v1/projects/{project}/keys", new { name = "limited", scopes = new[] { "predict" } });
        var limited = (await keyCreated.Content.ReadFromJsonAsync<JsonElement>())!;
        (await admin.PutAsJsonAsync($"/v1/projects/{project}/rate-limits", new
        {
            rateLimits = new[] { new { keyId = limited.GetProperty("key").GetProperty("id").GetString(), service = "predict:lin", requestsPerSecond = 1.0, burst = 6 } },
        })).EnsureSuccessStatusCode();
        var limitedStarted = DateTime.UtcNow;
        var limitedAnswers = new List<HttpStatusCode>();
        for (var i = 0; i < 30; i++)
        {
            using var client = new HttpClient { BaseAddress = new Uri(servers[i % 3].Url) };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", limited.GetProperty("secret").GetString());
            using var answer = await client.PostAsync($"/v1/projects/{project}/endpoints/lin/predict",
                new StringContent("{\"inputs\": {\"x\": [[1, 2, 3, 4]]}}", Encoding.UTF8, "application/json"));
            limitedAnswers.Add(answer.StatusCode);
        }
        var limitedPassed = limitedAnswers.Count(c => c == HttpStatusCode.OK);
        Assert.All(limitedAnswers, c => Assert.True(c is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, c.ToString()));
        Assert.InRange(limitedPassed, 6, 6 + (int)Math.Ceiling((DateTime.UtcNow - limitedStarted).TotalSeconds) + 3);

        await using var front = new RoundRobinFront(servers.Select(s => s.Url));
        using var stop = new CancellationTokenSource();
        var body = "{\"inputs\": {\"x\": [[1, 2, 3, 4]]}}";
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await front.PredictAsync($"/v1/projects/{project}/endpoints/lin/predict", body);
            }
        })).ToList();

        // One node at a time: SIGTERM (it turns unready, finishes what it has, exits), start it again, wait until it serves.
        for (var i = 0; i < servers.Length; i++)
        {
            await Task.Delay(1000);
            Assert.Equal(0, await servers[i].TerminateAsync(TimeSpan.FromSeconds(40)));
            servers[i] = await StartNodeAsync(names[i]);
            front.Replace(i, servers[i].Url);
        }
        await Task.Delay(1000);
        // And a node that dies without warning: its in-flight requests are retried elsewhere by the front. It dies
        // holding usage not yet moved into the database (moved every second), so that adoption has work to do: a
        // loaded machine can leave its journal empty for a moment, so the kill waits for a non-empty one.
        var orphan = Path.Combine(_root, "artifacts", "usage", names[1]);
        long Journaled() => Directory.EnumerateFiles(orphan).Where(f => f.EndsWith(".current", StringComparison.Ordinal) || f.EndsWith(".sealed", StringComparison.Ordinal))
            .Sum(f => new FileInfo(f) is { Exists: true } file ? file.Length : 0); // a sealed file may be moved meanwhile
        var journalDeadline = DateTime.UtcNow.AddSeconds(20);
        while (Journaled() == 0 && DateTime.UtcNow < journalDeadline) await Task.Delay(20);
        await servers[1].KillAsync();
        Assert.True(Journaled() > 0, "the killed node left no journaled usage to adopt");
        await Task.Delay(2000);
        stop.Cancel();
        await Task.WhenAll(load);

        Assert.True(front.Failures.IsEmpty, $"{front.Failures.Count} failed of {front.Succeeded}: {string.Join("; ", front.Failures.Take(5))}");
        Assert.True(front.Succeeded > 200, $"only {front.Succeeded} predictions answered");

        // Every answered prediction is billed once, the killed node's last second included: a live node adopts the
        // journal it left in the shared directory. A request retried after its connection broke may have run twice.
        static double Predictions(JsonElement usage) => usage.GetProperty("rows").EnumerateArray()
            .Where(r => r.GetProperty("service").GetString() == "predict:lin").Sum(r => r.GetProperty("quantity").GetDouble());
        // The limited key's answered calls above were predictions of this endpoint too.
        var answered = front.Succeeded + limitedPassed;
        var billed = await WaitForAsync(() => servers[0].Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?groupBy=service"),
            u => Predictions(u) >= answered, 60, $"billing all {answered} answered predictions");
        Assert.InRange(Predictions(billed), answered, answered + front.Retried);
        Assert.False(File.Exists(Path.Combine(orphan, "journal.current")), "the killed node's journal was not adopted");
        Assert.Empty(Directory.GetFiles(orphan, "*.sealed"));
    }

    /// <summary>
    /// What a load balancer in front of the nodes does: round-robin over nodes whose /health/ready says ready (checked
    /// every 200 ms), and a request whose connection failed before any answer tried again on the next node. Any answer
    /// other than 200 is a failure.
    /// </summary>
    private sealed class RoundRobinFront : IAsyncDisposable
    {
        private readonly string[] _urls;
        private readonly bool[] _ready;
        private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(30) };
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _checks;
        private int _next;
        private long _succeeded;
        private long _retried;

        public RoundRobinFront(IEnumerable<string> urls)
        {
            _urls = [.. urls];
            _ready = [.. _urls.Select(_ => true)];
            _client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GureumApp.AdminKey);
            _checks = Task.Run(CheckAsync);
        }

        public System.Collections.Concurrent.ConcurrentQueue<string> Failures { get; } = new();
        public long Succeeded => Interlocked.Read(ref _succeeded);
        /// <summary>Requests sent again after their connection broke (the first node may have run them).</summary>
        public long Retried => Interlocked.Read(ref _retried);

        public void Replace(int index, string url)
        {
            lock (_urls) _urls[index] = url;
        }

        private async Task CheckAsync()
        {
            using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
            while (!_stop.IsCancellationRequested)
            {
                for (var i = 0; i < _urls.Length; i++)
                {
                    string url;
                    lock (_urls) url = _urls[i];
                    try
                    {
                        using var response = await probe.GetAsync(url + "/health/ready", _stop.Token);
                        _ready[i] = response.IsSuccessStatusCode;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        _ready[i] = false;
                    }
                }
                await Task.Delay(200);
            }
        }

        public async Task PredictAsync(string path, string body)
        {
            for (var attempt = 0; attempt < 20; attempt++)
            {
                var i = (int)((uint)Interlocked.Increment(ref _next) % _urls.Length);
                if (!_ready[i]) continue;
                string url;
                lock (_urls) url = _urls[i];
                try
                {
                    using var response = await _client.PostAsync(url + path, new StringContent(body, Encoding.UTF8, "application/json"));
                    if (response.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref _succeeded);
                    else Failures.Enqueue($"{(int)response.StatusCode} from {url}: {await response.Content.ReadAsStringAsync()}");
                    return;
                }
                catch (HttpRequestException)
                {
                    _ready[i] = false; // the connection failed before an answer: the next node gets it
                    Interlocked.Increment(ref _retried);
                }
            }
            await Task.Delay(50); // no node ready this moment
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            try
            {
                await _checks;
            }
            catch (OperationCanceledException)
            {
            }
            _client.Dispose();
        }
    }
}
