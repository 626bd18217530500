using System.Net;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Gureum.Cli.Tests;

/// <summary>The models commands against the real registry: uploads of real model files, downloads, aliases, lineage, refusals.</summary>
public sealed class RegistryTests(GureumServer server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<string> CreateProjectAsync()
    {
        var name = GureumServer.UniqueName("p");
        var run = await server.RunAsync("projects", "create", name);
        Assert.True(run.ExitCode == 0, run.ToString());
        return name;
    }

    private static string TempDirectory() => Directory.CreateTempSubdirectory("gureum-cli-models-").FullName;

    [Fact]
    public async Task Models_UploadDownloadAliasAndDelete_RoundTripByteForByte()
    {
        var project = await CreateProjectAsync();
        var (linear, mlp) = (TestData.Model("linear.onnx"), TestData.Model("mlp.onnx"));
        var directory = TempDirectory();
        try
        {
            var created = await server.RunAsync("models", "create", project, "iris", "--description", "iris classifiers");
            Assert.True(created.ExitCode == 0, created.ToString());

            var first = await server.RunAsync("models", "upload", project, "iris", linear, "--description", "the linear one", "--tag", "stage=test");
            Assert.True(first.ExitCode == 0, first.ToString());
            Assert.Contains("100%", first.Err); // progress goes to stderr, as plain lines when redirected
            Assert.DoesNotContain("100%", first.Out);
            Assert.Contains("Created version 1 of model iris", first.Out);
            Assert.Contains("float32", first.Out);
            Assert.Contains("[?, 4]", first.Out); // x: a dynamic batch of 4 features

            var second = await server.RunAsync("--json", "models", "upload", project, "iris", mlp);
            Assert.True(second.ExitCode == 0, second.ToString());
            using (var version = JsonDocument.Parse(second.Out))
            {
                Assert.Equal(2, version.RootElement.GetProperty("version").GetInt32());
                Assert.Equal("onnx", version.RootElement.GetProperty("format").GetString());
                Assert.Equal(new FileInfo(mlp).Length, version.RootElement.GetProperty("sizeBytes").GetInt64());
            }

            var versions = await server.RunAsync("models", "versions", project, "iris");
            Assert.True(versions.ExitCode == 0, versions.ToString());
            Assert.Contains("v1", versions.Out);
            Assert.Contains("v2", versions.Out);
            Assert.Contains("upload", versions.Out);

            var file = Path.Combine(directory, "linear-copy.onnx");
            var downloaded = await server.RunAsync("models", "download", project, "iris", "1", "--output", file);
            Assert.True(downloaded.ExitCode == 0, downloaded.ToString());
            Assert.Contains("SHA-256 verified", downloaded.Out);
            Assert.Equal(await File.ReadAllBytesAsync(linear, Ct), await File.ReadAllBytesAsync(file, Ct));
            var exists = await server.RunAsync("models", "download", project, "iris", "2", "--output", file);
            Assert.Equal(2, exists.ExitCode);
            Assert.Contains("already exists", exists.Err);
            Assert.Equal(await File.ReadAllBytesAsync(linear, Ct), await File.ReadAllBytesAsync(file, Ct));

            var set = await server.RunAsync("models", "alias", project, "iris", "champion", "1");
            Assert.True(set.ExitCode == 0, set.ToString());
            var moved = await server.RunAsync("models", "alias", project, "iris", "champion", "2");
            Assert.True(moved.ExitCode == 0, moved.ToString());
            Assert.Contains("now points at v2", moved.Out);
            var model = await server.RunAsync("--json", "models", "get", project, "iris");
            using (var body = JsonDocument.Parse(model.Out))
            {
                var alias = Assert.Single(body.RootElement.GetProperty("aliases").EnumerateArray());
                Assert.Equal("champion", alias.GetProperty("alias").GetString());
                Assert.Equal(2, alias.GetProperty("version").GetInt32());
                Assert.Equal("iris classifiers", body.RootElement.GetProperty("description").GetString());
            }
            var history = await server.RunAsync("models", "aliases", project, "iris");
            Assert.True(history.ExitCode == 0, history.ToString());
            Assert.Matches(@"champion\s*│\s*v1\s*│\s*v2", history.Out);

            // By alias, into a directory: the default name is the version the alias resolved to.
            var byAlias = await server.RunAsync("models", "download", project, "iris", "champion", "--output", directory);
            Assert.True(byAlias.ExitCode == 0, byAlias.ToString());
            Assert.Equal(await File.ReadAllBytesAsync(mlp, Ct), await File.ReadAllBytesAsync(Path.Combine(directory, "iris-v2.onnx"), Ct));

            var shown = await server.RunAsync("models", "get", project, "iris", "--version", "champion");
            Assert.True(shown.ExitCode == 0, shown.ToString());
            Assert.Contains("features", shown.Out); // mlp.onnx's input
            Assert.Contains("probabilities", shown.Out);
            Assert.Contains("champion", shown.Out);

            var removed = await server.RunAsync("models", "alias", project, "iris", "champion", "--delete");
            Assert.True(removed.ExitCode == 0, removed.ToString());
            Assert.Contains("No aliases", (await server.RunAsync("models", "get", project, "iris")).Out);

            var deleteVersion = await server.RunAsync("models", "delete", project, "iris", "--version", "1");
            Assert.True(deleteVersion.ExitCode == 0, deleteVersion.ToString());
            var left = await server.RunAsync("--json", "models", "versions", project, "iris");
            using (var remaining = JsonDocument.Parse(left.Out))
            {
                Assert.Equal([2], remaining.RootElement.EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
            }

            var listed = await server.RunAsync("models", "list", project);
            Assert.Contains("iris classifiers", listed.Out);
            var deleted = await server.RunAsync("models", "delete", project, "iris");
            Assert.True(deleted.ExitCode == 0, deleted.ToString());
            Assert.Equal(4, (await server.RunAsync("models", "get", project, "iris")).ExitCode);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Lineage_OfATrainedModel_ReachesTheRunTrainingJobAndDataset()
    {
        var project = await CreateProjectAsync();
        Assert.Equal(0, (await server.RunAsync("datasets", "upload", project, "iris", TestData.Dataset("iris.csv"), "--create")).ExitCode);
        var trained = await server.RunAsync("train", project, "iris", "--target", "species", "--budget", "4", "--seed", "3");
        Assert.True(trained.ExitCode == 0, trained.ToString());
        var job = trained.Out.Split('\n').First(l => l.StartsWith("Training ", StringComparison.Ordinal)).Split(' ')[1].TrimEnd(':');
        var directory = TempDirectory();
        try
        {
            // The training job is a parent run holding the model: find it, fetch the model, register it with its run.
            var searched = await server.RunAsync("--json", "runs", "search", project, "--filter", $"tags.gureum.training_job = '{job}'");
            Assert.True(searched.ExitCode == 0, searched.ToString());
            string run;
            using (var page = JsonDocument.Parse(searched.Out))
            {
                run = Assert.Single(page.RootElement.GetProperty("items").EnumerateArray()).GetProperty("id").GetString()!;
            }
            var zip = Path.Combine(directory, "model.zip");
            var fetched = await server.RunAsync("runs", "download", project, run, "model/model.zip", "--output", zip);
            Assert.True(fetched.ExitCode == 0, fetched.ToString());

            var uploaded = await server.RunAsync("models", "upload", project, "iris-classifier", zip, "--run", run, "--create");
            Assert.True(uploaded.ExitCode == 0, uploaded.ToString());
            Assert.Contains("Registered model iris-classifier", uploaded.Out);
            Assert.Contains("mlnet", uploaded.Out);

            var lineage = await server.RunAsync("models", "lineage", project, "iris-classifier", "1");
            Assert.True(lineage.ExitCode == 0, lineage.ToString());
            var lines = lineage.Out.Split('\n');
            Assert.StartsWith("model iris-classifier v1", lines[0]);
            Assert.Contains(lines, l => l.Contains($"produced: run", StringComparison.Ordinal) && l.Contains(run, StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("recorded as: training job", StringComparison.Ordinal) && l.Contains(job, StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("trained: dataset iris v1", StringComparison.Ordinal));
            // Each step is drawn under the one made from it.
            Assert.True(Indent(lines, "produced:") < Indent(lines, "recorded as:") && Indent(lines, "recorded as:") < Indent(lines, "trained:"), lineage.Out);

            var registered = await server.RunAsync("models", "register", project, "iris-classifier", "--training-job", job);
            Assert.True(registered.ExitCode == 0, registered.ToString());
            Assert.Contains("Created version 2 of model iris-classifier", registered.Out);
            var graph = await server.RunAsync("--json", "models", "lineage", project, "iris-classifier", "2");
            using var body = JsonDocument.Parse(graph.Out);
            var kinds = body.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("kind").GetString()).Order().ToList();
            Assert.Equal(["datasetVersion", "modelVersion", "run", "trainingJob"], kinds);

            var neither = await server.RunAsync("models", "register", project, "iris-classifier");
            Assert.Equal(2, neither.ExitCode);
            Assert.Contains("--training-job", neither.Err);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static int Indent(string[] lines, string text) => lines.First(l => l.Contains(text, StringComparison.Ordinal)).IndexOf(text, StringComparison.Ordinal);

    [Fact]
    public async Task ModelsGet_WithAnUnknownModel_ExitsFourNamingIt()
    {
        var project = await CreateProjectAsync();

        var run = await server.RunAsync("models", "get", project, "no-such-model");

        Assert.Equal(4, run.ExitCode);
        Assert.Contains("no-such-model", run.Err);
        Assert.Contains("not found", run.Err);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task ModelsUpload_OfAMissingFile_ExitsTwoAndStoresNothing()
    {
        var project = await CreateProjectAsync();
        Assert.Equal(0, (await server.RunAsync("models", "create", project, "iris")).ExitCode);
        var missing = Path.Combine(Path.GetTempPath(), GureumServer.UniqueName("absent") + ".onnx");

        var run = await server.RunAsync("models", "upload", project, "iris", missing);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not exist", run.Err);
        Assert.Contains(Path.GetFileName(missing), run.Err);
        Assert.Contains("Nothing here yet", (await server.RunAsync("models", "versions", project, "iris")).Out);
    }

    [Fact]
    public async Task ModelsUpload_OfAFileThatIsNoModel_ExitsSixWithTheServersReason()
    {
        var project = await CreateProjectAsync();
        var path = Path.Combine(Path.GetTempPath(), GureumServer.UniqueName("notes") + ".onnx");
        await File.WriteAllTextAsync(path, "hello, I am not a model", Ct);
        try
        {
            var run = await server.RunAsync("models", "upload", project, "iris", path, "--create");

            Assert.Equal(6, run.ExitCode);
            Assert.Contains("file", run.Err);
            Assert.DoesNotContain("   at ", run.Err);
            Assert.DoesNotContain("--idempotency-key", run.Err); // refused, not lost: nothing to retry
            Assert.Contains("Nothing here yet", (await server.RunAsync("models", "versions", project, "iris")).Out);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task ModelsUpload_RepeatedWithTheSameIdempotencyKey_IsOneVersion()
    {
        var project = await CreateProjectAsync();
        var linear = TestData.Model("linear.onnx");
        var key = Guid.NewGuid().ToString();

        var first = await server.RunAsync("--json", "models", "upload", project, "iris", linear, "--create", "--idempotency-key", key, "--description", "once");
        var retry = await server.RunAsync("--json", "models", "upload", project, "iris", linear, "--idempotency-key", key, "--description", "once");
        var fresh = await server.RunAsync("--json", "models", "upload", project, "iris", linear, "--description", "once");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(retry.ExitCode == 0, retry.ToString());
        Assert.Equal(first.Out, retry.Out);
        Assert.True(fresh.ExitCode == 0, fresh.ToString());
        using var third = JsonDocument.Parse(fresh.Out);
        Assert.Equal(2, third.RootElement.GetProperty("version").GetInt32()); // a new invocation gets a new key
    }

    [Fact]
    public async Task ModelsUpload_AfterAGatewayError_RetriesUnderTheSameIdempotencyKey()
    {
        var linear = TestData.Model("linear.onnx");
        foreach (var given in new string?[] { null, "my-key-1" })
        {
            var registry = new FlakyRegistry();
            using var http = new HttpClient(registry) { BaseAddress = new Uri("http://gureum.test/") };
            string[] key = given is null ? [] : ["--idempotency-key", given];

            var run = await GureumServer.RunCliAsync(http, ["--key", "gur_test", "models", "upload", "p", "iris", linear, .. key]);

            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("retrying with the same Idempotency-Key", run.Err);
            Assert.Contains("Created version 7", run.Out);
            Assert.Equal(2, registry.Keys.Count);
            Assert.Equal(registry.Keys[0], registry.Keys[1]);
            if (given is null)
            {
                Assert.True(Guid.TryParse(registry.Keys[0], out _), registry.Keys[0]);
            }
            else
            {
                Assert.Equal(given, registry.Keys[0]);
            }
            Assert.All(registry.Bodies, body => Assert.True(body.Length > new FileInfo(linear).Length));
        }
    }

    [Fact]
    public async Task ModelsDownload_OfAnUnknownVersion_ExitsFourAndWritesNothing()
    {
        var project = await CreateProjectAsync();
        Assert.Equal(0, (await server.RunAsync("models", "upload", project, "iris", TestData.Model("linear.onnx"), "--create")).ExitCode);
        var directory = TempDirectory();
        try
        {
            var run = await server.RunAsync("models", "download", project, "iris", "9", "--output", directory);

            Assert.Equal(4, run.ExitCode);
            Assert.Empty(Directory.GetFileSystemEntries(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ModelsAlias_WithNeitherAVersionNorDelete_ExitsTwo()
    {
        var project = await CreateProjectAsync();

        var run = await server.RunAsync("models", "alias", project, "iris", "champion");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--delete", run.Err);
    }

    /// <summary>Answers the first upload with a 503 problem and the next with version 7, recording each request's key and body.</summary>
    private sealed class FlakyRegistry : HttpMessageHandler
    {
        public List<string?> Keys { get; } = [];
        public List<byte[]> Bodies { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Keys.Add(request.Headers.TryGetValues("Idempotency-Key", out var values) ? values.Single() : null);
            Bodies.Add(await request.Content!.ReadAsByteArrayAsync(cancellationToken));
            if (Keys.Count == 1)
            {
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
                {
                    Content = new StringContent("""{"title":"Service Unavailable","status":503}""", Encoding.UTF8, "application/problem+json"),
                };
            }
            const string version = """
                {"model":"iris","version":7,"format":"onnx","sha256":"00","sizeBytes":264,
                 "signature":{"format":"onnx","inputs":[{"name":"x","type":"float32","shape":[-1,4]}],"outputs":[],"metadata":{}},
                 "metrics":{},"source":"upload","runId":null,"trainingJobId":null,"datasetVersionId":null,"description":"","tags":{},
                 "aliases":[],"createdBy":"k","createdAt":"2030-01-01T00:00:00Z","download":"/v1/projects/p/models/iris/versions/7/download"}
                """;
            return new HttpResponseMessage(HttpStatusCode.Created) { Content = new StringContent(version, Encoding.UTF8, "application/json") };
        }
    }
}
