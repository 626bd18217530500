using Gureum.Client;
using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class ReadOnlyKeyTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task AReadOnlyKey_SeesModelsTrafficAndUsage_ButNoButtonThatChangesThem()
    {
        using var admin = App.Api();
        await admin.CreateProjectAsync("readonly");
        await Models.UploadLinearAsync(admin, "readonly", "linear");
        await Models.UploadLinearAsync(admin, "readonly", "linear");
        await admin.SetModelAliasAsync("readonly", "linear", "champion", 2);
        await admin.CreateEndpointAsync("readonly", "lin", new EndpointSpec([new Deployment("linear", Version: 1), new Deployment("linear", Version: 2)]));
        await Models.WaitEndpointReadyAsync(admin, "readonly", "lin");
        var key = await admin.CreateKeyAsync("readonly", "viewer", ["project:read"]);

        await SignInAsync(key.Secret, "/projects/readonly/models/linear");
        await Expect(Page.Locator("[data-alias=champion]")).ToContainTextAsync("v2");
        await Expect(Page.Locator("#versions-table")).ToContainTextAsync("upload");
        await Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Move alias" })).ToHaveCountAsync(0);
        // an uploaded file has no data or run upstream: only the version and the endpoint serving it
        await Expect(Page.Locator("#lineage-graph [data-kind=endpoint]")).ToContainTextAsync("lin");
        await Expect(Page.Locator("#lineage-graph [data-kind=datasetVersion]")).ToHaveCountAsync(0);
        await AssertAccessibleAsync();

        await OpenAsync("/projects/readonly/endpoints/lin");
        await Expect(Page.Locator("[data-traffic='linear v1'] .traffic-percent")).ToHaveTextAsync("50 %");
        await Expect(Page.Locator("#traffic input[type=range]").First).ToBeDisabledAsync();
        await Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Apply" })).ToHaveCountAsync(0);

        await OpenAsync("/projects/readonly/usage");
        await Expect(Page.Locator("#quotas")).ToContainTextAsync("No quota");
        await Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Set quota" })).ToHaveCountAsync(0);
        await Expect(Page.Locator("#all-projects-usage")).ToHaveCountAsync(0);
        await AssertAccessibleAsync();

        await OpenAsync("/projects/readonly/runs");
        await Expect(Page.Locator("#runs-table")).ToContainTextAsync("No run matches");
        AssertNoBrowserErrors();
    }
}
