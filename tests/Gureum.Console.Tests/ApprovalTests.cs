using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gureum.Client;
using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class ApprovalTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task APendingRetraining_ShowsItsEvidence_AndIsApprovedWithAComment()
    {
        var run = await PendingRetrainingAsync();

        await SignInAsync(path: "/projects/retrain/approvals");
        var card = Page.Locator($"[data-approval='{run}']");
        await Expect(card).ToContainTextAsync("v2 challenges v1");
        await Expect(card.Locator("svg").First).ToBeVisibleAsync();
        await AssertAccessibleAsync();
        await ScreenshotAsync("pending");

        await card.GetByLabel("Comment (kept in the audit log)").FillAsync("clearly better on fresh data");
        await card.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        await Expect(Page.Locator($"#decided-{run}")).ToContainTextAsync("clearly better on fresh data");
        await Expect(Page.Locator("#approvals-empty")).ToBeVisibleAsync();

        using var admin = App.Api();
        var decided = await admin.GetRetrainingRunAsync("retrain", run);
        Assert.Equal("clearly better on fresh data", decided.DecisionComment);
        Assert.NotEqual("pending-approval", decided.Status);
        AssertNoBrowserErrors();
    }

    /// <summary>
    /// Through the API: a champion trained on iris with every label moved to the next species (so it is confidently wrong),
    /// deployed by alias; then the true labels arrive as version 2 and a manual retraining run trains a challenger that
    /// beats it by far, and waits for approval.
    /// </summary>
    private async Task<string> PendingRetrainingAsync()
    {
        using var admin = App.Api();
        using var http = App.Http(ConsoleApp.AdminKey);
        await admin.CreateProjectAsync("retrain");
        await admin.CreateDatasetAsync("retrain", "iris");
        var lines = File.ReadAllLines(Path.Combine(Repository.Datasets, "iris.csv")).Where(l => l.Length > 0).ToArray();
        string[] species = ["setosa", "versicolor", "virginica"];
        var wrong = lines.Skip(1).Select(l =>
        {
            var cut = l.LastIndexOf(',');
            return l[..cut] + "," + species[(Array.IndexOf(species, l[(cut + 1)..]) + 1) % 3];
        });
        await admin.UploadDatasetVersionAsync("retrain", "iris", new MemoryStream(Encoding.UTF8.GetBytes(lines[0] + "\n" + string.Join("\n", wrong))), "text/csv");
        var job = await admin.SubmitTrainingAsync("retrain", new TrainingSubmission("iris", "species", BudgetSeconds: 3));
        await WaitAsync(async () => (await admin.GetTrainingJobAsync("retrain", job.Id)).Status == JobStatus.Succeeded, 120);
        await admin.CreateModelAsync("retrain", "iris");
        await admin.RegisterModelVersionAsync("retrain", "iris", trainingJob: job.Id);
        await admin.SetModelAliasAsync("retrain", "iris", "champion", 1);
        await admin.CreateEndpointAsync("retrain", "iris", new EndpointSpec([new Deployment("iris", Alias: "champion")], SampleRate: 1.0));
        await WaitAsync(async () => (await admin.GetEndpointAsync("retrain", "iris")).IsReady, 60);
        await admin.UploadDatasetFileAsync("retrain", "iris", Path.Combine(Repository.Datasets, "iris.csv"));

        using (var policy = await http.PutAsJsonAsync("/v1/projects/retrain/endpoints/iris/retraining-policy",
            new { training = new { budgetSeconds = 3 }, promotion = new { margin = 0.0 }, smokeTest = new { samples = 0 }, requireApproval = true }))
        {
            Assert.True(policy.IsSuccessStatusCode, await policy.Content.ReadAsStringAsync());
        }
        using var started = await http.PostAsync("/v1/projects/retrain/endpoints/iris/retraining-policy/run", null);
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
        var run = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await WaitAsync(async () =>
        {
            var status = (await admin.GetRetrainingRunAsync("retrain", run)).Status;
            Assert.DoesNotContain(status, new[] { "failed", "not-better", "rejected" });
            return status == "pending-approval";
        }, 150);
        return run;
    }

    private static async Task WaitAsync(Func<Task<bool>> done, int seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not done within {seconds} s");
            await Task.Delay(300);
        }
    }
}
