using System.Globalization;
using System.Text.Json;
using Gureum.Client;
using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class EndpointTrafficTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task TrafficSliders_SetTo70And30_AfterConfirming_AreTheWeightsTheApiServes()
    {
        var iris = await Models.IrisAsync(App);
        using var admin = App.Api();
        await admin.CreateEndpointAsync(iris.Project, "split", new EndpointSpec([new Deployment("iris", Version: 1), new Deployment("iris", Version: 2)], SampleRate: 1.0));
        await Models.WaitEndpointReadyAsync(admin, iris.Project, "split");

        await SignInAsync(path: "/projects/registry/endpoints/split");
        await Expect(Page.Locator("#endpoint-status")).ToHaveTextAsync("ready");
        var first = Page.Locator("[data-traffic='iris v1']");
        var second = Page.Locator("[data-traffic='iris v2']");
        await Expect(first.Locator(".traffic-percent")).ToHaveTextAsync("50 %");

        // the keyboard moves a slider one percent a key; the other follows so the two add up to 100
        await first.Locator("input[type=range]").FocusAsync();
        for (var i = 0; i < 20; i++)
        {
            await Page.Keyboard.PressAsync("ArrowRight");
        }
        await Expect(first.Locator(".traffic-percent")).ToHaveTextAsync("70 %");
        await Expect(second.Locator(".traffic-percent")).ToHaveTextAsync("30 %");
        await AssertAccessibleAsync();

        await Page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        var dialog = Page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToContainTextAsync("iris v1: 70 %, iris v2: 30 %");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await ExpectMessageAsync("Traffic: iris v1: 70 %");

        var endpoint = await admin.GetEndpointAsync(iris.Project, "split");
        Assert.Equal([70.0, 30.0], endpoint.Spec.Deployments.Select(d => d.Weight ?? 1));
        await Models.WaitEndpointReadyAsync(admin, iris.Project, "split");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Refresh" }).ClickAsync();
        await Expect(Page.Locator("#serving-table")).ToContainTextAsync("70");
        await Expect(first.Locator(".traffic-percent")).ToHaveTextAsync("70 %");
        await ScreenshotAsync("traffic");
        await Page.AssertFitsTabletAsync("EndpointTrafficTests.traffic-tablet");
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task TheLiveMetric_FromFeedback_IsShownBesideTheTestMetric_AsTheApiComputesIt()
    {
        var iris = await Models.IrisAsync(App);
        using var admin = App.Api();
        var rows = File.ReadAllLines(Path.Combine(Repository.Datasets, "iris.csv")).Skip(1).Where(l => l.Length > 0).Take(40).ToList();
        var feedback = new List<FeedbackItem>();
        foreach (var line in rows.Chunk(10))
        {
            var records = line.Select(l => l.Split(',')).Select(c => new Dictionary<string, object>
            {
                ["sepal_length"] = double.Parse(c[0], CultureInfo.InvariantCulture),
                ["sepal_width"] = double.Parse(c[1], CultureInfo.InvariantCulture),
                ["petal_length"] = double.Parse(c[2], CultureInfo.InvariantCulture),
                ["petal_width"] = double.Parse(c[3], CultureInfo.InvariantCulture),
            }).ToList();
            var answer = await admin.PredictAsync(iris.Project, "iris-live", JsonSerializer.SerializeToElement(new { records }));
            var requestId = answer.GetProperty("requestId").GetString()!;
            // every fourth label is wrong on purpose, so the live accuracy differs from the test accuracy
            feedback.AddRange(line.Select((l, i) => new FeedbackItem(requestId, i, JsonSerializer.SerializeToElement(i % 4 == 0 ? "virginica" : l.Split(',')[4]))));
        }
        await admin.SendFeedbackAsync(iris.Project, "iris-live", feedback);
        LiveMetrics? live = null;
        await Models.WaitAsync(async () => (live = await admin.GetLiveMetricsAsync(iris.Project, "iris-live", "15m")).Matched >= feedback.Count, 30);

        await SignInAsync(path: "/projects/registry/endpoints/iris-live");
        var accuracy = live!.Metrics.Single(m => m.Name == "accuracy");
        var row = Page.Locator("#feedback-metrics [data-metric=accuracy]");
        await Expect(row).ToContainTextAsync(accuracy.Live!.Value.ToString("0.####", CultureInfo.InvariantCulture));
        if (accuracy.Test is { } test)
        {
            await Expect(row).ToContainTextAsync(test.ToString("0.####", CultureInfo.InvariantCulture));
        }
        await Expect(Page.Locator("#feedback-metrics")).ToContainTextAsync($"From {live.Matched} true labels");
        await Expect(Page.Locator("[data-chart=live-vs-test] svg").First).ToBeVisibleAsync();
        // one version behind this endpoint: no slider to move
        await Expect(Page.Locator("#traffic input[type=range]")).ToHaveCountAsync(0);
        await AssertAccessibleAsync();
        AssertNoBrowserErrors();
    }
}
