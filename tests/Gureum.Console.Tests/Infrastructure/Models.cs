using System.Net.Http.Json;
using System.Text.Json;
using Gureum.Client;

namespace Gureum.WebConsole.Tests.Infrastructure;

/// <summary>Models set up through the API for the registry, endpoint and usage pages.</summary>
public static class Models
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static Task<TrainedIris>? _iris;

    /// <summary>
    /// Project <c>registry</c>, trained once for the whole run: iris (3 s budget) registered twice as model <c>iris</c>
    /// (v1 and v2, both from the same training job, so both have a dataset version, a job and a run upstream), the alias
    /// <c>champion</c> on v1 and endpoint <c>iris-live</c> following it. Tests add their own aliases and endpoints to it.
    /// </summary>
    public static async Task<TrainedIris> IrisAsync(ConsoleApp app)
    {
        await Gate.WaitAsync();
        try
        {
            return await (_iris ??= TrainIrisAsync(app));
        }
        finally
        {
            Gate.Release();
        }
    }

    public sealed record TrainedIris(string Project, string TrainingJob, ModelVersion V1, ModelVersion V2);

    private static async Task<TrainedIris> TrainIrisAsync(ConsoleApp app)
    {
        const string project = "registry";
        using var admin = app.Api();
        await admin.CreateProjectAsync(project);
        await admin.CreateDatasetAsync(project, "iris");
        await admin.UploadDatasetFileAsync(project, "iris", Path.Combine(Repository.Datasets, "iris.csv"));
        var job = await admin.SubmitTrainingAsync(project, new TrainingSubmission("iris", "species", BudgetSeconds: 3));
        await WaitAsync(async () => (await admin.GetTrainingJobAsync(project, job.Id)).Status == JobStatus.Succeeded, 120);
        await admin.CreateModelAsync(project, "iris");
        var v1 = await admin.RegisterModelVersionAsync(project, "iris", trainingJob: job.Id);
        var v2 = await admin.RegisterModelVersionAsync(project, "iris", trainingJob: job.Id);
        await admin.SetModelAliasAsync(project, "iris", "champion", 1);
        await admin.CreateEndpointAsync(project, "iris-live", new EndpointSpec([new Deployment("iris", Alias: "champion")], SampleRate: 1.0));
        await WaitAsync(async () => (await admin.GetEndpointAsync(project, "iris-live")).IsReady, 60);
        return new TrainedIris(project, job.Id, v1, v2);
    }

    /// <summary>Uploads the shared <c>linear.onnx</c> (input x: [n, 4] floats) as the next version of <paramref name="model"/>, creating the model first.</summary>
    public static async Task<ModelVersion> UploadLinearAsync(GureumClient admin, string project, string model)
    {
        try
        {
            await admin.CreateModelAsync(project, model);
        }
        catch (GureumApiException e) when (e.Status == 409)
        {
            // the model exists: this is its next version
        }
        return await admin.UploadModelVersionAsync(project, model, Path.Combine(Repository.Datasets, "..", "models", "linear.onnx"));
    }

    public static JsonElement LinearInput(int rows) =>
        JsonSerializer.SerializeToElement(new { inputs = new { x = Enumerable.Range(0, rows).Select(i => new[] { 1f, 2f, 3f, i }).ToArray() } });

    public static async Task WaitEndpointReadyAsync(GureumClient admin, string project, string endpoint) =>
        await WaitAsync(async () => (await admin.GetEndpointAsync(project, endpoint)).IsReady, 60);

    /// <summary>Creates an MLflow run through the MLflow REST API (as an MLflow client would) with params and metric points.</summary>
    public static async Task<string> LogRunAsync(HttpClient http, string project, string experimentId, string name,
        IReadOnlyDictionary<string, string> parameters, IReadOnlyList<(string Key, double Value, long Step)> metrics)
    {
        var root = $"/v1/projects/{project}/mlflow/api/2.0/mlflow";
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var created = await PostAsync(http, root + "/runs/create", new { experiment_id = experimentId, run_name = name, start_time = now });
        var runId = created.GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;
        await PostAsync(http, root + "/runs/log-batch", new
        {
            run_id = runId,
            @params = parameters.Select(p => new { key = p.Key, value = p.Value }),
            metrics = metrics.Select(m => new { key = m.Key, value = m.Value, timestamp = now + m.Step, step = m.Step }),
        });
        await PostAsync(http, root + "/runs/update", new { run_id = runId, status = "FINISHED", end_time = now + 1000 });
        return runId;
    }

    public static async Task<JsonElement> PostAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task WaitAsync(Func<Task<bool>> done, int seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not done within {seconds} s");
            await Task.Delay(300);
        }
    }
}
