using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

/// <summary>
/// Serving through the real server: endpoints over registered ONNX and AutoML models, Gureum's /predict and the Open
/// Inference Protocol, traffic splits, shadows, alias following, zero-downtime swaps, batching and load shedding, and
/// every bad input refused with the tensor or field named.
/// </summary>
public sealed class ServingTests(ServingTests.App app) : IClassFixture<ServingTests.App>
{
    /// <summary>Endpoints refresh every 200 ms here, so alias moves show up quickly.</summary>
    public sealed class App() : GureumApp(new Dictionary<string, string?>
    {
        ["Gureum:Serving:RefreshInterval"] = "00:00:00.200",
        ["Gureum:Serving:UsageFlushInterval"] = "00:00:00.500",
    });

    // linear.onnx: y = x·W + b with W[i][j] = (i+1)(j+1)/10 and b = [1, -1] (see testdata/models/README).
    private static float[] Linear(float[] x)
    {
        var s = x.Select((v, i) => v * (i + 1)).Sum() / 10f;
        return [s * 1 + 1, s * 2 - 1];
    }

    private static MultipartFormDataContent Upload(string file)
    {
        var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(File.ReadAllBytes(Path.Combine(Repository.Models, file)));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(content, "file", file);
        return form;
    }

    /// <summary>A project with model <paramref name="model"/> holding one version per file.</summary>
    private async Task<string> ProjectWithVersionsAsync(string model, params string[] files)
    {
        var project = await app.CreateProjectAsync();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models", new { name = model })).EnsureSuccessStatusCode();
        foreach (var file in files)
        {
            using var uploaded = await app.Admin().PostAsync($"/v1/projects/{project}/models/{model}/versions", Upload(file));
            Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
        }
        return project;
    }

    private async Task<JsonElement> DeployAsync(string project, object request, HttpClient? client = null)
    {
        using var created = await (client ?? app.Admin()).PostAsJsonAsync($"/v1/projects/{project}/endpoints", request);
        var body = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Accepted, body);
        var name = JsonDocument.Parse(body).RootElement.GetProperty("name").GetString()!;
        return await WaitReadyAsync(project, name);
    }

    private async Task<JsonElement> WaitReadyAsync(string project, string name, Func<JsonElement, bool>? until = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var endpoint = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/{name}");
            var status = endpoint.GetProperty("status").GetString();
            Assert.NotEqual("failed", status);
            if (status == "ready" && endpoint.GetProperty("update").ValueKind == JsonValueKind.Null && (until?.Invoke(endpoint) ?? true)) return endpoint;
            Assert.True(DateTime.UtcNow < deadline, "endpoint not ready in time: " + endpoint);
            await Task.Delay(100);
        }
    }

    private Task<HttpResponseMessage> PredictAsync(string project, string endpoint, string json, HttpClient? client = null) =>
        (client ?? app.Admin()).PostAsync($"/v1/projects/{project}/endpoints/{endpoint}/predict", new StringContent(json, Encoding.UTF8, "application/json"));

    private static string LinearRows(params float[][] rows) => JsonSerializer.Serialize(new { inputs = new { x = rows } });

    [Fact]
    public async Task Metrics_CountRequestsRowsAndLatencyPerVersion_OverAWindow_WithASeriesForCharts()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx", "linear.onnx");
        await DeployAsync(project, new { name = "watched", deployments = new[] { new { model = "golden", version = 1, weight = 50.0 }, new { model = "golden", version = 2, weight = 50.0 } } });
        for (var i = 0; i < 40; i++) (await PredictAsync(project, "watched", LinearRows([1, 2, 3, 4], [5, 6, 7, 8]))).EnsureSuccessStatusCode();
        // A refused input is the caller's error, not the model's: counted as a request, not as an error.
        Assert.Equal(HttpStatusCode.BadRequest, (await PredictAsync(project, "watched", "{\"inputs\": {\"x\": [[1]]}}")).StatusCode);

        // Counts reach the database every UsageFlushInterval (0.5 s here).
        var deadline = DateTime.UtcNow.AddSeconds(20);
        JsonElement metrics;
        while ((metrics = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/watched/metrics?window=15m&buckets=15"))
               .GetProperty("versions").EnumerateArray().Sum(v => v.GetProperty("requests").GetInt64()) < 41)
        {
            Assert.True(DateTime.UtcNow < deadline, "the counts did not arrive: " + metrics);
            await Task.Delay(200);
        }
        var versions = metrics.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal([1, 2], versions.Select(v => v.GetProperty("version").GetInt32()).Order());
        Assert.Equal(80, versions.Sum(v => v.GetProperty("rows").GetInt64()));
        Assert.All(versions, v =>
        {
            Assert.Equal(0, v.GetProperty("errors").GetInt64());
            var latency = v.GetProperty("latencyMs");
            Assert.True(latency.GetProperty("p50").GetDouble() <= latency.GetProperty("p99").GetDouble());
            Assert.True(latency.GetProperty("mean").GetDouble() > 0);
        });
        Assert.Equal(60, metrics.GetProperty("bucketSeconds").GetInt32());
        Assert.Equal(41, metrics.GetProperty("series").EnumerateArray().Sum(p => p.GetProperty("requests").GetInt64()));
        // Counts per status, and the batches the batcher ran (each request alone here: 2 rows per batch at most).
        Assert.Equal(40, versions.Sum(v => v.GetProperty("statuses").GetProperty("200").GetInt64()));
        Assert.Equal(1, versions.Sum(v => v.GetProperty("statuses").TryGetProperty("400", out var refused) ? refused.GetInt64() : 0));
        Assert.All(versions, v => Assert.InRange(v.GetProperty("meanBatchSize").GetDouble(), 2, 4));
        Assert.True(versions.Sum(v => v.GetProperty("batches").GetInt64()) >= 20);
        // The same counts on /metrics for Prometheus, labelled by endpoint and version.
        var scraped = await app.Admin().GetStringAsync("/metrics");
        var requestLines = scraped.Split('\n').Where(l => l.StartsWith("gureum_endpoint_requests_total{", StringComparison.Ordinal) && l.Contains("endpoint=\"watched\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, requestLines.Count);
        Assert.Equal(41, requestLines.Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)));

        await Problems.AssertFieldErrorAsync(await app.Admin().GetAsync($"/v1/projects/{project}/endpoints/watched/metrics?window=2y"), "window");
        await Problems.AssertFieldErrorAsync(await app.Admin().GetAsync($"/v1/projects/{project}/endpoints/watched/metrics?buckets=0"), "buckets");
        await Problems.AssertFieldErrorAsync(await app.Admin().GetAsync($"/v1/projects/{project}/endpoints/watched/metrics?from=2026-12-02&to=2026-12-01"), "to");
        await Problems.AssertProblemAsync(await app.Admin().GetAsync($"/v1/projects/{project}/endpoints/nowhere/metrics"), HttpStatusCode.NotFound, "not-found");
        // Drift needs a training profile: an uploaded ONNX model has none.
        await Problems.AssertProblemAsync(await app.Admin().GetAsync($"/v1/projects/{project}/endpoints/watched/drift"), HttpStatusCode.UnprocessableEntity, "unprocessable");
    }

    [Fact]
    public async Task Predictions_AreBilledPerRow_AndQuotasAndMaxConcurrencyRefuseWith429()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx");
        var (keyId, key) = await app.CreateKeyAsync(project, "predict");
        await DeployAsync(project, new { name = "billed", deployments = new[] { new { model = "golden", version = 1 } } });
        var client = app.Client(key);
        (await PredictAsync(project, "billed", LinearRows([1, 2, 3, 4], [0, 0, 0, 0], [5, 6, 7, 8]), client)).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/v2/models/billed/infer", new { inputs = new[] { new { name = "x", shape = new[] { 1, 4 }, datatype = "FP32", data = new[] { 1, 2, 3, 4 } } } }))
            .EnsureSuccessStatusCode();
        // A refused input is not billed.
        Assert.Equal(HttpStatusCode.BadRequest, (await PredictAsync(project, "billed", "{\"inputs\": {\"x\": [[1, 2]]}}", client)).StatusCode);

        var usage = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?groupBy=service,key");
        var row = Assert.Single(usage.GetProperty("rows").EnumerateArray());
        Assert.Equal("predict:billed", row.GetProperty("service").GetString());
        Assert.Equal(keyId, row.GetProperty("keyId").GetString());
        Assert.Equal("predictions", row.GetProperty("meter").GetString());
        Assert.Equal(4, row.GetProperty("quantity").GetDouble());

        // Five predictions a month on every endpoint: 4 are used, a request of 2 rows would pass it, one row fits.
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/quotas", new { quotas = new[] { new { keyId = (string?)null, service = "predict", meter = "predictions", limit = 5.0 } } }))
            .EnsureSuccessStatusCode();
        var refused = await Problems.AssertProblemAsync(await PredictAsync(project, "billed", LinearRows([1, 2, 3, 4], [1, 2, 3, 4]), client), HttpStatusCode.TooManyRequests, "quota-exceeded");
        Assert.Equal(4, refused.GetProperty("used").GetDouble());
        Assert.Equal(2, refused.GetProperty("requested").GetDouble());
        (await PredictAsync(project, "billed", LinearRows([1, 2, 3, 4]), client)).EnsureSuccessStatusCode();
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/quotas", new { quotas = Array.Empty<object>() })).EnsureSuccessStatusCode();

        // One request at a time: a burst is partly refused with 429 and Retry-After, never queued without bound.
        await Problems.AssertFieldErrorAsync(await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/endpoints/billed",
            new { deployments = new[] { new { model = "golden", version = 1 } }, maxConcurrency = 0 }), "maxConcurrency");
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/endpoints/billed", new { deployments = new[] { new { model = "golden", version = 1 } }, maxConcurrency = 1 }))
            .EnsureSuccessStatusCode();
        await WaitReadyAsync(project, "billed", e => e.GetProperty("spec").GetProperty("maxConcurrency").ValueKind == JsonValueKind.Number);
        var rows = LinearRows([.. Enumerable.Range(0, 1000).Select(i => new float[] { i, 1, 2, 3 })]);
        var burst = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => PredictAsync(project, "billed", rows, client)));
        Assert.All(burst, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, r.StatusCode.ToString()));
        var busy = burst.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(busy);
        Assert.Contains("maxConcurrency", (await Problems.AssertProblemAsync(busy[0], HttpStatusCode.TooManyRequests, "too-many-requests")).GetProperty("detail").GetString());
        Assert.Equal("1", busy[0].Headers.GetValues("Retry-After").Single());
    }

    [Fact]
    public async Task OnnxEndpoint_AnswersExactly_OverPredictAndTheOpenInferenceProtocol_NamingTheVersion()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx");
        var (_, key) = await app.CreateKeyAsync(project, "predict");
        var endpoint = await DeployAsync(project, new { name = "golden", deployments = new[] { new { model = "golden", version = 1 } } });
        var serving = Assert.Single(endpoint.GetProperty("serving").EnumerateArray());
        Assert.True(serving.GetProperty("memoryBytes").GetInt64() > 0);
        Assert.True(serving.GetProperty("batching").GetBoolean());

        using var predicted = await PredictAsync(project, "golden", LinearRows([1, 2, 3, 4], [0, 0, 0, 0], [-1.5f, 0.25f, 8, 2]), app.Client(key));
        var answer = await predicted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(predicted.StatusCode == HttpStatusCode.OK, answer.ToString());
        Assert.Equal("golden:1", predicted.Headers.GetValues("X-Gureum-Model-Version").Single());
        Assert.Equal(1, answer.GetProperty("version").GetInt32());
        var y = answer.GetProperty("outputs").GetProperty("y").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        Assert.Equal(3, y.Length);
        Assert.Equal(Linear([1, 2, 3, 4]), y[0], new FloatTolerance());
        Assert.Equal([1f, -1f], y[1], new FloatTolerance());
        Assert.Equal(Linear([-1.5f, 0.25f, 8, 2]), y[2], new FloatTolerance());

        // The same model over KServe V2: the key's project is the namespace, the endpoint the model.
        var v2 = app.Client(key);
        using var infer = await v2.PostAsJsonAsync("/v2/models/golden/infer", new
        {
            id = "req-7",
            inputs = new[] { new { name = "x", shape = new[] { 2, 4 }, datatype = "FP32", data = new float[] { 1, 2, 3, 4, 0, 0, 0, 0 } } },
        });
        var inferred = await infer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(infer.StatusCode == HttpStatusCode.OK, inferred.ToString());
        Assert.Equal("golden", inferred.GetProperty("model_name").GetString());
        Assert.Equal("1", inferred.GetProperty("model_version").GetString());
        Assert.Equal("req-7", inferred.GetProperty("id").GetString());
        var output = Assert.Single(inferred.GetProperty("outputs").EnumerateArray());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([2L, 2L], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal([4f, 5f, 1f, -1f], output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()), new FloatTolerance());

        using var pinned = await v2.PostAsJsonAsync("/v2/models/golden/versions/1/infer", new { inputs = new[] { new { name = "x", shape = new[] { 1, 4 }, datatype = "FP32", data = new[] { 1, 2, 3, 4 } } } });
        Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        var metadata = await v2.GetFromJsonAsync<JsonElement>("/v2/models/golden");
        Assert.Equal("onnxruntime_onnx", metadata.GetProperty("platform").GetString());
        Assert.Equal("x", metadata.GetProperty("inputs")[0].GetProperty("name").GetString());
        Assert.Equal("FP32", metadata.GetProperty("inputs")[0].GetProperty("datatype").GetString());
        Assert.Equal(HttpStatusCode.OK, (await v2.GetAsync("/v2/models/golden/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.Client().GetAsync("/v2/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.Client().GetAsync("/v2/health/ready")).StatusCode);

        // The protocol's error shape, and the namespace: another project's key sees no such model.
        using var unknown = await v2.PostAsJsonAsync("/v2/models/nope/infer", new { inputs = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("nope", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        var other = await app.CreateProjectAsync();
        var (_, foreign) = await app.CreateKeyAsync(other, "predict");
        Assert.Equal(HttpStatusCode.NotFound, (await app.Client(foreign).PostAsJsonAsync("/v2/models/golden/infer", new { inputs = Array.Empty<object>() })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await PredictAsync(project, "golden", LinearRows([1, 2, 3, 4]), app.Client(foreign))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.Client().PostAsJsonAsync("/v2/models/golden/infer", new { inputs = Array.Empty<object>() })).StatusCode);
        var (_, narrow) = await app.CreateKeyAsync(project, "ai");
        Assert.Equal(HttpStatusCode.Forbidden, (await app.Client(narrow).PostAsJsonAsync("/v2/models/golden/infer", new { inputs = Array.Empty<object>() })).StatusCode);
        // An admin key has no project of its own: it names one, or hears how to.
        using var admin = await app.Admin().PostAsJsonAsync("/v2/models/golden/infer", new { inputs = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.BadRequest, admin.StatusCode);
        Assert.Contains("X-Gureum-Project", await admin.Content.ReadAsStringAsync());
        using var named = new HttpRequestMessage(HttpMethod.Get, "/v2/models/golden/ready");
        named.Headers.Add("X-Gureum-Project", project);
        Assert.Equal(HttpStatusCode.OK, (await app.Admin().SendAsync(named)).StatusCode);
    }

    /// <summary>KServe/Triton clients send large tensors as raw bytes after the JSON (the binary tensor data extension).</summary>
    [Fact]
    public async Task V2BinaryTensorData_IsReadLikeJsonData_AndBadBinaryIsRefusedNamingTheField()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx");
        await DeployAsync(project, new { name = "golden", deployments = new[] { new { model = "golden", version = 1 } } });
        var (_, key) = await app.CreateKeyAsync(project, "predict");
        var v2 = app.Client(key);
        async Task<(HttpStatusCode Status, string Body)> InferAsync(string json, byte[] binary, string? header = null, string contentType = "application/octet-stream")
        {
            var jsonBytes = Encoding.UTF8.GetBytes(json);
            using var content = new ByteArrayContent([.. jsonBytes, .. binary]);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/golden/infer") { Content = content };
            request.Headers.Add("Inference-Header-Content-Length", header ?? jsonBytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var response = await v2.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        static byte[] Floats(params float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        static string Input(int bytes) => JsonSerializer.Serialize(new { inputs = new[] { new { name = "x", shape = new[] { 2, 4 }, datatype = "FP32", parameters = new { binary_data_size = bytes } } } });

        var (status, body) = await InferAsync(Input(32), Floats(1, 2, 3, 4, 0, 0, 0, 0));
        Assert.True(status == HttpStatusCode.OK, body);
        var output = JsonDocument.Parse(body).RootElement.GetProperty("outputs")[0];
        Assert.Equal([4f, 5f, 1f, -1f], output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()), new FloatTolerance());

        async Task RefusedAsync(Task<(HttpStatusCode Status, string Body)> call, HttpStatusCode expected, string mentions)
        {
            var (code, text) = await call;
            Assert.True(code == expected, $"{code}: {text}");
            Assert.Contains(mentions, JsonDocument.Parse(text).RootElement.TryGetProperty("error", out var error) ? error.GetString() : text);
        }
        await RefusedAsync(InferAsync(Input(28), Floats(1, 2, 3, 4, 0, 0, 0)), HttpStatusCode.BadRequest, "inputs[0].parameters.binary_data_size");
        await RefusedAsync(InferAsync(Input(32), Floats(1, 2, 3, 4)), HttpStatusCode.BadRequest, "the binary data has 16 left");
        await RefusedAsync(InferAsync(Input(32), Floats(1, 2, 3, 4, 0, 0, 0, 0, 9)), HttpStatusCode.BadRequest, "4 bytes of binary data");
        await RefusedAsync(InferAsync(Input(32), Floats(1, float.NaN, 3, 4, 0, 0, 0, 0)), HttpStatusCode.BadRequest, "inputs[0] value 1 is not a finite number");
        await RefusedAsync(InferAsync(Input(32), Floats(1, 2, 3, 4, 0, 0, 0, 0), header: "99999"), HttpStatusCode.BadRequest, "Inference-Header-Content-Length");
        await RefusedAsync(InferAsync(Input(32), Floats(1, 2, 3, 4, 0, 0, 0, 0), header: "ten"), HttpStatusCode.BadRequest, "Inference-Header-Content-Length");
        await RefusedAsync(InferAsync(Input(32), Floats(1, 2, 3, 4, 0, 0, 0, 0), contentType: "text/plain"), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        // binary_data_size without the header's split: refused, saying what the extension needs.
        using var plain = await v2.PostAsync("/v2/models/golden/infer", new StringContent(Input(32), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
        Assert.Contains("Inference-Header-Content-Length", await plain.Content.ReadAsStringAsync());
        Assert.Contains("binary_tensor_data", await app.Client().GetStringAsync("/v2"));
    }

    private sealed class FloatTolerance : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) < 1e-4;
        public int GetHashCode(float f) => 0;
    }

    public static TheoryData<string, string, string> BadTensors() => new()
    {
        { "missing input", """{"inputs": {}}""", "inputs.x" },
        { "extra input", """{"inputs": {"x": [[1,2,3,4]], "z": [[1]]}}""", "inputs.z" },
        { "wrong type", """{"inputs": {"x": [[1,2,"three",4]]}}""", "inputs.x[0][2]" },
        { "NaN", """{"inputs": {"x": [[1,2,"NaN",4]]}}""", "inputs.x[0][2]" },
        { "null", """{"inputs": {"x": [[1,2,null,4]]}}""", "inputs.x[0][2]" },
        { "wrong width", """{"inputs": {"x": [[1,2,3]]}}""", "inputs.x" },
        { "wrong rank", """{"inputs": {"x": [1,2,3,4]}}""", "inputs.x" },
        { "ragged rows", """{"inputs": {"x": [[1,2,3,4],[1,2]]}}""", "inputs.x[1]" },
        { "over float range", """{"inputs": {"x": [[1,2,3,1e60]]}}""", "inputs.x[0][3]" },
        { "unknown field", """{"input": {"x": [[1,2,3,4]]}}""", "input" },
        { "too many rows", """{"inputs": {"x": [[1,2,3,4],[1,2,3,4],[1,2,3,4]]}}""", "inputs.x" },
    };

    [Theory]
    [MemberData(nameof(BadTensors))]
    public async Task BadTensorInput_IsA400NamingTheTensorAndWhatWasExpected(string why, string body, string field)
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx");
        await DeployAsync(project, new { name = "strict", deployments = new[] { new { model = "golden", version = 1 } }, maxRowsPerRequest = 2 });
        using var response = await PredictAsync(project, "strict", body);
        var problem = await Problems.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{why}: no error for '{field}' in {problem}");
        // Nothing was counted as the model's failure, and the endpoint still answers.
        using var fine = await PredictAsync(project, "strict", LinearRows([1, 2, 3, 4]));
        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
    }

    [Fact]
    public async Task BadBodies_EmptyMalformedOversizedAndWrongV2Datatype_AreClearRefusals()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx");
        var (_, key) = await app.CreateKeyAsync(project, "predict");
        await DeployAsync(project, new { name = "golden", deployments = new[] { new { model = "golden", version = 1 } }, maxBodyBytes = 1024 * 1024 });

        await Problems.AssertFieldErrorAsync(await PredictAsync(project, "golden", ""), "body");
        await Problems.AssertProblemAsync(await PredictAsync(project, "golden", "{\"inputs\": {\"x\": [[1,2"), HttpStatusCode.BadRequest, "malformed-request");

        // 100 MB announced: refused from the header, before it is read.
        using (var huge = new ByteArrayContent(new byte[100 * 1024 * 1024]))
        {
            huge.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            // Expect: 100-continue, as curl sends for large bodies: the client waits for the verdict before sending.
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/endpoints/golden/predict") { Content = huge };
            request.Headers.ExpectContinue = true;
            var problem = await Problems.AssertProblemAsync(await app.Admin().SendAsync(request), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
            Assert.Contains("maxBodyBytes", problem.GetProperty("detail").GetString());
        }
        // Streamed without a length: refused once the limit is passed.
        using (var streamed = new StreamContent(new MemoryStream(new byte[3 * 1024 * 1024])))
        {
            streamed.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/endpoints/golden/predict") { Content = streamed };
            request.Headers.TransferEncodingChunked = true;
            await Problems.AssertProblemAsync(await app.Admin().SendAsync(request), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        }

        var v2 = app.Client(key);
        async Task AssertV2Error(object body, string expected)
        {
            using var response = await v2.PostAsJsonAsync("/v2/models/golden/infer", body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
            Assert.Contains(expected, JsonDocument.Parse(text).RootElement.GetProperty("error").GetString());
        }
        await AssertV2Error(new { inputs = new[] { new { name = "x", shape = new[] { 1, 4 }, datatype = "FP64", data = new[] { 1, 2, 3, 4 } } } }, "FP32");
        await AssertV2Error(new { inputs = new[] { new { name = "x", shape = new[] { 1, 4 }, datatype = "FP32", data = new[] { 1, 2, 3 } } } }, "needs 4");
        await AssertV2Error(new { inputs = new[] { new { name = "x", shape = new[] { 1, 5 }, datatype = "FP32", data = new[] { 1, 2, 3, 4, 5 } } } }, "dimension 1 must be 4");
        await AssertV2Error(new { inputs = new[] { new { name = "w", shape = new[] { 1, 4 }, datatype = "FP32", data = new[] { 1, 2, 3, 4 } } } }, "no input 'w'");
        // A claimed shape far beyond what the body could hold is refused before anything is allocated.
        await AssertV2Error(new { inputs = new[] { new { name = "x", shape = new long[] { 4_000_000_000, 4 }, datatype = "FP32", data = new[] { 1, 2, 3, 4 } } } }, "at most");

        // JSON only (a browser may send text/plain across origins without a preflight).
        using var plain = await app.Admin().PostAsync($"/v1/projects/{project}/endpoints/golden/predict", new StringContent(LinearRows([1, 2, 3, 4]), Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, plain.StatusCode);
        using var form = await app.Admin().PostAsync($"/v1/projects/{project}/endpoints/golden/predict", new FormUrlEncodedContent([new("inputs", "x")]));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
    }

    [Fact]
    public async Task TrafficSplit_SendsEachVersionItsShare_AndAShadowOnlyLogsItsAnswers()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx", "linear.onnx", "linear.onnx");
        await DeployAsync(project, new
        {
            name = "canary",
            deployments = new object[]
            {
                new { model = "golden", version = 1, weight = 80 },
                new { model = "golden", version = 2, weight = 20 },
                new { model = "golden", version = 3, shadow = true },
            },
            sampleRate = 1.0,
        });
        var answeredBy = new Dictionary<int, int>();
        for (var i = 0; i < 300; i++)
        {
            using var response = await PredictAsync(project, "canary", LinearRows([1, 2, 3, 4]));
            var version = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32();
            answeredBy[version] = answeredBy.GetValueOrDefault(version) + 1;
        }
        Assert.False(answeredBy.ContainsKey(3), "the shadow must never answer");
        // 20% of 300 is 60; binomial sd ~7, so 30..95 is far outside chance.
        Assert.InRange(answeredBy.GetValueOrDefault(2), 30, 95);

        // Every request was copied to the shadow; its answers are logged beside the live one, with the same request id.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement samples;
        do
        {
            await Task.Delay(200);
            samples = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/canary/samples?limit=200");
        } while (samples.EnumerateArray().Count(s => s.GetProperty("shadow").GetBoolean()) < 50 && DateTime.UtcNow < deadline);
        var shadowSamples = samples.EnumerateArray().Where(s => s.GetProperty("shadow").GetBoolean()).ToList();
        Assert.True(shadowSamples.Count >= 50, samples.ToString());
        var shadow = shadowSamples[0];
        Assert.Equal(3, shadow.GetProperty("version").GetInt32());
        Assert.Equal(200, shadow.GetProperty("status").GetInt32());
        Assert.Contains("\"y\"", shadow.GetProperty("output").GetString());
        Assert.Contains(samples.EnumerateArray(), s => !s.GetProperty("shadow").GetBoolean() && s.GetProperty("requestId").GetString() == shadow.GetProperty("requestId").GetString());

        var endpoint = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/canary");
        var counts = endpoint.GetProperty("serving").EnumerateArray().ToDictionary(s => s.GetProperty("version").GetInt32(), s => s.GetProperty("requests").GetInt64());
        Assert.Equal(300, counts[1] + counts[2]);
        Assert.True(counts[3] >= 250, endpoint.ToString());
    }

    [Fact]
    public async Task ChangingVersions_DropsNoRequest_AndFreesTheOldVersion()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx", "linear.onnx");
        await DeployAsync(project, new { name = "swap", deployments = new[] { new { model = "golden", version = 1 } } });
        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        var seen = new HashSet<int>();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var client = app.Admin();
            while (!stop.IsCancellationRequested)
            {
                using var response = await PredictAsync(project, "swap", LinearRows([1, 2, 3, 4]), client);
                var text = await response.Content.ReadAsStringAsync();
                lock (failures)
                {
                    if (response.StatusCode != HttpStatusCode.OK) failures.Add(text);
                    else seen.Add(JsonDocument.Parse(text).RootElement.GetProperty("version").GetInt32());
                }
            }
        })).ToList();
        await Task.Delay(300);
        using var changed = await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/endpoints/swap",
            new { deployments = new[] { new { model = "golden", version = 2 } }, batching = new { maxBatchSize = 8 } });
        Assert.Equal(HttpStatusCode.Accepted, changed.StatusCode);
        var endpoint = await WaitReadyAsync(project, "swap", e => e.GetProperty("generation").GetInt32() == 2);
        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.Empty(failures);
        Assert.Equal([1, 2], seen.Order());
        Assert.Equal(2, Assert.Single(endpoint.GetProperty("serving").EnumerateArray()).GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task AnAliasDeployment_FollowsTheAliasWhenItMoves()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx", "linear.onnx");
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/models/golden/aliases/champion", new { version = 1 })).EnsureSuccessStatusCode();
        await DeployAsync(project, new { name = "follow", deployments = new[] { new { model = "golden", alias = "champion" } } });
        Assert.Equal(1, (await (await PredictAsync(project, "follow", LinearRows([1, 2, 3, 4]))).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32());

        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/models/golden/aliases/champion", new { version = 2 })).EnsureSuccessStatusCode();
        var endpoint = await WaitReadyAsync(project, "follow", e => e.GetProperty("serving")[0].GetProperty("version").GetInt32() == 2);
        Assert.Equal("champion", endpoint.GetProperty("serving")[0].GetProperty("alias").GetString());
        Assert.Equal(2, (await (await PredictAsync(project, "follow", LinearRows([1, 2, 3, 4]))).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32());

        // What an endpoint serves cannot be pulled from under it: 409 names the endpoint.
        using var deleteAlias = await app.Admin().DeleteAsync($"/v1/projects/{project}/models/golden/aliases/champion");
        Assert.Equal(HttpStatusCode.Conflict, deleteAlias.StatusCode);
        Assert.Contains("follow", await deleteAlias.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ConcurrentRequests_AreBatched_AndAFullQueueSheds429WithRetryAfter()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx");
        await DeployAsync(project, new
        {
            name = "batched", deployments = new[] { new { model = "golden", version = 1 } },
            batching = new { maxBatchSize = 64, maxDelayMs = 20, maxQueue = 4096, workers = 1 },
        });
        var rows = Enumerable.Range(0, 48).Select(i => new float[] { i, 1, 0, -i }).ToList();
        var answers = await Task.WhenAll(rows.Select(async row =>
        {
            using var response = await PredictAsync(project, "batched", LinearRows(row));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (row, await response.Content.ReadFromJsonAsync<JsonElement>());
        }));
        // Each request gets its own rows back, whatever batch it rode in.
        foreach (var (row, answer) in answers)
        {
            var y = answer.GetProperty("outputs").GetProperty("y")[0].EnumerateArray().Select(v => v.GetSingle());
            Assert.Equal(Linear(row), y, new FloatTolerance());
        }
        var endpoint = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/batched");
        Assert.True(endpoint.GetProperty("serving")[0].GetProperty("meanBatchSize").GetDouble() > 1.5, endpoint.ToString());

        // A queue of 2 and a slow batch window: a burst overflows it, and the overflow is told when to come back.
        await DeployAsync(project, new
        {
            name = "tiny", deployments = new[] { new { model = "golden", version = 1 } },
            batching = new { maxBatchSize = 2, maxDelayMs = 300, maxQueue = 2, workers = 1 },
        });
        var burst = await Task.WhenAll(Enumerable.Range(0, 24).Select(async _ =>
        {
            using var response = await PredictAsync(project, "tiny", LinearRows([1, 2, 3, 4]));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
                await Problems.AssertProblemAsync(response, HttpStatusCode.TooManyRequests, "too-many-requests");
            }
            return response.StatusCode;
        }));
        Assert.Contains(HttpStatusCode.TooManyRequests, burst);
        Assert.Contains(HttpStatusCode.OK, burst);
        Assert.All(burst, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, s.ToString()));
    }

    [Fact]
    public async Task AModelThatFailsOrRunsTooLong_FailsOnlyThatRequest_WithATraceId()
    {
        var project = await ProjectWithVersionsAsync("encoder", "text_encoder.onnx");
        await DeployAsync(project, new { name = "encoder", deployments = new[] { new { model = "encoder", version = 1 } }, batching = new { maxBatchSize = 1 } });
        string Ids(int rows, long id) => JsonSerializer.Serialize(new { inputs = new { input_ids = Enumerable.Range(0, rows).Select(_ => Enumerable.Repeat(id, 64).ToArray()).ToArray() } });

        // Token ids past the vocabulary make the embedding lookup fail inside ONNX Runtime.
        using var crash = await PredictAsync(project, "encoder", Ids(1, 1_000_000));
        var problem = await Problems.AssertProblemAsync(crash, HttpStatusCode.InternalServerError, "model-error");
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
        Assert.Contains("encoder:1", problem.GetProperty("detail").GetString());
        using var fine = await PredictAsync(project, "encoder", Ids(1, 5));
        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);

        // A 1 ms budget on 512 rows of a transformer: stopped, 504, and the endpoint answers the next one.
        await DeployAsync(project, new { name = "hurried", deployments = new[] { new { model = "encoder", version = 1 } }, batching = new { maxBatchSize = 1 }, timeoutMs = 1 });
        using var slow = await PredictAsync(project, "hurried", Ids(512, 5));
        await Problems.AssertProblemAsync(slow, HttpStatusCode.GatewayTimeout, "model-timeout");
        var endpoint = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/encoder");
        Assert.Equal("ready", endpoint.GetProperty("status").GetString());
        Assert.Equal(1, endpoint.GetProperty("serving")[0].GetProperty("errors").GetInt64());
    }

    [Fact]
    public async Task Drift_FlagsExactlyTheShiftedFeatures_AndFeedbackGivesTheLiveMetric()
    {
        var project = await app.CreateProjectAsync();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "titanic" })).Dispose();
        var csv = File.ReadAllLines(Path.Combine(Repository.Datasets, "titanic.csv"));
        using (var content = new StringContent(string.Join('\n', csv), Encoding.UTF8, "text/csv"))
        {
            (await app.Admin().PostAsync($"/v1/projects/{project}/datasets/titanic/versions", content)).EnsureSuccessStatusCode();
        }
        using var submitted = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs",
            new { dataset = "titanic", target = "survived", budgetSeconds = 3, ignoreColumns = new[] { "alive" } });
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        JsonElement job;
        do
        {
            await Task.Delay(300);
            job = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{jobId}");
        } while (job.GetProperty("status").GetString() is "queued" or "running" && DateTime.UtcNow < deadline);
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models", new { name = "titanic" })).EnsureSuccessStatusCode();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models/titanic/versions", new { trainingJob = jobId })).EnsureSuccessStatusCode();
        await DeployAsync(project, new { name = "titanic", deployments = new[] { new { model = "titanic", version = 1 } }, sampleRate = 1.0 });

        // Every passenger again, but 40 years older and embarking at a port the training data never saw.
        var header = csv[0].Split(',');
        var numbers = new HashSet<string> { "pclass", "age", "sibsp", "parch", "fare" };
        var records = csv[1..].Select(line =>
        {
            var values = line.Split(',');
            var record = new Dictionary<string, object?>();
            for (var i = 0; i < header.Length; i++)
            {
                var (column, value) = (header[i], values[i]);
                if (column is "survived" or "alive") continue;
                record[column] = value.Length == 0 ? null
                    : column is "adult_male" or "alone" ? value == "True"
                    : numbers.Contains(column) ? double.Parse(value, System.Globalization.CultureInfo.InvariantCulture) + (column == "age" ? 40 : 0)
                    : column == "embark_town" ? "Atlantis" : value;
            }
            return record;
        }).ToList();
        var truths = csv[1..].Select(line => line.Split(',')[0]).ToList();
        var answers = new List<(string RequestId, int Row, string Predicted, string Truth)>();
        var offset = 0;
        foreach (var chunk in records.Chunk(30))
        {
            using var predicted = await PredictAsync(project, "titanic", JsonSerializer.Serialize(new { records = chunk }));
            var body = await predicted.Content.ReadAsStringAsync();
            Assert.True(predicted.StatusCode == HttpStatusCode.OK, body);
            var answer = JsonDocument.Parse(body).RootElement;
            var requestId = answer.GetProperty("requestId").GetString()!;
            answers.AddRange(answer.GetProperty("predictions").EnumerateArray().Select((p, i) => (requestId, i, p.GetProperty("label").GetString()!, truths[offset + i])));
            offset += chunk.Length;
        }
        var samplesDeadline = DateTime.UtcNow.AddSeconds(20);
        JsonElement drift;
        while ((drift = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/titanic/drift?window=1h")).GetProperty("liveRows").GetInt64() < records.Count)
        {
            Assert.True(DateTime.UtcNow < samplesDeadline, "the samples did not arrive: " + drift.GetProperty("liveRows"));
            await Task.Delay(200);
        }
        var features = drift.GetProperty("features").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        var flagged = features.Values.Where(f => f.GetProperty("severity").GetString() != "none").Select(f => f.GetProperty("name").GetString()).Order().ToList();
        Assert.True(flagged.SequenceEqual(["age", "embark_town"]), string.Join("; ", features.Values.Select(f => $"{f.GetProperty("name")}: {f.GetProperty("severity")} psi {f.GetProperty("psi")}")));
        Assert.Equal("high", features["age"].GetProperty("severity").GetString());
        Assert.True(features["age"].GetProperty("ks").GetDouble() > 0.5);
        Assert.Equal(1.0, features["embark_town"].GetProperty("unseenShare").GetDouble());
        Assert.Equal(features["age"].GetProperty("missingBaseline").GetDouble(), features["age"].GetProperty("missingLive").GetDouble(), 3);
        Assert.True(features["sex"].GetProperty("psi").GetDouble() < 0.01);
        Assert.NotEmpty(features["age"].GetProperty("bins").EnumerateArray());
        Assert.Equal(records.Count, drift.GetProperty("liveRows").GetInt64());

        await Problems.AssertFieldErrorAsync(await app.Admin().GetAsync($"/v1/projects/{project}/endpoints/titanic/drift?window=1h&from=2026-01-01"), "window");

        // Feedback: the true outcome of every answered row; the live accuracy is what the answers and truths say.
        var (_, predictKey) = await app.CreateKeyAsync(project, "predict");
        foreach (var chunk in answers.Chunk(500))
        {
            using var sent = await app.Client(predictKey).PostAsJsonAsync($"/v1/projects/{project}/endpoints/titanic/feedback",
                new { feedback = chunk.Select(a => new { requestId = a.RequestId, row = a.Row, label = a.Truth }) });
            Assert.True(sent.StatusCode == HttpStatusCode.OK, await sent.Content.ReadAsStringAsync());
        }
        var live = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/titanic/feedback?window=1h");
        Assert.Equal("binary", live.GetProperty("task").GetString());
        Assert.Equal(answers.Count, live.GetProperty("matched").GetInt64());
        var metrics = live.GetProperty("metrics").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        var expected = answers.Average(a => a.Predicted == a.Truth ? 1.0 : 0.0);
        Assert.Equal(expected, metrics["accuracy"].GetProperty("live").GetDouble(), 6);
        var auc = metrics["auc"];
        Assert.InRange(auc.GetProperty("live").GetDouble(), 0, 1);
        Assert.Equal(auc.GetProperty("live").GetDouble() - auc.GetProperty("test").GetDouble(), auc.GetProperty("delta").GetDouble(), 5);

        await Problems.AssertFieldErrorAsync(await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/titanic/feedback",
            new { feedback = new[] { new { requestId = "", row = 0, label = "1" } } }), "feedback[0].requestId");
        await Problems.AssertFieldErrorAsync(await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/titanic/feedback",
            new { feedback = new[] { new { requestId = "x", row = -1, label = "1" } } }), "feedback[0].row");
        await Problems.AssertFieldErrorAsync(await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints/titanic/feedback",
            new { feedback = new object[] { new { requestId = "x", row = 0, label = new[] { 1 } } } }), "feedback[0].label");
    }

    [Fact]
    public async Task AutoMlEndpoint_PredictsRawRecords_Explains_AndRefusesAMissingColumn()
    {
        var project = await app.CreateProjectAsync();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "iris" })).Dispose();
        var csv = File.ReadAllLines(Path.Combine(Repository.Datasets, "iris.csv"));
        using (var content = new StringContent(string.Join('\n', csv), Encoding.UTF8, "text/csv"))
        {
            (await app.Admin().PostAsync($"/v1/projects/{project}/datasets/iris/versions", content)).EnsureSuccessStatusCode();
        }
        var header = csv[0].Split(',').Select(h => h.Trim('"')).ToArray();
        using var submitted = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs", new { dataset = "iris", target = header[^1], budgetSeconds = 4 });
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        JsonElement job;
        do
        {
            await Task.Delay(300);
            job = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{jobId}");
        } while (job.GetProperty("status").GetString() is "queued" or "running" && DateTime.UtcNow < deadline);
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models", new { name = "iris" })).EnsureSuccessStatusCode();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models/iris/versions", new { trainingJob = jobId })).EnsureSuccessStatusCode();
        await DeployAsync(project, new { name = "iris", deployments = new[] { new { model = "iris", version = 1 } } });

        // A real setosa row from the file, as raw columns.
        var values = csv[1].Split(',');
        var record = header[..^1].Select((h, i) => (h, v: double.Parse(values[i], System.Globalization.CultureInfo.InvariantCulture))).ToDictionary(x => x.h, x => (object)x.v);
        using var predicted = await PredictAsync(project, "iris", JsonSerializer.Serialize(new { records = new[] { record } }));
        var answer = await predicted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(predicted.StatusCode == HttpStatusCode.OK, answer.ToString());
        var prediction = answer.GetProperty("predictions")[0];
        Assert.Equal(values[^1].Trim('"'), prediction.GetProperty("label").GetString());
        Assert.Equal(1.0, prediction.GetProperty("probabilities").EnumerateObject().Sum(p => p.Value.GetDouble()), 3);

        using var explain = await app.Admin().PostAsync($"/v1/projects/{project}/endpoints/iris/predict?explain=true",
            new StringContent(JsonSerializer.Serialize(new { records = new[] { record } }), Encoding.UTF8, "application/json"));
        var explainedAnswer = await explain.Content.ReadFromJsonAsync<JsonElement>();
        if (explainedAnswer.GetProperty("contributionsSupported").GetBoolean())
        {
            Assert.Equal(header.Length - 1, explainedAnswer.GetProperty("predictions")[0].GetProperty("contributions").EnumerateObject().Count());
        }

        var partial = record.Where(kv => kv.Key != header[0]).ToDictionary();
        await Problems.AssertFieldErrorAsync(await PredictAsync(project, "iris", JsonSerializer.Serialize(new { records = new[] { partial } })), $"records[0].{header[0]}");
        var extra = new Dictionary<string, object>(record) { ["colour"] = "blue" };
        await Problems.AssertFieldErrorAsync(await PredictAsync(project, "iris", JsonSerializer.Serialize(new { records = new[] { extra } })), "records[0].colour");
        var wrong = new Dictionary<string, object>(record) { [header[0]] = "tall" };
        await Problems.AssertFieldErrorAsync(await PredictAsync(project, "iris", JsonSerializer.Serialize(new { records = new[] { wrong } })), $"records[0].{header[0]}");

        // KServe V2 for tabular models: one tensor per column.
        var (_, key) = await app.CreateKeyAsync(project, "predict");
        using var infer = await app.Client(key).PostAsJsonAsync("/v2/models/iris/infer", new
        {
            inputs = record.Select(kv => new { name = kv.Key, shape = new[] { 1 }, datatype = "FP64", data = new[] { kv.Value } }).ToArray(),
        });
        var inferred = await infer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(infer.StatusCode == HttpStatusCode.OK, inferred.ToString());
        var label = inferred.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "label");
        Assert.Equal(values[^1].Trim('"'), label.GetProperty("data")[0].GetString());

        // Concurrent requests ride in shared pipeline runs; each gets the answer it gets alone, explained or not.
        await DeployAsync(project, new
        {
            name = "iris-batched", deployments = new[] { new { model = "iris", version = 1 } },
            batching = new { maxBatchSize = 64, maxDelayMs = 20, maxQueue = 4096, workers = 1 },
        });
        await DeployAsync(project, new { name = "iris-alone", deployments = new[] { new { model = "iris", version = 1 } }, batching = new { maxBatchSize = 1 } });
        var records = csv.Skip(1).Select(line => line.Split(',')).Select(v => header[..^1]
            .Select((h, i) => (h, v: double.Parse(v[i], System.Globalization.CultureInfo.InvariantCulture))).ToDictionary(x => x.h, x => (object)x.v)).ToList();
        async Task<JsonElement> OneAsync(string endpoint, Dictionary<string, object> row, bool explained)
        {
            using var response = await app.Admin().PostAsync($"/v1/projects/{project}/endpoints/{endpoint}/predict{(explained ? "?explain=true" : "")}",
                new StringContent(JsonSerializer.Serialize(new { records = new[] { row } }), Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
            return body.GetProperty("predictions")[0];
        }
        var batched = await Task.WhenAll(records.Select((row, i) => OneAsync("iris-batched", row, i % 10 == 0)));
        var alone = new List<JsonElement>();
        foreach (var row in records) alone.Add(await OneAsync("iris-alone", row, false));
        for (var i = 0; i < records.Count; i++)
        {
            Assert.True(alone[i].GetProperty("label").GetString() == batched[i].GetProperty("label").GetString(), $"row {i}: alone {alone[i]}, batched {batched[i]}");
            foreach (var p in alone[i].GetProperty("probabilities").EnumerateObject())
            {
                var other = batched[i].GetProperty("probabilities").GetProperty(p.Name);
                Assert.True(p.Value.ValueKind == JsonValueKind.Number && other.ValueKind == JsonValueKind.Number
                    && Math.Abs(p.Value.GetDouble() - other.GetDouble()) < 1e-5, $"row {i}: alone {alone[i]}, batched {batched[i]}");
            }
            Assert.Equal(i % 10 == 0 && explainedAnswer.GetProperty("contributionsSupported").GetBoolean(), batched[i].TryGetProperty("contributions", out var c) && c.ValueKind == JsonValueKind.Object);
        }
        var served = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/iris-batched");
        Assert.True(served.GetProperty("serving")[0].GetProperty("meanBatchSize").GetDouble() > 1.5, served.ToString());
    }

    [Fact]
    public async Task Deployments_AreCheckedUpFront_ServedVersionsAreGuarded_AndDeleteUnloads()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx");
        async Task AssertRefused(object request, string field)
        {
            using var response = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints", request);
            await Problems.AssertFieldErrorAsync(response, field);
        }
        await AssertRefused(new { name = "x", deployments = Array.Empty<object>() }, "deployments");
        await AssertRefused(new { name = "x", deployments = new[] { new { model = "nope", version = 1 } } }, "deployments[0].model");
        await AssertRefused(new { name = "x", deployments = new[] { new { model = "golden", version = 7 } } }, "deployments[0].version");
        await AssertRefused(new { name = "x", deployments = new[] { new { model = "golden", alias = "ghost" } } }, "deployments[0].alias");
        await AssertRefused(new { name = "x", deployments = new object[] { new { model = "golden", version = 1, alias = "a" } } }, "deployments[0].version");
        await AssertRefused(new { name = "x", deployments = new[] { new { model = "golden", version = 1, shadow = true } } }, "deployments");
        await AssertRefused(new { name = "x", deployments = new[] { new { model = "golden", version = 1 } }, batching = new { maxBatchSize = 0 } }, "batching.maxBatchSize");
        await AssertRefused(new { name = "x", deployments = new[] { new { model = "golden", version = 1 } }, runtime = new { device = "tpu" } }, "runtime.device");
        await AssertRefused(new { name = "Bad Name", deployments = new[] { new { model = "golden", version = 1 } } }, "name");

        await DeployAsync(project, new { name = "guarded", deployments = new[] { new { model = "golden", version = 1 } } });
        using var duplicate = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints", new { name = "guarded", deployments = new[] { new { model = "golden", version = 1 } } });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        using var deleteVersion = await app.Admin().DeleteAsync($"/v1/projects/{project}/models/golden/versions/1");
        Assert.Equal(HttpStatusCode.Conflict, deleteVersion.StatusCode);
        Assert.Contains("guarded", await deleteVersion.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, (await app.Admin().DeleteAsync($"/v1/projects/{project}/models/golden")).StatusCode);
        var lineage = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/golden/versions/1/lineage");
        Assert.Contains(lineage.GetProperty("nodes").EnumerateArray(), n => n.GetProperty("kind").GetString() == "endpoint" && n.GetProperty("label").GetString() == "guarded");

        Assert.Equal(HttpStatusCode.NoContent, (await app.Admin().DeleteAsync($"/v1/projects/{project}/endpoints/guarded")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await PredictAsync(project, "guarded", LinearRows([1, 2, 3, 4]))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await app.Admin().DeleteAsync($"/v1/projects/{project}/models/golden/versions/1")).StatusCode);
    }

    [Fact]
    public async Task CreatingAnEndpoint_WithAnIdempotencyKey_TwiceMakesOne()
    {
        var project = await ProjectWithVersionsAsync("golden", "linear.onnx");
        var body = JsonSerializer.Serialize(new { name = "once", deployments = new[] { new { model = "golden", version = 1 } } });
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/endpoints") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", "deploy-once");
            using var response = await app.Admin().SendAsync(request);
            statuses.Add(response.StatusCode);
        }
        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Accepted], statuses);
        var list = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints");
        Assert.Single(list.GetProperty("items").EnumerateArray());
    }
}
