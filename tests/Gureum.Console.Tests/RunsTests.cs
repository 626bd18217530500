using System.Globalization;
using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class RunsTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task TwoRuns_AreFoundBySearch_AndCompared_WithTheirParamDifferencesAndMetricCharts()
    {
        using var admin = App.Api();
        using var http = App.Http(ConsoleApp.AdminKey);
        await admin.CreateProjectAsync("runs");
        var experiment = await admin.CreateExperimentAsync("runs", "lr-sweep");
        var slow = await Models.LogRunAsync(http, "runs", experiment.Id, "alpha-slow", new Dictionary<string, string> { ["lr"] = "0.01", ["optimizer"] = "adam" },
            [("loss", 0.9, 0), ("loss", 0.7, 1), ("loss", 0.6, 2), ("accuracy", 0.81, 2)]);
        var fast = await Models.LogRunAsync(http, "runs", experiment.Id, "beta-fast", new Dictionary<string, string> { ["lr"] = "0.1", ["optimizer"] = "adam" },
            [("loss", 0.8, 0), ("loss", 0.4, 1), ("loss", 0.3, 2), ("accuracy", 0.93, 2)]);
        await Models.LogRunAsync(http, "runs", experiment.Id, "gamma-failed", new Dictionary<string, string> { ["lr"] = "1.0" }, [("loss", 9.0, 0)]);

        await SignInAsync(path: "/projects/runs/runs");
        var table = Page.Locator("#runs-table");
        await Expect(table.Locator("tbody tr")).ToHaveCountAsync(3);

        // search by name and by a metric, as the API's filter does
        await Page.GetByLabel("Run name contains").FillAsync("alpha");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Expect(table.Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(table).ToContainTextAsync("alpha-slow");
        await Page.GetByLabel("Run name contains").FillAsync("");
        await Page.GetByLabel("Filter (e.g. metrics.accuracy > 0.9)").FillAsync("metrics.accuracy > 0.5");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Expect(table.Locator("tbody tr")).ToHaveCountAsync(2);
        await AssertAccessibleAsync();

        await table.Locator("tbody tr").Filter(new() { HasText = "alpha-slow" }).GetByRole(AriaRole.Checkbox).CheckAsync();
        await table.Locator("tbody tr").Filter(new() { HasText = "beta-fast" }).GetByRole(AriaRole.Checkbox).CheckAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Compare 2" }).ClickAsync();

        var parameters = Page.Locator("#params-table");
        var lr = parameters.Locator("[data-param=lr]");
        await Expect(lr).ToHaveAttributeAsync("data-differs", "true");
        await Expect(lr).ToContainTextAsync("0.01");
        await Expect(lr).ToContainTextAsync("0.1");
        await Expect(parameters.Locator("[data-param=optimizer]")).ToHaveAttributeAsync("data-differs", "false");
        await Expect(Page.Locator("[data-chart=compare-accuracy] svg").First).ToBeVisibleAsync();
        await Expect(Page.Locator("[data-chart=history-loss] svg").First).ToBeVisibleAsync();
        Assert.Contains(slow, Page.Url, StringComparison.Ordinal);
        Assert.Contains(fast, Page.Url, StringComparison.Ordinal);

        // what the page compares is what the API compares
        var comparison = await admin.CompareRunsAsync("runs", [slow, fast]);
        Assert.True(comparison.Params.Single(p => p.Key == "lr").Differs);
        Assert.Equal(comparison.Params.Count(p => p.Differs), await parameters.Locator("[data-differs=true]").CountAsync());

        await Page.GetByLabel("Only differences").CheckAsync();
        await Expect(parameters.Locator("[data-param=optimizer]")).ToHaveCountAsync(0);
        await AssertAccessibleAsync();
        await ScreenshotAsync("compare");
        await Page.AssertFitsTabletAsync("RunsTests.compare-tablet");

        await Page.GetByRole(AriaRole.Link, new() { Name = "beta-fast" }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Run beta-fast" })).ToBeVisibleAsync();
        await Expect(Page.Locator("#run-metrics")).ToContainTextAsync(0.93.ToString(CultureInfo.InvariantCulture));
        await Expect(Page.Locator("[data-chart=run-history-loss] svg").First).ToBeVisibleAsync();
        await AssertAccessibleAsync();
        AssertNoBrowserErrors();
    }
}
