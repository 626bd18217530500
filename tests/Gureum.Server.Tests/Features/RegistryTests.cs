using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

/// <summary>Model registry and tracking through Gureum's own API: uploads, training jobs as versions, aliases, lineage, comparisons, refusals.</summary>
public sealed class RegistryTests(RegistryTests.App app) : IClassFixture<RegistryTests.App>
{
    /// <summary>A 1 MB model limit, so the over-the-limit refusal is tested without writing gigabytes.</summary>
    public sealed class App() : GureumApp(new Dictionary<string, string?> { ["Gureum:Models:MaxBytes"] = (1024 * 1024).ToString() });

    private static byte[] Model(string name) => File.ReadAllBytes(Path.Combine(Repository.Models, name));

    private static MultipartFormDataContent Upload(byte[] bytes, string fileName, object? metadata = null)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", fileName);
        if (metadata is not null)
        {
            form.Add(new StringContent(JsonSerializer.Serialize(metadata), Encoding.UTF8, "application/json"), "metadata");
        }
        return form;
    }

    private async Task<string> ProjectWithModelAsync(string model = "iris")
    {
        var project = await app.CreateProjectAsync();
        using var created = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models", new { name = model, description = "test" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return project;
    }

    private async Task<int> CountVersionsAsync(string project, string model) =>
        (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/{model}/versions")).GetArrayLength();

    [Fact]
    public async Task OnnxUpload_BecomesAVersionWithItsSignature_DownloadsByteForByte_AndComparesWithAnother()
    {
        var project = await ProjectWithModelAsync();
        using var first = await app.Admin().PostAsync($"/v1/projects/{project}/models/iris/versions", Upload(Model("linear.onnx"), "linear.onnx", new { description = "linear" }));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var v1 = await first.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, v1.GetProperty("version").GetInt32());
        Assert.Equal("onnx", v1.GetProperty("format").GetString());
        var input = v1.GetProperty("signature").GetProperty("inputs")[0];
        Assert.Equal("float32", input.GetProperty("type").GetString());
        Assert.Equal(4, input.GetProperty("shape")[1].GetInt64());

        var downloaded = await app.Admin().GetByteArrayAsync($"/v1/projects/{project}/models/iris/versions/1/download");
        Assert.Equal(Model("linear.onnx"), downloaded);

        using var second = await app.Admin().PostAsync($"/v1/projects/{project}/models/iris/versions", Upload(Model("mlp.onnx"), "mlp.onnx"));
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        var comparison = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/iris/versions/1/compare/2");
        Assert.Equal(1, comparison.GetProperty("base").GetInt32());
        // linear.onnx and mlp.onnx differ in their signatures; the comparison must say where.
        Assert.True(comparison.GetProperty("signature").GetArrayLength() > 0, comparison.ToString());
    }

    [Fact]
    public async Task Aliases_MoveAtomically_KeepTheirHistory_AndResolveAsAVersion()
    {
        var project = await ProjectWithModelAsync();
        for (var i = 0; i < 2; i++)
        {
            (await app.Admin().PostAsync($"/v1/projects/{project}/models/iris/versions", Upload(Model("linear.onnx"), "linear.onnx"))).EnsureSuccessStatusCode();
        }
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/models/iris/aliases/champion", new { version = 1 })).EnsureSuccessStatusCode();
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/models/iris/aliases/champion", new { version = 2 })).EnsureSuccessStatusCode();
        var byAlias = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/iris/versions/champion");
        Assert.Equal(2, byAlias.GetProperty("version").GetInt32());
        var aliases = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/iris/aliases");
        var history = aliases.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(2, history.Count);
        Assert.Equal(1, history[0].GetProperty("fromVersion").GetInt32());
        Assert.Equal(2, history[0].GetProperty("toVersion").GetInt32());
        Assert.False(string.IsNullOrEmpty(history[0].GetProperty("by").GetString()));

        using var reserved = await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/models/iris/aliases/latest", new { version = 1 });
        await Problems.AssertFieldErrorAsync(reserved, "alias");
        using var missing = await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/models/iris/aliases/x", new { version = 9 });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    public static TheoryData<string, byte[], HttpStatusCode> BadFiles() => new()
    {
        { "not-a-model.onnx", Encoding.UTF8.GetBytes("hello, I am not a model"), HttpStatusCode.UnsupportedMediaType },
        { "model.pkl", [0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0], HttpStatusCode.UnsupportedMediaType },
        { "truncated.onnx", File.ReadAllBytes(Path.Combine(Repository.Models, "mlp.onnx"))[..200], HttpStatusCode.UnprocessableEntity },
        { "slip.zip", ZipWith("../../evil.txt"), HttpStatusCode.UnprocessableEntity },
        { "big.onnx", new byte[1024 * 1024 + 10], HttpStatusCode.RequestEntityTooLarge },
    };

    private static byte[] ZipWith(string entryName)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            // Looks like an ML.NET model, so the archive checks (not format detection) must catch the entry.
            using (var version = new StreamWriter(zip.CreateEntry("TransformerChain/Version.txt").Open()))
            {
                version.Write("1.0.0.0");
            }
            using var writer = new StreamWriter(zip.CreateEntry(entryName).Open());
            writer.Write("x");
        }
        return buffer.ToArray();
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task ModelFiles_BadUploads_AreRefusedWithAProblem_AndNothingIsStored(string fileName, byte[] bytes, HttpStatusCode expected)
    {
        var project = await ProjectWithModelAsync();
        using var response = await app.Admin().PostAsync($"/v1/projects/{project}/models/iris/versions", Upload(bytes, fileName));
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await CountVersionsAsync(project, "iris"));
    }

    [Fact]
    public async Task ModelFiles_DeclaredSignatureThatDoesNotMatch_Is422NamingTheSignature()
    {
        var project = await ProjectWithModelAsync();
        var declared = new { format = "onnx", inputs = new[] { new { name = "x", type = "float32", shape = new long[] { -1, 5 } } }, outputs = Array.Empty<object>(), metadata = new { } };
        using var response = await app.Admin().PostAsync($"/v1/projects/{project}/models/iris/versions", Upload(Model("linear.onnx"), "linear.onnx", new { signature = declared }));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("signature", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, await CountVersionsAsync(project, "iris"));
    }

    [Theory]
    [InlineData("multipart/form-data; boundary=" + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "--x\r\n")]
    [InlineData("multipart/form-data", "--x\r\n")]
    [InlineData("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc")]
    public async Task Requests_MalformedMultipart_Is400QuicklyAndStoresNothing(string contentType, string body)
    {
        var project = await ProjectWithModelAsync();
        var content = new StringContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await app.Admin().PostAsync($"/v1/projects/{project}/models/iris/versions", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await CountVersionsAsync(project, "iris"));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a%2Fb")]
    [InlineData("with space")]
    public async Task Paths_BadModelNames_Are400(string name)
    {
        var project = await app.CreateProjectAsync();
        using var response = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models", new { name });
        await Problems.AssertFieldErrorAsync(response, "name");
    }

    [Theory]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    [InlineData("a/../../b")]
    [InlineData("%252e%252e%252fx")]
    [InlineData("a%5C..%5Cb")]
    [InlineData("C:%5Cx")]
    public async Task Paths_RunArtifactTraversal_Is400(string path)
    {
        var project = await app.CreateProjectAsync();
        using var experiment = await app.Admin().PostAsJsonAsync($"/api/2.0/mlflow/experiments/create".Replace("/api", $"/v1/projects/{project}/mlflow/api"), new { name = "e" });
        var experimentId = (await experiment.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("experiment_id").GetString();
        using var run = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/mlflow/api/2.0/mlflow/runs/create", new { experiment_id = experimentId });
        var runId = (await run.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run").GetProperty("info").GetProperty("run_id").GetString();
        using var response = await app.Admin().PutAsync($"/v1/projects/{project}/runs/{runId}/artifacts/{path}", new ByteArrayContent([1, 2, 3]));
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        var listing = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/runs/{runId}/artifacts");
        Assert.Equal(0, listing.GetArrayLength());
    }

    [Fact]
    public async Task TrainingJob_IsRecordedAsRuns_RegistersAsAVersion_AndLineageGuardsTheChain()
    {
        var project = await app.CreateProjectAsync();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "iris" })).Dispose();
        using (var csv = new StringContent(File.ReadAllText(Path.Combine(Repository.Datasets, "iris.csv")), Encoding.UTF8, "text/csv"))
        {
            (await app.Admin().PostAsync($"/v1/projects/{project}/datasets/iris/versions", csv)).EnsureSuccessStatusCode();
        }
        var target = File.ReadLines(Path.Combine(Repository.Datasets, "iris.csv")).First().Split(',')[^1].Trim('"');
        using var submitted = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs", new { dataset = "iris", target, budgetSeconds = 4 });
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        JsonElement job;
        do
        {
            await Task.Delay(300);
            job = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{jobId}");
        } while (job.GetProperty("status").GetString() is "queued" or "running" && DateTime.UtcNow < deadline);
        Assert.Equal("succeeded", job.GetProperty("status").GetString());

        // The job is a parent run with test metrics and the model artifact; each trial is a child run.
        var runs = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/runs?filter=" + Uri.EscapeDataString($"tags.gureum.training_job = '{jobId}'"));
        var parent = Assert.Single(runs.GetProperty("items").EnumerateArray());
        Assert.Equal("FINISHED", parent.GetProperty("status").GetString());
        Assert.Contains(parent.GetProperty("metrics").EnumerateObject(), m => m.Name.StartsWith("test_", StringComparison.Ordinal));
        var parentId = parent.GetProperty("id").GetString()!;
        var trials = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/runs?limit=200&filter=" + Uri.EscapeDataString($"tags.mlflow.parentRunId = '{parentId}'"));
        var trialCount = (await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{jobId}/trials")).GetProperty("trials").GetArrayLength();
        Assert.Equal(trialCount, trials.GetProperty("items").GetArrayLength());
        var artifacts = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/runs/{parentId}/artifacts?path=model");
        Assert.Equal("model/model.zip", Assert.Single(artifacts.EnumerateArray()).GetProperty("path").GetString());

        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models", new { name = "iris-classifier" })).EnsureSuccessStatusCode();
        using var registered = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models/iris-classifier/versions", new { trainingJob = jobId });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var version = await registered.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("mlnet", version.GetProperty("format").GetString());
        Assert.Equal(parentId, version.GetProperty("runId").GetString());
        Assert.True(version.GetProperty("metrics").EnumerateObject().Any(), version.ToString());

        var lineage = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/models/iris-classifier/versions/1/lineage");
        var kinds = lineage.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("kind").GetString()).ToHashSet();
        Assert.True(kinds.SetEquals(["datasetVersion", "trainingJob", "run", "modelVersion"]), lineage.ToString());
        Assert.Equal(3, lineage.GetProperty("edges").GetArrayLength());
        var reverse = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/datasets/iris/versions/1/lineage");
        Assert.Contains(reverse.GetProperty("nodes").EnumerateArray(), n => n.GetProperty("kind").GetString() == "modelVersion");

        // Upstream of a registered version nothing can be deleted: 409 names the dependant.
        using var deleteJob = await app.Admin().DeleteAsync($"/v1/projects/{project}/training-jobs/{jobId}");
        Assert.Equal(HttpStatusCode.Conflict, deleteJob.StatusCode);
        Assert.Contains("iris-classifier v1", await deleteJob.Content.ReadAsStringAsync());
        using var deleteRun = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/mlflow/api/2.0/mlflow/runs/delete", new { run_id = parentId });
        Assert.Equal(HttpStatusCode.BadRequest, deleteRun.StatusCode);
        Assert.Contains("iris-classifier v1", await deleteRun.Content.ReadAsStringAsync());
        using var deleteData = await app.Admin().DeleteAsync($"/v1/projects/{project}/datasets/iris/versions/1");
        Assert.Equal(HttpStatusCode.Conflict, deleteData.StatusCode);

        // Once the version is gone, the chain can be taken down.
        (await app.Admin().DeleteAsync($"/v1/projects/{project}/models/iris-classifier/versions/1")).EnsureSuccessStatusCode();
        using var deleteAgain = await app.Admin().DeleteAsync($"/v1/projects/{project}/training-jobs/{jobId}");
        Assert.Equal(HttpStatusCode.NoContent, deleteAgain.StatusCode);
    }

    private async Task<HttpResponseMessage> PostWithKeyAsync(string path, HttpContent content, string idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await app.Admin().SendAsync(request);
    }

    [Fact]
    public async Task IdempotencyKeys_ARetriedUploadIsOneVersion_ARetriedCreateIsOneModelAndOneExperiment()
    {
        var project = await ProjectWithModelAsync();
        var uploads = $"/v1/projects/{project}/models/iris/versions";
        using var first = await PostWithKeyAsync(uploads, Upload(Model("linear.onnx"), "linear.onnx", new { description = "once" }), "upload-1");
        using var retry = await PostWithKeyAsync(uploads, Upload(Model("linear.onnx"), "linear.onnx", new { description = "once" }), "upload-1");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(1, await CountVersionsAsync(project, "iris"));

        // The same key with another file is a different request: refused, and nothing is added.
        using var other = await PostWithKeyAsync(uploads, Upload(Model("mlp.onnx"), "mlp.onnx"), "upload-1");
        await Problems.AssertProblemAsync(other, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(1, await CountVersionsAsync(project, "iris"));
        // The key was hashed from the buffered body; the handler still read the whole file (a new key uploads normally).
        using var next = await PostWithKeyAsync(uploads, Upload(Model("mlp.onnx"), "mlp.onnx"), "upload-2");
        Assert.Equal(HttpStatusCode.Created, next.StatusCode);
        Assert.Equal(2, (await next.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32());

        // Creating a model or an experiment twice would be 409; with the same key the retry gets the first answer.
        foreach (var (path, body) in new[] { ($"/v1/projects/{project}/models", new { name = "retried" }), ($"/v1/projects/{project}/experiments", new { name = "retried" }) })
        {
            using var created = await PostWithKeyAsync(path, JsonContent.Create(body), "create-" + path);
            using var again = await PostWithKeyAsync(path, JsonContent.Create(body), "create-" + path);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
            Assert.Equal(await created.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
            using var withoutKey = await app.Admin().PostAsJsonAsync(path, body);
            Assert.Equal(HttpStatusCode.Conflict, withoutKey.StatusCode);
        }
    }

    [Fact]
    public async Task IdempotencyKeys_AnUploadOverTheLimitIsStillStoppedAtTheLimit()
    {
        var project = await ProjectWithModelAsync();
        // The idempotency filter hashes the body before the handler runs; the size cap must already apply then.
        using var response = await PostWithKeyAsync($"/v1/projects/{project}/models/iris/versions",
            Upload(new byte[3 * 1024 * 1024], "big.onnx"), "too-big");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, await CountVersionsAsync(project, "iris"));
    }

    [Fact]
    public async Task AnotherProject_Gets404ForModelsVersionsAliasesLineageRunsAndExperiments()
    {
        var project = await ProjectWithModelAsync();
        (await app.Admin().PostAsync($"/v1/projects/{project}/models/iris/versions", Upload(Model("linear.onnx"), "linear.onnx"))).EnsureSuccessStatusCode();
        (await app.Admin().PutAsJsonAsync($"/v1/projects/{project}/models/iris/aliases/champion", new { version = 1 })).EnsureSuccessStatusCode();
        using var experiment = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/experiments", new { name = "secret" });
        var experimentId = (await experiment.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

        var other = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(other, "project:write");
        var client = app.Client(key);
        foreach (var path in new[]
        {
            $"/v1/projects/{project}/models/iris", $"/v1/projects/{project}/models/iris/versions/1", $"/v1/projects/{project}/models/iris/versions/1/download",
            $"/v1/projects/{project}/models/iris/versions/1/lineage", $"/v1/projects/{project}/models/iris/aliases", $"/v1/projects/{project}/experiments/{experimentId}",
            $"/v1/projects/{other}/models/iris", $"/v1/projects/{other}/models/iris/versions/champion",
        })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        }
        using var register = await client.PostAsJsonAsync($"/v1/projects/{other}/models", new { name = "iris" });
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        using var steal = await client.PostAsJsonAsync($"/v1/projects/{other}/models/iris/versions", new { source = $"runs:/{new string('a', 32)}/model" });
        Assert.Equal(HttpStatusCode.NotFound, steal.StatusCode);
    }
}
