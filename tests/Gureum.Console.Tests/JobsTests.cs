using System.Text.Json;
using Gureum.Client;
using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class JobsTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task ARunningJob_ShowsItsProgress_AndIsCancelledAfterAConfirmation()
    {
        using var admin = App.Api();
        await admin.CreateProjectAsync("jobs");
        var done = await admin.SubmitJobAsync("jobs", "diagnostics.wait", JsonSerializer.SerializeToElement(new { steps = 1, stepMilliseconds = 10 }));
        var job = await admin.SubmitJobAsync("jobs", "diagnostics.wait", JsonSerializer.SerializeToElement(new { steps = 600, stepMilliseconds = 500 }));

        await SignInAsync(path: "/projects/jobs/jobs");
        var table = Page.Locator("#jobs-table");
        await Expect(table).ToContainTextAsync(done.Id);
        var row = table.Locator("tr").Filter(new() { HasText = job.Id });
        await Expect(row.Locator("[data-status]")).ToHaveTextAsync("running", new() { Timeout = 30_000 });
        await Expect(row).ToContainTextAsync("diagnostics.wait");
        await Expect(table.Locator("tr").Filter(new() { HasText = done.Id }).Locator("[data-status]")).ToHaveTextAsync("succeeded");
        await Expect(Page.Locator($"#cancel-{done.Id}")).ToHaveCountAsync(0);
        await AssertAccessibleAsync();
        await Page.AssertFitsTabletAsync("JobsTests.tablet");

        await Page.Locator($"#cancel-{job.Id}").ClickAsync();
        await Page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Keep it running" }).ClickAsync();
        Assert.False((await admin.GetJobAsync("jobs", job.Id)).CancelRequested);

        await Page.Locator($"#cancel-{job.Id}").ClickAsync();
        await Page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Cancel the job" }).ClickAsync();
        await Expect(row.Locator("[data-status]")).ToHaveTextAsync("cancelled", new() { Timeout = 30_000 });
        Assert.Equal(JobStatus.Cancelled, (await admin.GetJobAsync("jobs", job.Id)).Status);
        AssertNoBrowserErrors();
    }
}
