using Gureum.Client;
using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class ProjectsAndKeysTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task Projects_AndKeys_BadNamesShowTheApisFieldError_TheSecretIsShownOnce_AndRevokingAsksFirst()
    {
        await SignInAsync();
        await Page.GetByLabel("Name").FillAsync("Not A Name!");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync();
        await Expect(Page.GetByText("'name' must be lower-case letters").First).ToBeVisibleAsync();

        await Page.GetByLabel("Name").FillAsync("console-demo");
        await Page.GetByLabel("Description").FillAsync("made in the browser");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync();
        await Expect(Page.Locator("#projects-table")).ToContainTextAsync("made in the browser");
        await ScreenshotAsync("projects");

        await Page.Locator("#projects-table").GetByRole(AriaRole.Link, new() { Name = "Keys" }).First.ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "API keys" })).ToBeVisibleAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        await Expect(Page.GetByText("'name' must be lower-case letters").First).ToBeVisibleAsync();

        await Page.GetByLabel("Name").FillAsync("mobile-app");
        await Page.GetByLabel("predict").CheckAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var secret = await Page.Locator("#key-secret").TextContentAsync();
        Assert.StartsWith("gur_", secret);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        await ExpectMessageAsync("Key copied");
        Assert.Equal(secret, await Page.EvaluateAsync<string>("navigator.clipboard.readText()"));
        await Expect(Page.Locator("#keys-table")).ToContainTextAsync("mobile-app");
        await Expect(Page.Locator("#keys-table")).ToContainTextAsync("project:read, predict");
        await AssertAccessibleAsync();
        await ScreenshotAsync("key-created");

        // Shown once: a reload lists the key without its secret.
        await Page.ReloadAsync();
        await WaitInteractiveAsync();
        await Expect(Page.Locator("#keys-table")).ToContainTextAsync("mobile-app");
        Assert.Equal(0, await Page.Locator("#key-secret").CountAsync());
        Assert.DoesNotContain(secret!, await Page.ContentAsync());

        // Revoking asks first; cancelling keeps the key.
        await Page.GetByRole(AriaRole.Button, new() { Name = "Revoke key mobile-app" }).ClickAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(Page.Locator("#keys-table")).ToContainTextAsync("active");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Revoke key mobile-app" }).ClickAsync();
        await Page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Expect(Page.Locator("#keys-table")).ToContainTextAsync("revoked");
        await ExpectMessageAsync("revoked");

        // The revoked key no longer signs in, and the API's reason is shown.
        await SignOutAsync();
        await Page.GetByLabel("API key").FillAsync(secret!);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(Page.Locator("#sign-in-error")).ToContainTextAsync("revoked");
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task AProjectKey_SeesOnlyItsProject_AndIsSentToSignInTheMomentItIsRevoked()
    {
        using var admin = App.Api();
        var project = await admin.CreateProjectAsync("key-revoked");
        await admin.CreateProjectAsync("someone-else");
        var key = await admin.CreateKeyAsync(project.Name, "reader", ["project:read"]);

        await SignInAsync(key.Secret, $"/projects/{project.Name}/datasets");
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Datasets" })).ToBeVisibleAsync();
        // no create form for a read-only key, and only its own project in the picker
        Assert.Equal(0, await Page.GetByRole(AriaRole.Button, new() { Name = "Create dataset" }).CountAsync());
        await Page.GetByRole(AriaRole.Link, new() { Name = "Projects" }).ClickAsync();
        await Expect(Page.Locator("#projects-table")).ToContainTextAsync("key-revoked");
        await Expect(Page.Locator("#projects-table")).Not.ToContainTextAsync("someone-else");

        // A page the key may not use shows the API's 403 in a snackbar, not a blank page.
        await Page.GotoAsync($"/projects/{project.Name}/keys");
        await WaitInteractiveAsync();
        await ExpectMessageAsync("project:write");

        await admin.RevokeKeyAsync(project.Name, key.Key.Id);
        await Page.GetByRole(AriaRole.Link, new() { Name = "Datasets" }).ClickAsync();
        await Expect(Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/sign-in\\?expired=true"));
        await Expect(Page.Locator("#sign-in-error")).ToContainTextAsync("revoked or it expired");
        BrowserErrors.RemoveAll(e => e.StartsWith("HTTP 4", StringComparison.Ordinal) && e.Contains("/v1/", StringComparison.Ordinal));
        AssertNoBrowserErrors();
    }

    private async Task SignOutAsync()
    {
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(Page.GetByText("You are signed out.")).ToBeVisibleAsync();
    }
}
