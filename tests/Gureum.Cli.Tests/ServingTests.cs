using System.Text.Json;
using Xunit;

namespace Gureum.Cli.Tests;

/// <summary>deploy, predict and the endpoints commands against real endpoints serving linear.onnx.</summary>
public sealed class ServingTests(GureumServer server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>linear.onnx: y = x·W + b, W[i][j] = (i+1)(j+1)/10, b = [1, -1]; so x = [1, 2, 3, 4] gives y = [4, 5].</summary>
    private const string GoldenRequest = """{"inputs": {"x": [[1, 2, 3, 4]]}}""";

    [Fact]
    public async Task Deploy_Predict_ChangeWithNoDowntime_AndDelete()
    {
        var project = GureumServer.UniqueName("p");
        Assert.Equal(0, (await server.RunAsync("projects", "create", project)).ExitCode);
        foreach (var _ in new[] { 1, 2 })
        {
            var uploaded = await server.RunAsync("models", "upload", project, "lin", TestData.Model("linear.onnx"), "--create");
            Assert.True(uploaded.ExitCode == 0, uploaded.ToString());
        }
        var directory = Directory.CreateTempSubdirectory("gureum-cli-serving-").FullName;
        try
        {
            string File(string name, string json)
            {
                var path = Path.Combine(directory, name);
                System.IO.File.WriteAllText(path, json);
                return path;
            }
            var golden = File("golden.json", GoldenRequest);

            // Refused before anything is created: a target without a version (usage), a version that does not exist (the server names it).
            Assert.Equal(2, (await server.RunAsync("deploy", project, "lin", "--name", "golden")).ExitCode);
            var missingVersion = await server.RunAsync("deploy", project, "lin:9", "--name", "golden");
            Assert.True(missingVersion.ExitCode == 6, missingVersion.ToString());
            Assert.Contains("deployments[0].version", missingVersion.Err);

            var created = await server.RunAsync("deploy", project, "lin:1", "--name", "golden");
            Assert.True(created.ExitCode == 0, created.ToString());
            Assert.Contains("Created endpoint golden", created.Out);
            Assert.Contains("is ready", created.Out);
            Assert.Matches(@"lin\s*│\s*v1\s*│\s*1 \(100%\)", created.Out);
            Assert.Contains("golden: ", created.Err); // the wait's status lines go to stderr

            var predicted = await server.RunAsync("predict", project, "golden", "--file", golden);
            Assert.True(predicted.ExitCode == 0, predicted.ToString());
            Assert.Contains("y [[4,5]]", predicted.Out);
            Assert.Contains("Answered by lin:1", predicted.Out);

            // The same name again: a zero-downtime change (PUT), now answered by version 2, and every prediction sampled.
            var changed = await server.RunAsync("deploy", project, "lin:2", "--name", "golden", "--sample-rate", "1");
            Assert.True(changed.ExitCode == 0, changed.ToString());
            Assert.Contains("Changing endpoint golden (change 2) to lin:2", changed.Out);
            Assert.DoesNotContain("Created endpoint", changed.Out);
            var json = await server.RunAsync("--json", "predict", project, "golden", "-f", golden);
            Assert.True(json.ExitCode == 0, json.ToString());
            using (var answer = JsonDocument.Parse(json.Out))
            {
                Assert.Equal("lin", answer.RootElement.GetProperty("model").GetString());
                Assert.Equal(2, answer.RootElement.GetProperty("version").GetInt32());
                var y = answer.RootElement.GetProperty("outputs").GetProperty("y");
                Assert.Equal(new[] { new[] { 4f, 5f } }, y.EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray());
            }

            var shown = await server.RunAsync("endpoints", "get", project, "golden");
            Assert.True(shown.ExitCode == 0, shown.ToString());
            Assert.Contains("ready", shown.Out);
            Assert.Matches(@"lin\s*│\s*v2\s*│\s*1 \(100%\)\s*│\s*1\s*│\s*0\s*│", shown.Out); // one request, no error
            Assert.DoesNotMatch(@"lin\s*│\s*v1", shown.Out);
            var listed = await server.RunAsync("endpoints", "list", project);
            Assert.Matches(@"golden\s*│\s*ready\s*│\s*lin:2", listed.Out);

            var sampled = await PollAsync(() => server.RunAsync("--json", "endpoints", "samples", project, "golden", "--limit", "5"),
                run => run.Out.Contains("\"version\": 2", StringComparison.Ordinal));
            Assert.Contains("[[4,5]]", sampled.Out);

            // Refusals: the server's (exit 6 naming the field), the file's (exit 2).
            var wrongWidth = await server.RunAsync("predict", project, "golden", "--file", File("narrow.json", """{"inputs": {"x": [[1, 2, 3]]}}"""));
            Assert.True(wrongWidth.ExitCode == 6, wrongWidth.ToString());
            Assert.Contains("inputs.x", wrongWidth.Err);
            var records = await server.RunAsync("predict", project, "golden", "--file", File("records.json", """[{"a": 1}]"""));
            Assert.True(records.ExitCode == 6, records.ToString());
            Assert.Contains("records", records.Err); // a bare array was sent as {"records": [...]}, which an ONNX model does not take
            var missing = await server.RunAsync("predict", project, "golden", "--file", Path.Combine(directory, "nope.json"));
            Assert.True(missing.ExitCode == 2, missing.ToString());
            Assert.Contains("does not exist", missing.Err);
            var malformed = await server.RunAsync("predict", project, "golden", "--file", File("bad.json", """{"inputs": """));
            Assert.True(malformed.ExitCode == 2, malformed.ToString());
            Assert.Contains("not valid JSON", malformed.Err);

            var deleted = await server.RunAsync("endpoints", "delete", project, "golden");
            Assert.True(deleted.ExitCode == 0, deleted.ToString());
            var gone = await server.RunAsync("predict", project, "golden", "--file", golden);
            Assert.True(gone.ExitCode == 4, gone.ToString());
            Assert.Equal(4, (await server.RunAsync("endpoints", "get", project, "golden")).ExitCode);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Deploy_ThatFailsToLoad_ExitsWithTheReason_AndAFailedChangeKeepsThePreviousVersionServing()
    {
        var project = GureumServer.UniqueName("p");
        Assert.Equal(0, (await server.RunAsync("projects", "create", project)).ExitCode);
        var uploaded = await server.RunAsync("models", "upload", project, "lin", TestData.Model("linear.onnx"), "--create");
        Assert.True(uploaded.ExitCode == 0, uploaded.ToString());

        // The ONNX Runtime here is the CPU-only build: device cuda cannot load, whatever the machine has.
        var failed = await server.RunAsync("deploy", project, "lin:1", "--name", "gpu", "--device", "cuda");
        Assert.True(failed.ExitCode == 8, failed.ToString());
        Assert.Contains("Endpoint gpu failed to load", failed.Err);
        Assert.Contains("CUDA execution provider is not available", Flat(failed.Err));
        Assert.Contains("failed", (await server.RunAsync("endpoints", "get", project, "gpu")).Out);

        // Fixing it is a change of the failed endpoint; its old failure must not be taken for the new load's.
        var fixedUp = await server.RunAsync("deploy", project, "lin:1", "--name", "gpu", "--device", "cpu");
        Assert.True(fixedUp.ExitCode == 0, fixedUp.ToString());
        Assert.Contains("Changing endpoint gpu", fixedUp.Out);
        Assert.Contains("is ready", fixedUp.Out);

        var broken = await server.RunAsync("deploy", project, "lin:1", "--name", "gpu", "--device", "cuda");
        Assert.True(broken.ExitCode == 8, broken.ToString());
        Assert.Contains("The change of endpoint gpu failed", broken.Err);
        Assert.Contains("previous versions keep serving", Flat(broken.Err));
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, GoldenRequest, Ct);
            var predicted = await server.RunAsync("predict", project, "gpu", "--file", file);
            Assert.True(predicted.ExitCode == 0, predicted.ToString());
            Assert.Contains("y [[4,5]]", predicted.Out);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Predict_RecordsAnswer_IsATableWithTheTopContributions_AndNamesWhoAnswered()
    {
        // The shape of an AutoML model's /predict?explain=true answer (binary: label, probability, contributions).
        using var answer = JsonDocument.Parse("""
            {"model": "titanic", "version": 3, "requestId": "r-1", "contributionsSupported": true, "predictions": [
              {"label": "1", "probability": 0.91, "contributions": {"sex": 1.25, "age": -0.5, "fare": 0.125, "pclass": -0.01}},
              {"label": "0", "probability": 0.08, "contributions": {"sex": -1.5, "age": 0.25, "fare": 0, "pclass": 0.75}}]}
            """);
        using var output = new StringWriter();
        using (var session = new Session(new Gureum.Client.GureumClient(new Uri("http://127.0.0.1:1"), null), new Uri("http://127.0.0.1:1"), false,
                   output, Terminal.Create(output, false), Terminal.Create(TextWriter.Null, false)))
        {
            ServingViews.WriteAnswer(session, answer.RootElement);
        }
        var text = output.ToString();
        Assert.Matches(@"ROW\s*│\s*LABEL\s*│\s*PROBABILITY\s*│\s*TOP CONTRIBUTIONS", text);
        Assert.Matches(@"1\s*│\s*1\s*│\s*0\.91\s*│\s*sex=\+1\.25 age=-0\.5 fare=\+0\.125\s*│", text);
        Assert.Matches(@"2\s*│\s*0\s*│\s*0\.08\s*│\s*sex=-1\.5 pclass=\+0\.75 age=\+0\.25\s*│", text);
        Assert.Contains("Answered by titanic:3 (request r-1)", text);
    }

    [Theory]
    [InlineData("iris:3", false, "iris", 3, null, null)]
    [InlineData("iris:champion=9", false, "iris", null, "champion", 9.0)]
    [InlineData("iris:2=0.5", false, "iris", 2, null, 0.5)]
    [InlineData("iris:5", true, "iris", 5, null, null)]
    public void Deploy_Targets_AreParsed(string text, bool shadow, string model, int? version, string? alias, double? weight) =>
        Assert.Equal(new Gureum.Client.Deployment(model, version, alias, weight, shadow), ServingViews.ParseTarget(text, shadow));

    [Theory]
    [InlineData("iris", false)]
    [InlineData("iris:", false)]
    [InlineData(":3", false)]
    [InlineData("iris:3=heavy", false)]
    [InlineData("iris:3=-1", false)]
    [InlineData("iris:=2", false)]
    [InlineData("iris:3=1", true)]
    public void Deploy_BadTargets_AreUsageErrors(string text, bool shadow) =>
        Assert.Throws<UsageException>(() => ServingViews.ParseTarget(text, shadow));

    /// <summary>The text with the console's line wrapping undone.</summary>
    private static string Flat(string text) => string.Join(' ', text.Split((char[])['\r', '\n', ' '], StringSplitOptions.RemoveEmptyEntries));

    private static async Task<CliRun> PollAsync(Func<Task<CliRun>> run, Func<CliRun, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var result = await run();
            if (result.ExitCode == 0 && until(result) || DateTime.UtcNow > deadline)
            {
                return result;
            }
            await Task.Delay(200, Ct);
        }
    }
}
