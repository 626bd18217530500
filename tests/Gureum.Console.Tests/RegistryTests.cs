using System.Globalization;
using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class RegistryTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task AModel_ShowsItsVersionsAliasesAndMetrics_AndTheLineageGraphFromDatasetToEndpoint_WithNodesLinkingToTheirPages()
    {
        var iris = await Models.IrisAsync(App);
        using var admin = App.Api();
        // Other tests deploy this model too: the graph holds at least the lineage read now and at most the one read after.
        var before = (await admin.GetModelLineageAsync("registry", "iris", "1")).Nodes.Select(n => n.Id).ToHashSet();

        await SignInAsync(path: "/projects/registry/models");
        await Expect(Page.Locator("#models-table")).ToContainTextAsync("champion → v1");
        await AssertAccessibleAsync();
        await Page.Locator("#models-table").GetByRole(AriaRole.Link, new() { Name = "iris" }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Model iris" })).ToBeVisibleAsync();
        var versions = Page.Locator("#versions-table");
        await Expect(versions.GetByRole(AriaRole.Link, new() { Name = "v1", Exact = true })).ToBeVisibleAsync();
        await Expect(versions.GetByRole(AriaRole.Link, new() { Name = "v2", Exact = true })).ToBeVisibleAsync();

        await versions.GetByRole(AriaRole.Link, new() { Name = "v1", Exact = true }).ClickAsync();
        await Expect(Page.Locator("#version-heading")).ToHaveTextAsync("Version 1");
        var (metric, value) = iris.V1.Metrics.First();
        await Expect(Page.Locator("#version-detail")).ToContainTextAsync($"{metric}{value.ToString("0.####", CultureInfo.InvariantCulture)}");
        await Expect(Page.Locator("#version-detail")).ToContainTextAsync(iris.TrainingJob);

        // the drawn graph holds the API's lineage: dataset version → training job → run → model version → endpoint
        var graph = Page.Locator("#lineage-graph");
        await Expect(graph.Locator("[data-kind=datasetVersion]")).ToContainTextAsync("iris v1");
        await Expect(graph.Locator("[data-kind=trainingJob]")).ToHaveCountAsync(1);
        await Expect(graph.Locator("[data-kind=run]")).ToHaveCountAsync(1);
        await Expect(graph.Locator("[data-kind=modelVersion]")).ToContainTextAsync("iris v1");
        var live = graph.Locator("[data-node='endpoint:iris-live']");
        await Expect(live).ToContainTextAsync("iris-live");
        var drawn = new HashSet<string>();
        foreach (var node in await graph.Locator("[data-node]").AllAsync()) drawn.Add((await node.GetAttributeAsync("data-node"))!);
        var after = (await admin.GetModelLineageAsync("registry", "iris", "1")).Nodes.Select(n => n.Id).ToHashSet();
        Assert.Subset(drawn, before);
        Assert.Superset(drawn, after);
        await Expect(graph.Locator("svg path").First).ToBeAttachedAsync();
        await AssertAccessibleAsync();
        await ScreenshotAsync("model");
        await Page.AssertFitsTabletAsync("RegistryTests.model-tablet");

        await live.GetByRole(AriaRole.Link).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Endpoint iris-live" })).ToBeVisibleAsync();
        await Page.GoBackAsync();
        await graph.Locator("[data-kind=trainingJob]").GetByRole(AriaRole.Link).ClickAsync();
        await Expect(Page.Locator("#training-state")).ToHaveTextAsync("succeeded");
        await Expect(Page.Locator("[data-chart=roc], #confusion-matrix").First).ToBeVisibleAsync();
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task MovingAnAlias_AsksFirst_ThenPointsItAtTheChosenVersion()
    {
        await Models.IrisAsync(App);
        using var admin = App.Api();
        await admin.SetModelAliasAsync("registry", "iris", "staging", 1);

        await SignInAsync(path: "/projects/registry/models/iris");
        await Expect(Page.Locator("[data-alias=staging]")).ToContainTextAsync("v1");
        await Page.GetByLabel("Alias").FillAsync("staging");
        await Page.Locator(".mud-select").Filter(new() { Has = Page.Locator("#alias-version") }).First.ClickAsync();
        await Page.GetByRole(AriaRole.Option, new() { Name = "v2" }).ClickAsync();

        await Page.GetByRole(AriaRole.Button, new() { Name = "Move alias" }).ClickAsync();
        var dialog = Page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToContainTextAsync("Move 'staging' from v1 to v2.");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        Assert.Equal(1, (await admin.GetModelAliasesAsync("registry", "iris")).Aliases.Single(a => a.Alias == "staging").Version);

        await Page.GetByRole(AriaRole.Button, new() { Name = "Move alias" }).ClickAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Move" }).ClickAsync();
        await ExpectMessageAsync("'staging' now points at v2.");
        await Expect(Page.Locator("[data-alias=staging]")).ToContainTextAsync("v2");
        await Expect(Page.Locator("#alias-history")).ToContainTextAsync("staging: v1 → v2");
        Assert.Equal(2, (await admin.GetModelAliasesAsync("registry", "iris")).Aliases.Single(a => a.Alias == "staging").Version);
        await AssertAccessibleAsync();
        AssertNoBrowserErrors();
    }
}
