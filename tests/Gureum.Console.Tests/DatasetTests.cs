using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class DatasetTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task Upload_ShowsProgress_ThenTheProfileAsCharts_WithItsWarnings()
    {
        using var admin = App.Api();
        await admin.CreateProjectAsync("data");
        await SignInAsync(path: "/projects/data/datasets");

        await Page.GetByRole(AriaRole.Button, new() { Name = "Create dataset" }).ClickAsync();
        await Expect(Page.GetByText("'name' must be lower-case letters").First).ToBeVisibleAsync();
        await Page.GetByLabel("Name").FillAsync("titanic");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create dataset" }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Dataset titanic" })).ToBeVisibleAsync();

        await Page.GetByLabel("Target column (optional)").FillAsync("survived");
        await Page.Locator("input[type=file]").SetInputFilesAsync(Path.Combine(Repository.Datasets, "titanic.csv"));
        await Expect(Page.Locator("#upload-progress")).ToContainTextAsync("titanic.csv");
        await Expect(Page.Locator("#versions-list")).ToContainTextAsync("v1 · 891 rows", new() { Timeout = 60_000 });

        // The profile draws after the circuit renders it: wait for the charts' SVG, not for the page load.
        var profile = Page.Locator("#profile");
        await Expect(profile.Locator("[data-chart=missing] svg").First).ToBeVisibleAsync();
        await Expect(profile.Locator("[data-chart='histogram-age'] svg").First).ToBeVisibleAsync();
        await Expect(profile.Locator("[data-chart='top-embark_town'] svg").First).ToBeVisibleAsync();
        Assert.True(await profile.Locator("figure svg").CountAsync() >= 10);
        // 'deck' is mostly empty: the profile's warning says so.
        await Expect(Page.Locator("#profile-warnings")).ToContainTextAsync("deck: 688 of 891 values are missing");
        await AssertAccessibleAsync();
        AssertNoBrowserErrors();
    }
}
