using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class TrainDeployPredictTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task Train_WithASmallBudget_ShowsTheLeaderboardAndResult_ThenDeploy_TryAPrediction_AndSeeTheEndpointCharts()
    {
        using var admin = App.Api();
        await admin.CreateProjectAsync("flow");
        await admin.CreateDatasetAsync("flow", "iris");
        await admin.UploadDatasetFileAsync("flow", "iris", Path.Combine(Repository.Datasets, "iris.csv"));

        await SignInAsync(path: "/projects/flow/datasets/iris");
        await Page.GetByRole(AriaRole.Link, new() { Name = "Train a model" }).ClickAsync();
        await Expect(Page.Locator("#train-target")).ToHaveValueAsync("species");
        await Page.GetByLabel("Budget (seconds)").FillAsync("3");
        await AssertAccessibleAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Start training" }).ClickAsync();

        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Training job" })).ToBeVisibleAsync();
        await Expect(Page.Locator("#leaderboard tbody tr").First).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Expect(Page.Locator("[data-chart=best-over-time] svg").First).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Expect(Page.Locator("#training-state")).ToHaveTextAsync("succeeded", new() { Timeout = 90_000 });
        await Expect(Page.Locator("#test-metrics")).ToContainTextAsync("macroAccuracy");
        await Expect(Page.Locator("#confusion-matrix")).ToContainTextAsync("versicolor");
        await Expect(Page.Locator("[data-chart=importance] svg").First).ToBeVisibleAsync();
        await AssertAccessibleAsync();
        await ScreenshotAsync("training-result");

        await Page.GetByLabel("Model name").FillAsync("iris");
        await Page.GetByLabel("Endpoint name").FillAsync("iris");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Deploy", Exact = true }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Endpoint iris" })).ToBeVisibleAsync();
        await Expect(Page.Locator("#endpoint-status")).ToHaveTextAsync("ready", new() { Timeout = 60_000 });

        // The try-it form has one field per column, filled with the first row of the training data (a setosa).
        await Expect(Page.GetByLabel("petal_length (float)")).ToHaveValueAsync("1.4");
        for (var i = 0; i < 3; i++)
        {
            await Page.GetByRole(AriaRole.Button, new() { Name = "Predict" }).ClickAsync();
            await Expect(Page.Locator("#prediction")).ToContainTextAsync("setosa");
        }

        // Counts reach the database every 0.5 s here; the charts and drift bars draw from the API's metrics and drift.
        // Sampled records (for drift) are written in the background too: refresh until both have arrived.
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (await Page.Locator("[data-chart=throughput] svg").CountAsync() == 0 || await Page.Locator("[data-chart^=drift-] svg").CountAsync() == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no throughput or drift chart within 45 s");
            await Page.WaitForTimeoutAsync(1_000);
            await Page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        }
        await Expect(Page.Locator("[data-chart=latency] svg").First).ToBeVisibleAsync();
        await Expect(Page.Locator("#metrics-summary")).ToContainTextAsync("requests");
        await Expect(Page.Locator("[data-chart^=drift-] svg").First).ToBeVisibleAsync();
        await AssertAccessibleAsync();

        // Tablet width: the drawer folds away behind its button, the page still reads.
        await Page.SetViewportSizeAsync(820, 1180);
        await ScreenshotAsync("endpoint-tablet");
        await Page.SetViewportSizeAsync(1366, 900);
        AssertNoBrowserErrors();
    }
}
