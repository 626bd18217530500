using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Mlflow;

/// <summary>
/// A real MLflow client against the server: tests/mlflow-node/client-flow.mjs drives the npm package `mlflow` (pinned in
/// tests/mlflow-node/package-lock.json, installed by `./gureum test`) through a realistic flow, then we read back through
/// the MLflow API that what it logged is there.
/// </summary>
public sealed class NodeClientTests(GureumApp app) : IClassFixture<GureumApp>
{
    private static readonly string ClientDirectory = Path.Combine(Repository.Root, "tests", "mlflow-node");

    [Fact]
    public async Task NpmMlflowClient_AtTheRoot_WithAProjectKey_LogsRunsAndRegistersAModel()
    {
        var project = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(project, "project:write");
        await RunFlowAndVerifyAsync(project, trackingUri: BaseUri(), key);
    }

    [Fact]
    public async Task NpmMlflowClient_UnderTheProjectUri_WithTheAdminKey_LogsRunsAndRegistersAModel()
    {
        var project = await app.CreateProjectAsync();
        await RunFlowAndVerifyAsync(project, trackingUri: $"{BaseUri()}/v1/projects/{project}/mlflow", GureumApp.AdminKey);
    }

    private string BaseUri()
    {
        var address = app.Client().BaseAddress!;
        Assert.True(address.Port > 0 && address.Scheme == Uri.UriSchemeHttp, $"the fixture has no real Kestrel address: {address}");
        return address.GetLeftPart(UriPartial.Authority);
    }

    private async Task RunFlowAndVerifyAsync(string project, string trackingUri, string token)
    {
        if (!File.Exists(Path.Combine(ClientDirectory, "node_modules", "mlflow", "package.json")))
        {
            Assert.Fail($"The npm MLflow client is not installed in {ClientDirectory}/node_modules. Run ./gureum test (it runs " +
                "`npm ci --prefix tests/mlflow-node --no-audit --no-fund` when node_modules is missing or older than package-lock.json).");
        }
        var (exitCode, stdout, stderr) = await RunNodeAsync(trackingUri, token);
        Assert.True(exitCode == 0, $"node client-flow.mjs against {trackingUri} exited with {exitCode}.\nstderr:\n{Tail(stderr)}\nstdout:\n{Tail(stdout)}");
        var summaryLine = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(string.IsNullOrEmpty(summaryLine), "client-flow.mjs printed no summary");
        var summary = JsonNode.Parse(summaryLine)!;
        string S(string name) => summary[name]!.GetValue<string>();

        // Read back with the admin key through the project URI: the client's writes landed in this project.
        var api = new MlflowHttp(app.Admin(), $"/v1/projects/{project}/mlflow");
        var failures = new List<string>();

        var experiment = (await api.OkGetAsync("/api/2.0/mlflow/experiments/get-by-name", ("experiment_name", S("experiment_name"))))["experiment"]!;
        Check(failures, "experiment id", experiment["experiment_id"]?.GetValue<string>() == S("experiment_id"), experiment);
        Check(failures, "experiment tag", experiment["tags"] is JsonArray tags && tags.Any(t => t?["key"]?.GetValue<string>() == "owner"), experiment);

        var run = (await api.OkGetAsync("/api/2.0/mlflow/runs/get", ("run_id", S("run_id"))))["run"]!;
        Check(failures, "run status", run["info"]?["status"]?.GetValue<string>() == "FINISHED", run["info"]);
        Check(failures, "run experiment", run["info"]?["experiment_id"]?.GetValue<string>() == S("experiment_id"), run["info"]);
        Check(failures, "run artifact_uri", run["info"]?["artifact_uri"]?.GetValue<string>() == $"mlflow-artifacts:/{S("experiment_id")}/{S("run_id")}/artifacts", run["info"]);
        Check(failures, "param alpha", Pairs(run["data"]?["params"]).GetValueOrDefault("alpha") == "0.5", run["data"]);
        Check(failures, "param model", Pairs(run["data"]?["params"]).GetValueOrDefault("model") == "elasticnet", run["data"]);
        Check(failures, "tag framework", Pairs(run["data"]?["tags"]).GetValueOrDefault("framework") == "node", run["data"]);
        Check(failures, "deleted tag", !Pairs(run["data"]?["tags"]).ContainsKey("temporary"), run["data"]);
        var rmse = (run["data"]?["metrics"] as JsonArray)?.FirstOrDefault(m => m?["key"]?.GetValue<string>() == "rmse");
        Check(failures, "latest rmse", rmse?["value"]?.GetValue<double>() == 0.42 && rmse["step"]?.GetValue<long>() == 4, rmse);

        var history = await api.OkGetAsync("/api/2.0/mlflow/metrics/get-history", ("run_id", S("run_id")), ("metric_key", "rmse"));
        Check(failures, "rmse history", history["metrics"] is JsonArray { Count: 5 }, history);

        var search = await api.OkPostAsync("/api/2.0/mlflow/runs/search", new { experiment_ids = new[] { S("experiment_id") }, filter = "attributes.status = 'FINISHED'" });
        Check(failures, "search FINISHED", search["runs"] is JsonArray finished && finished.Select(r => r?["info"]?["run_id"]?.GetValue<string>()).SequenceEqual([S("run_id")]), search);

        var download = await api.GetAsync($"/api/2.0/mlflow-artifacts/artifacts/{S("experiment_id")}/{S("run_id")}/artifacts/model/MLmodel");
        Check(failures, "uploaded artifact", download.Status == 200 && download.Text == S("artifact_content"), download);

        var champion = await api.OkGetAsync("/api/2.0/mlflow/registered-models/alias", ("name", S("model_name")), ("alias", "champion"));
        Check(failures, "alias champion", champion["model_version"]?["version"]?.GetValue<string>() == S("model_version")
            && champion["model_version"]?["run_id"]?.GetValue<string>() == S("run_id"), champion);

        // The client's key is a project key (or the admin key on the project URI): nothing of it is visible from another project.
        var other = await app.CreateProjectAsync();
        var outsider = new MlflowHttp(app.Client((await app.CreateKeyAsync(other, "project:read")).Key));
        var foreign = await outsider.GetAsync("/api/2.0/mlflow/runs/get", ("run_id", S("run_id")));
        Check(failures, "run hidden from another project", foreign.Status == 404, foreign);

        Assert.True(failures.Count == 0, $"what the npm client logged is not all there:\n{string.Join("\n", failures)}\nsummary: {summaryLine}");
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunNodeAsync(string trackingUri, string token)
    {
        var start = new ProcessStartInfo("node", ["client-flow.mjs"])
        {
            WorkingDirectory = ClientDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["MLFLOW_TRACKING_URI"] = trackingUri;
        start.Environment["MLFLOW_TRACKING_TOKEN"] = token;
        // A real model for the registry step: versions are validated by loading them.
        start.Environment["GUREUM_TEST_MODEL"] = Path.Combine(Repository.Models, "linear.onnx");
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"node is not installed ({e.Message}). Run ./gureum test: it installs nodejs and npm with the test packages.");
            throw;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"node client-flow.mjs did not finish in 3 minutes.\nstderr:\n{Tail(await stderr)}");
            }
            return (process.ExitCode, await stdout, await stderr);
        }
    }

    private static Dictionary<string, string?> Pairs(JsonNode? list) =>
        (list as JsonArray ?? []).Where(p => p?["key"] is not null)
            .GroupBy(p => p!["key"]!.GetValue<string>())
            .ToDictionary(g => g.Key, g => g.Last()!["value"]?.GetValue<string>());

    private static void Check(List<string> failures, string what, bool ok, object? actual)
    {
        if (!ok)
        {
            failures.Add($"{what}: got {actual?.ToString() ?? "nothing"}");
        }
    }

    private static string Tail(string text) => text.Length > 4000 ? "…" + text[^4000..] : text;
}
