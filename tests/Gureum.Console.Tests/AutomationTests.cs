using System.Text.Json;
using Gureum.Client;
using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

/// <summary>Alert rules and the retraining policy set in the browser land in the API as the user typed them; a read-only key only looks.</summary>
public sealed class AutomationTests(ConsoleApp app) : BrowserTest(app)
{
    /// <summary>Opens a MudSelect and picks the option with this text.</summary>
    private async Task PickAsync(string select, string option)
    {
        await OpenSelectAsync(select);
        await Page.GetByRole(AriaRole.Option, new() { Name = option, Exact = true }).ClickAsync();
    }

    /// <summary>A MudSelect's id lands on its hidden input: the visible box around it opens the list.</summary>
    private Task OpenSelectAsync(string select) => Page.Locator($"#{select}").Locator("xpath=..").ClickAsync();

    [Fact]
    public async Task AlertRulesAndRetrainingPolicy_SetInTheBrowser_AreHeldByTheApi_AndRunNowShowsTheRunsSteps()
    {
        using var admin = App.Api();
        await DeployedModel.IrisAsync(admin, "auto");
        await SignInAsync(path: "/projects/auto/automation?endpoint=iris");
        var rules = Page.Locator("#alert-rules-table");
        await Expect(rules).ToContainTextAsync("No alert rule");

        await PickAsync("rule-severity", "moderate");
        await Page.Locator("#create-rule").ClickAsync();
        await Expect(rules).ToContainTextAsync("drift reaches moderate");

        await PickAsync("rule-kind", "latency p99");
        await Page.GetByLabel("p99 latency (ms)").FillAsync("250");
        await Page.GetByLabel("Cooldown (minutes)").FillAsync("15");
        await Page.Locator("#create-rule").ClickAsync();
        await Expect(rules).ToContainTextAsync("p99 latency ≥ 250 ms");

        // the API's field error lands under the field: an error rate is a share, not a percentage
        await PickAsync("rule-kind", "error rate");
        await Page.GetByLabel("Share of failed requests").FillAsync("5");
        await Page.Locator("#create-rule").ClickAsync();
        await Expect(Page.Locator("#alert-rule-form")).ToContainTextAsync("'threshold' must be above 0 and at most 1");

        var held = await admin.ListAlertRulesAsync("auto", "iris");
        Assert.Equal(2, held.Count);
        Assert.Contains(held, r => r is { Kind: "drift", Severity: "moderate", Window: "1h" });
        Assert.Contains(held, r => r is { Kind: "latency-p99", Threshold: 250, CooldownMinutes: 15 });

        await Page.GetByLabel("Schedule (cron, UTC)").FillAsync("0 3 * * 1");
        await OpenSelectAsync("policy-alerts");
        await Page.GetByRole(AriaRole.Option, new() { Name = "drift", Exact = true }).ClickAsync();
        await Page.Keyboard.PressAsync("Escape");
        await Page.GetByLabel("Training budget (s)").FillAsync("2");
        await Page.GetByLabel("Margin").FillAsync("0.01");
        await Page.GetByLabel("Smoke test: replayed requests").FillAsync("0");
        await Page.Locator("#save-policy").ClickAsync();
        await Expect(Page.Locator("#policy-state")).ToContainTextAsync("next scheduled run");
        await AssertAccessibleAsync();
        await Page.AssertFitsTabletAsync("AutomationTests.tablet");

        var policy = await admin.GetRetrainingPolicyAsync("auto", "iris");
        Assert.Equal("0 3 * * 1", policy.Spec.Triggers?.Schedule);
        Assert.Equal(["drift"], policy.Spec.Triggers?.Alerts);
        Assert.Equal(2, policy.Spec.Training?.BudgetSeconds);
        Assert.Equal(0.01, policy.Spec.Promotion?.Margin);
        Assert.True(policy.Spec.RequireApproval);
        Assert.NotNull(policy.NextScheduledAt);

        await Page.Locator("#run-policy").ClickAsync();
        await Page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Run now" }).ClickAsync();
        var run = Page.Locator("#runs-list [data-run]").First;
        await Expect(run).ToContainTextAsync("manual");
        await run.Locator(".mud-expand-panel-header").ClickAsync();
        await Expect(run.Locator("[data-timeline]")).ToContainTextAsync("trigger · accepted");
        await Expect(run.Locator("[data-timeline]")).ToContainTextAsync("train · started", new() { Timeout = 60_000 });
        await ScreenshotAsync("run");

        var latency = held.Single(r => r.Kind == "latency-p99");
        await Page.Locator($"#delete-rule-{latency.Id}").ClickAsync();
        await Page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Expect(rules).Not.ToContainTextAsync("p99 latency");
        Assert.Single(await admin.ListAlertRulesAsync("auto", "iris"));
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task ReadOnlyKey_SeesRulesPolicyAndJobs_WithoutAnyButtonThatChangesThem()
    {
        using var admin = App.Api();
        await DeployedModel.IrisAsync(admin, "auto-read");
        await admin.CreateAlertRuleAsync("auto-read", "iris", new AlertRuleRequest("error-rate", Threshold: 0.1));
        await admin.SetRetrainingPolicyAsync("auto-read", "iris", new RetrainingPolicySpec(new RetrainingTriggers("0 4 * * *")));
        var job = await admin.SubmitJobAsync("auto-read", "diagnostics.wait", JsonSerializer.SerializeToElement(new { steps = 600, stepMilliseconds = 500 }));
        var reader = await admin.CreateKeyAsync("auto-read", "reader", ["project:read"]);

        await SignInAsync(reader.Secret, "/projects/auto-read/automation?endpoint=iris");
        await Expect(Page.Locator("#alert-rules-table")).ToContainTextAsync("error rate ≥ 10%");
        await Expect(Page.GetByLabel("Schedule (cron, UTC)")).ToHaveValueAsync("0 4 * * *");
        await Expect(Page.GetByLabel("Schedule (cron, UTC)")).ToBeDisabledAsync();
        foreach (var button in new[] { "#create-rule", "#save-policy", "#run-policy", "#delete-policy", "[id^=delete-rule-]" })
        {
            await Expect(Page.Locator(button)).ToHaveCountAsync(0);
        }
        await AssertAccessibleAsync();

        await Page.GetByRole(AriaRole.Link, new() { Name = "Jobs" }).ClickAsync();
        await Expect(Page.Locator("#jobs-table")).ToContainTextAsync(job.Id);
        await Expect(Page.Locator($"#cancel-{job.Id}")).ToHaveCountAsync(0);
        await admin.CancelJobAsync("auto-read", job.Id);

        // the AI APIs need the ai scope: the playground says so instead of offering forms that would all fail
        await Page.GetByRole(AriaRole.Link, new() { Name = "AI playground" }).ClickAsync();
        await Expect(Page.Locator("#playground-unavailable")).ToBeVisibleAsync();
        await Expect(Page.Locator("#playground-tabs")).ToHaveCountAsync(0);
        AssertNoBrowserErrors();
    }
}
