using System.Text.Json.Nodes;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Mlflow;

/// <summary>Who may call the MLflow API and what each caller sees: keys, scopes, and the wall between projects.</summary>
public sealed class MlflowAccessTests(GureumApp app) : IClassFixture<GureumApp>
{
    private const string UnknownRun = "0123456789abcdef0123456789abcdef";

    [Fact]
    public async Task NoKey_Answers401Unauthenticated_AtTheRoot_UnderTheProjectUri_AndForArtifacts()
    {
        var project = await app.CreateProjectAsync();
        var anonymous = app.Client();
        var failures = new List<string>();
        foreach (var prefix in new[] { "", $"/v1/projects/{project}/mlflow" })
        {
            var api = new MlflowHttp(anonymous, prefix);
            Expect(failures, "experiments/create", await api.PostAsync("/api/2.0/mlflow/experiments/create", new { name = "x" }), 401, "UNAUTHENTICATED");
            Expect(failures, "experiments/search", await api.PostAsync("/api/2.0/mlflow/experiments/search", new { }), 401, "UNAUTHENTICATED");
            Expect(failures, "experiments/get", await api.GetAsync("/api/2.0/mlflow/experiments/get", ("experiment_id", "0")), 401, "UNAUTHENTICATED");
            Expect(failures, "registered-models/search", await api.GetAsync("/api/2.0/mlflow/registered-models/search"), 401, "UNAUTHENTICATED");
            Expect(failures, "artifacts list", await api.GetAsync("/api/2.0/mlflow-artifacts/artifacts", ("path", $"0/{UnknownRun}/artifacts")), 401, "UNAUTHENTICATED");
            Expect(failures, "artifacts PUT", await api.PutRawAsync($"/api/2.0/mlflow-artifacts/artifacts/0/{UnknownRun}/artifacts/x.txt", "x"), 401, "UNAUTHENTICATED");
        }
        var wrongKey = new MlflowHttp(app.Client("gur_nosuchkey1234_" + new string('B', 43)));
        Expect(failures, "an unknown key", await wrongKey.PostAsync("/api/2.0/mlflow/experiments/search", new { }), 401, "UNAUTHENTICATED");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task AdminKeyAtTheRoot_Answers400_PointingToTheProjectUri()
    {
        var answer = await new MlflowHttp(app.Admin()).PostAsync("/api/2.0/mlflow/experiments/search", new { });
        Assert.True(answer.Status == 400 && answer.ErrorCode == "INVALID_PARAMETER_VALUE", answer.ToString());
        Assert.Contains("/v1/projects/", answer.Body!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task ReadKey_Reads_ButWritesAnswer403PermissionDenied()
    {
        var project = await app.CreateProjectAsync();
        var (_, writer) = await app.CreateKeyAsync(project, "project:write");
        var (_, reader) = await app.CreateKeyAsync(project, "project:read");
        var write = new MlflowHttp(app.Client(writer));
        var read = new MlflowHttp(app.Client(reader));
        var experimentId = (await write.OkPostAsync("/api/2.0/mlflow/experiments/create", new { name = "readable" }))["experiment_id"]!.GetValue<string>();
        var runId = (await write.OkPostAsync("/api/2.0/mlflow/runs/create", new { experiment_id = experimentId, start_time = 1700000000000 }))["run"]!["info"]!["run_id"]!.GetValue<string>();

        var failures = new List<string>();
        Expect(failures, "read: experiments/get", await read.GetAsync("/api/2.0/mlflow/experiments/get", ("experiment_id", experimentId)), 200, null);
        Expect(failures, "read: runs/search", await read.PostAsync("/api/2.0/mlflow/runs/search", new { experiment_ids = new[] { experimentId } }), 200, null);
        Expect(failures, "read: metrics/get-history", await read.GetAsync("/api/2.0/mlflow/metrics/get-history", ("run_id", runId), ("metric_key", "m")), 200, null);
        // MLflow's own auth layer (mlflow/server/auth) answers PERMISSION_DENIED with 403.
        Expect(failures, "write: experiments/create", await read.PostAsync("/api/2.0/mlflow/experiments/create", new { name = "nope" }), 403, "PERMISSION_DENIED");
        Expect(failures, "write: runs/log-metric", await read.PostAsync("/api/2.0/mlflow/runs/log-metric", new { run_id = runId, key = "m", value = 1, timestamp = 1700000000000 }), 403, "PERMISSION_DENIED");
        Expect(failures, "write: registered-models/create", await read.PostAsync("/api/2.0/mlflow/registered-models/create", new { name = "nope" }), 403, "PERMISSION_DENIED");
        Expect(failures, "write: artifacts PUT", await read.PutRawAsync($"/api/2.0/mlflow-artifacts/artifacts/{experimentId}/{runId}/artifacts/x.txt", "x"), 403, "PERMISSION_DENIED");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task ProjectKey_UnderAnotherProjectsUri_Answers404()
    {
        var project = await app.CreateProjectAsync();
        var other = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(project, "project:write");
        var answer = await new MlflowHttp(app.Client(key), $"/v1/projects/{other}/mlflow").PostAsync("/api/2.0/mlflow/experiments/search", new { });
        Assert.True(answer.Status == 404, answer.ToString());
        var own = await new MlflowHttp(app.Client(key), $"/v1/projects/{project}/mlflow").PostAsync("/api/2.0/mlflow/experiments/search", new { });
        Assert.True(own.Status == 200, own.ToString());
    }

    [Fact]
    public async Task AnotherProjectsKey_SeesNoneOfItsExperimentsRunsArtifactsModelsOrVersions()
    {
        var projectA = await app.CreateProjectAsync();
        var projectB = await app.CreateProjectAsync();
        var a = new MlflowHttp(app.Client((await app.CreateKeyAsync(projectA, "project:write")).Key));
        var b = new MlflowHttp(app.Client((await app.CreateKeyAsync(projectB, "project:write")).Key));

        // Project A: an experiment with a run, a metric, an artifact, a registered model with a version and an alias.
        var expA = (await a.OkPostAsync("/api/2.0/mlflow/experiments/create", new { name = "secret-exp" }))["experiment_id"]!.GetValue<string>();
        var runA = (await a.OkPostAsync("/api/2.0/mlflow/runs/create", new { experiment_id = expA, start_time = 1700000000000 }))["run"]!["info"]!["run_id"]!.GetValue<string>();
        await a.OkPostAsync("/api/2.0/mlflow/runs/log-metric", new { run_id = runA, key = "rmse", value = 0.5, timestamp = 1700000000001, step = 0 });
        var artifact = $"/api/2.0/mlflow-artifacts/artifacts/{expA}/{runA}/artifacts/model/MLmodel";
        Assert.Equal(200, (await a.PutRawAsync(artifact, "flavors: {}\n")).Status);
        Assert.Equal(200, (await a.PutRawAsync($"/api/2.0/mlflow-artifacts/artifacts/{expA}/{runA}/artifacts/model/model.onnx",
            File.ReadAllBytes(Path.Combine(Repository.Models, "linear.onnx")))).Status);
        await a.OkPostAsync("/api/2.0/mlflow/registered-models/create", new { name = "secret-model", description = "A's" });
        await a.OkPostAsync("/api/2.0/mlflow/model-versions/create", new { name = "secret-model", source = $"runs:/{runA}/model", run_id = runA });
        await a.OkPostAsync("/api/2.0/mlflow/registered-models/alias", new { name = "secret-model", alias = "champion", version = "1" });

        var failures = new List<string>();
        // experiments
        Expect(failures, "experiments/get", await b.GetAsync("/api/2.0/mlflow/experiments/get", ("experiment_id", expA)), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "experiments/get-by-name", await b.GetAsync("/api/2.0/mlflow/experiments/get-by-name", ("experiment_name", "secret-exp")), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "experiments/update", await b.PostAsync("/api/2.0/mlflow/experiments/update", new { experiment_id = expA, new_name = "stolen" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "experiments/delete", await b.PostAsync("/api/2.0/mlflow/experiments/delete", new { experiment_id = expA }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "experiments/set-experiment-tag", await b.PostAsync("/api/2.0/mlflow/experiments/set-experiment-tag", new { experiment_id = expA, key = "k", value = "v" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "runs/create in A's experiment", await b.PostAsync("/api/2.0/mlflow/runs/create", new { experiment_id = expA, start_time = 1700000000000 }), 404, "RESOURCE_DOES_NOT_EXIST");
        ExpectEmpty(failures, "experiments/search", await b.PostAsync("/api/2.0/mlflow/experiments/search", new { filter = "name = 'secret-exp'" }), "experiments");
        // runs
        Expect(failures, "runs/get", await b.GetAsync("/api/2.0/mlflow/runs/get", ("run_id", runA)), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "runs/log-metric", await b.PostAsync("/api/2.0/mlflow/runs/log-metric", new { run_id = runA, key = "rmse", value = 9, timestamp = 1700000000002 }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "runs/log-batch", await b.PostAsync("/api/2.0/mlflow/runs/log-batch", new { run_id = runA, @params = new[] { new { key = "p", value = "v" } } }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "runs/set-tag", await b.PostAsync("/api/2.0/mlflow/runs/set-tag", new { run_id = runA, key = "k", value = "v" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "runs/update", await b.PostAsync("/api/2.0/mlflow/runs/update", new { run_id = runA, status = "KILLED" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "runs/delete", await b.PostAsync("/api/2.0/mlflow/runs/delete", new { run_id = runA }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "metrics/get-history", await b.GetAsync("/api/2.0/mlflow/metrics/get-history", ("run_id", runA), ("metric_key", "rmse")), 404, "RESOURCE_DOES_NOT_EXIST");
        var search = await b.PostAsync("/api/2.0/mlflow/runs/search", new { experiment_ids = new[] { expA } });
        if (search.Status != 404)
        {
            ExpectEmpty(failures, "runs/search in A's experiment", search, "runs");
        }
        // artifacts
        Expect(failures, "artifact download", await b.GetAsync(artifact), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "artifact overwrite", await b.PutRawAsync(artifact, "stolen"), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "artifact delete", await b.DeleteAsync(artifact), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "artifacts/list (tracking)", await b.GetAsync("/api/2.0/mlflow/artifacts/list", ("run_id", runA)), 404, "RESOURCE_DOES_NOT_EXIST");
        var list = await b.GetAsync("/api/2.0/mlflow-artifacts/artifacts", ("path", $"{expA}/{runA}/artifacts"));
        if (list.Status != 404)
        {
            ExpectEmpty(failures, "mlflow-artifacts list", list, "files");
        }
        // registered models and versions
        Expect(failures, "registered-models/get", await b.GetAsync("/api/2.0/mlflow/registered-models/get", ("name", "secret-model")), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "registered-models/update", await b.PatchAsync("/api/2.0/mlflow/registered-models/update", new { name = "secret-model", description = "B's" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "registered-models/rename", await b.PostAsync("/api/2.0/mlflow/registered-models/rename", new { name = "secret-model", new_name = "stolen" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "registered-models/get-latest-versions", await b.PostAsync("/api/2.0/mlflow/registered-models/get-latest-versions", new { name = "secret-model" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "registered-models/alias GET", await b.GetAsync("/api/2.0/mlflow/registered-models/alias", ("name", "secret-model"), ("alias", "champion")), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "registered-models/alias DELETE", await b.DeleteAsync("/api/2.0/mlflow/registered-models/alias", new { name = "secret-model", alias = "champion" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "model-versions/get", await b.GetAsync("/api/2.0/mlflow/model-versions/get", ("name", "secret-model"), ("version", "1")), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "model-versions/update", await b.PatchAsync("/api/2.0/mlflow/model-versions/update", new { name = "secret-model", version = "1", description = "B's" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "model-versions/set-tag", await b.PostAsync("/api/2.0/mlflow/model-versions/set-tag", new { name = "secret-model", version = "1", key = "k", value = "v" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "model-versions/delete", await b.DeleteAsync("/api/2.0/mlflow/model-versions/delete", new { name = "secret-model", version = "1" }), 404, "RESOURCE_DOES_NOT_EXIST");
        Expect(failures, "registered-models/delete", await b.DeleteAsync("/api/2.0/mlflow/registered-models/delete", new { name = "secret-model" }), 404, "RESOURCE_DOES_NOT_EXIST");
        ExpectEmpty(failures, "registered-models/search", await b.GetAsync("/api/2.0/mlflow/registered-models/search", ("filter", "name LIKE 'secret%'")), "registered_models");
        ExpectEmpty(failures, "model-versions/search", await b.GetAsync("/api/2.0/mlflow/model-versions/search", ("filter", "name='secret-model'")), "model_versions");
        ExpectEmpty(failures, "model-versions/search by A's run", await b.GetAsync("/api/2.0/mlflow/model-versions/search", ("filter", $"run_id='{runA}'")), "model_versions");

        // B's names are its own: B may create "secret-model" too, but not register A's run artifacts in it.
        Expect(failures, "B creates its own secret-model", await b.PostAsync("/api/2.0/mlflow/registered-models/create", new { name = "secret-model" }), 200, null);
        foreach (var source in new[] { $"runs:/{runA}/model", $"mlflow-artifacts:/{expA}/{runA}/artifacts/model" })
        {
            var version = await b.PostAsync("/api/2.0/mlflow/model-versions/create", new { name = "secret-model", source });
            if (version.Status is not (400 or 404) || version.ErrorCode is not ("INVALID_PARAMETER_VALUE" or "RESOURCE_DOES_NOT_EXIST"))
            {
                failures.Add($"model-versions/create from A's run ({source}): expected 400/404, got {version}");
            }
        }

        // A's things are untouched.
        var expAfter = await a.OkGetAsync("/api/2.0/mlflow/experiments/get", ("experiment_id", expA));
        Check(failures, "A's experiment", expAfter["experiment"]?["name"]?.GetValue<string>() == "secret-exp" && expAfter["experiment"]?["lifecycle_stage"]?.GetValue<string>() == "active", expAfter);
        var runAfter = await a.OkGetAsync("/api/2.0/mlflow/runs/get", ("run_id", runA));
        Check(failures, "A's run", runAfter["run"]?["info"]?["status"]?.GetValue<string>() == "RUNNING" && runAfter["run"]?["info"]?["lifecycle_stage"]?.GetValue<string>() == "active"
            && runAfter["run"]?["data"]?["params"] is null or JsonArray { Count: 0 }, runAfter);
        var history = await a.OkGetAsync("/api/2.0/mlflow/metrics/get-history", ("run_id", runA), ("metric_key", "rmse"));
        Check(failures, "A's metric history", history["metrics"] is JsonArray { Count: 1 }, history);
        var download = await a.GetAsync(artifact);
        Check(failures, "A's artifact", download.Status == 200 && download.Text == "flavors: {}\n", download);
        var model = await a.OkGetAsync("/api/2.0/mlflow/registered-models/get", ("name", "secret-model"));
        Check(failures, "A's model", model["registered_model"]?["description"]?.GetValue<string>() == "A's", model);
        var champion = await a.OkGetAsync("/api/2.0/mlflow/registered-models/alias", ("name", "secret-model"), ("alias", "champion"));
        Check(failures, "A's alias", champion["model_version"]?["version"]?.GetValue<string>() == "1", champion);

        Assert.True(failures.Count == 0, $"{failures.Count} leak(s) between projects:\n" + string.Join("\n", failures));
    }

    private static void Expect(List<string> failures, string what, MlflowAnswer answer, int status, string? errorCode)
    {
        if (answer.Status != status || errorCode is not null && answer.ErrorCode != errorCode)
        {
            failures.Add($"{what}: expected {status}{(errorCode is null ? "" : " " + errorCode)}, got {answer}");
        }
    }

    private static void ExpectEmpty(List<string> failures, string what, MlflowAnswer answer, string field)
    {
        if (answer.Status != 200 || answer.Body?[field] is JsonArray { Count: > 0 })
        {
            failures.Add($"{what}: expected 200 with no {field}, got {answer}");
        }
    }

    private static void Check(List<string> failures, string what, bool ok, object actual)
    {
        if (!ok)
        {
            failures.Add($"{what} changed: {actual}");
        }
    }
}
