using Gureum.Client;

namespace Gureum.WebConsole.Tests.Infrastructure;

/// <summary>Through the API: an AutoML model trained on iris and deployed as endpoint 'iris', the starting point of any automation.</summary>
public static class DeployedModel
{
    public static async Task IrisAsync(GureumClient admin, string project)
    {
        await admin.CreateProjectAsync(project);
        await admin.CreateDatasetAsync(project, "iris");
        await admin.UploadDatasetFileAsync(project, "iris", Path.Combine(Repository.Datasets, "iris.csv"));
        var job = await admin.SubmitTrainingAsync(project, new TrainingSubmission("iris", "species", BudgetSeconds: 2));
        await WaitAsync(async () => (await admin.GetTrainingJobAsync(project, job.Id)).Status == JobStatus.Succeeded, 120);
        await admin.CreateModelAsync(project, "iris");
        await admin.RegisterModelVersionAsync(project, "iris", trainingJob: job.Id);
        await admin.CreateEndpointAsync(project, "iris", new EndpointSpec([new Deployment("iris", Version: 1)]));
        await WaitAsync(async () => (await admin.GetEndpointAsync(project, "iris")).IsReady, 60);
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
