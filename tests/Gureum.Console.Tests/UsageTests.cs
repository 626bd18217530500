using System.Globalization;
using Gureum.Client;
using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class UsageTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task AfterSomeCalls_TheUsagePage_ChartsThemPerDay_ShowsTheQuotaFilling_AndTheOpenInvoice()
    {
        using var admin = App.Api();
        await admin.CreateProjectAsync("billing");
        await Models.UploadLinearAsync(admin, "billing", "linear");
        await admin.CreateEndpointAsync("billing", "lin", new EndpointSpec([new Deployment("linear", Version: 1)]));
        await Models.WaitEndpointReadyAsync(admin, "billing", "lin");
        await admin.SetQuotasAsync("billing", [new QuotaRule(null, "*", "predictions", 100)]);
        for (var i = 0; i < 5; i++)
        {
            await admin.PredictAsync("billing", "lin", Models.LinearInput(4));
        }
        // counts reach the usage tables every 0.5 s here
        await Models.WaitAsync(async () => (await admin.GetUsageAsync("billing")).Rows.Sum(r => r.Quantity) >= 20, 30);
        var used = (await admin.GetQuotasAsync("billing")).Quotas.Single().Used;

        await SignInAsync(path: "/projects/billing/usage");
        await Expect(Page.Locator("[data-chart=usage-predictions] svg").First).ToBeVisibleAsync();
        await Expect(Page.Locator("#usage-totals [data-service='predict:lin']")).ToContainTextAsync("20");
        var quota = Page.Locator("[data-quota='*/predictions']");
        await Expect(quota.Locator(".quota-used")).ToHaveTextAsync($"{used.ToString("#,0.##", CultureInfo.InvariantCulture)} of 100 ({used.ToString("0", CultureInfo.InvariantCulture)} %)");
        await Expect(quota.GetByRole(AriaRole.Progressbar)).ToHaveAttributeAsync("aria-valuenow", used.ToString(CultureInfo.InvariantCulture));
        var month = DateTimeOffset.UtcNow.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        await Expect(Page.Locator("#invoices")).ToContainTextAsync(month);
        await Expect(Page.Locator("#invoice-detail")).ToContainTextAsync($"Invoice {month} (open)");
        await AssertAccessibleAsync();
        await ScreenshotAsync("usage");
        await Page.AssertFitsTabletAsync("UsageTests.usage-tablet");

        // operators set quotas here too; the API holds what was set
        await Page.GetByLabel("Service (* for all)").FillAsync("predict:lin");
        await Page.GetByLabel("Monthly limit").FillAsync("500");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Set quota" }).ClickAsync();
        await Expect(Page.Locator("[data-quota='predict:lin/predictions']")).ToBeVisibleAsync();
        var quotas = (await admin.GetQuotasAsync("billing")).Quotas;
        Assert.Contains(quotas, q => q is { Service: "predict:lin", Meter: "predictions", Limit: 500 });
        Assert.Contains(quotas, q => q is { Service: "*", Meter: "predictions", Limit: 100 });
        AssertNoBrowserErrors();
    }
}
