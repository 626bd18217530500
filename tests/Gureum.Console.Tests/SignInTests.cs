using Gureum.WebConsole.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class SignInTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task SignIn_WithABadKey_SaysWhyInTheApisWords()
    {
        await Page.GotoAsync("/sign-in");
        await AssertAccessibleAsync();
        await Page.GetByLabel("API key").FillAsync("gur_nosuchkey234_" + new string('x', 43));
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(Page.Locator("#sign-in-error")).ToContainTextAsync("The API key is not valid");
        Assert.Contains("/sign-in", Page.Url);

        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(Page.Locator("#sign-in-error")).ToContainTextAsync("Enter an API key");
        AssertNoBrowserErrors();
    }

    [Fact]
    public async Task SignIn_KeepsTheKeyInAnHttpOnlyCookie_ThatTheApiRefuses_AndSignOutClearsIt()
    {
        await SignInAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Projects" })).ToBeVisibleAsync();
        await AssertAccessibleAsync();

        var cookie = Assert.Single(await Context.CookiesAsync(), c => c.Name == "gureum_console");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain(ConsoleApp.AdminKey, cookie.Value); // encrypted
        Assert.DoesNotContain("gureum_console=", await Page.EvaluateAsync<string>("document.cookie"));
        var stored = await Page.EvaluateAsync<string>("JSON.stringify(Object.assign({}, localStorage)) + JSON.stringify(Object.assign({}, sessionStorage))");
        Assert.DoesNotContain("gur_", stored);

        // The API's Bearer authentication does not take the console's cookie: no cross-site request can reach the API with it.
        using var http = App.Http();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/projects");
        request.Headers.Add("Cookie", $"{cookie.Name}={cookie.Value}");
        using var response = await http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);

        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(Page.GetByText("You are signed out.")).ToBeVisibleAsync();
        Assert.DoesNotContain(await Context.CookiesAsync(), c => c.Name == "gureum_console");

        // Signed out, the console's pages send you back to sign in.
        await Page.GotoAsync("/");
        await Expect(Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/sign-in"));
        AssertNoBrowserErrors();
    }
}
