using System.Text.RegularExpressions;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Gureum.WebConsole.Tests.Infrastructure;

/// <summary>
/// A test in its own browser context (its own cookies and storage) on a laptop-sized window. Whatever the test does, it
/// leaves a screenshot named after it in the artifacts folder, and it fails if the browser logged any error.
/// </summary>
public abstract class BrowserTest(ConsoleApp app) : IAsyncLifetime
{
    protected ConsoleApp App { get; } = app;
    protected IBrowserContext Context { get; private set; } = null!;
    protected IPage Page { get; private set; } = null!;
    protected List<string> BrowserErrors { get; } = [];

    public async ValueTask InitializeAsync()
    {
        Context = await App.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = App.BaseUrl.ToString(),
            ViewportSize = new ViewportSize { Width = 1366, Height = 900 },
            Permissions = ["clipboard-read", "clipboard-write"],
        });
        Context.SetDefaultTimeout(30_000);
        // Expectations wait as long as actions: under a loaded CI machine an engine's first answer can take over 5 s.
        Assertions.SetDefaultExpectTimeout(30_000);
        Page = await Context.NewPageAsync();
        Page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                BrowserErrors.Add(message.Text);
            }
        };
        Page.PageError += (_, error) => BrowserErrors.Add("page error: " + error);
        Page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                BrowserErrors.Add($"HTTP {response.Status} {response.Request.Method} {response.Url}");
            }
        };
    }

    public async ValueTask DisposeAsync()
    {
        var name = GetType().Name + "." + (TestContext.Current.Test?.TestDisplayName.Split('.').Last() ?? "test");
        try
        {
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ConsoleApp.Artifacts, Sanitize(name) + ".png"), FullPage = true });
        }
        finally
        {
            await Context.CloseAsync();
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Saves a screenshot of the page as it is now (for the steps of a long flow).</summary>
    protected Task ScreenshotAsync(string step) =>
        Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ConsoleApp.Artifacts, Sanitize(GetType().Name + "." + step) + ".png"), FullPage = true });

    /// <summary>Signs in through the form with <paramref name="key"/> and waits until the console is interactive.</summary>
    protected async Task SignInAsync(string? key = null, string path = "/")
    {
        await Page.GotoAsync("/sign-in?returnUrl=" + Uri.EscapeDataString(path));
        await Page.GetByLabel("API key").FillAsync(key ?? ConsoleApp.AdminKey);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await WaitInteractiveAsync();
    }

    /// <summary>Blazor renders after its circuit starts: nothing is asserted before the layout's marker exists.</summary>
    protected Task WaitInteractiveAsync() =>
        Page.Locator("#console-interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });

    /// <summary>Opens a console page and waits for the circuit.</summary>
    protected async Task OpenAsync(string path)
    {
        await Page.GotoAsync(path);
        await WaitInteractiveAsync();
    }

    /// <summary>
    /// No serious or critical axe-core violation on the page as it is now. Snackbars are left out: they fade in and out,
    /// and axe measures the contrast of a half-transparent one as it passes.
    /// </summary>
    protected async Task AssertAccessibleAsync()
    {
        var result = await Page.RunAxe();
        var bad = result.Violations.Where(v => v.Impact is "serious" or "critical")
            .Where(v => v.Nodes.Any(n => !string.Join(" ", n.Target).Contains("mud-snackbar", StringComparison.Ordinal))).ToList();
        Assert.True(bad.Count == 0, "accessibility violations on " + Page.Url + ":\n" + string.Join("\n", bad.Select(Describe)));
    }

    protected void AssertNoBrowserErrors() =>
        Assert.True(BrowserErrors.Count == 0, "the browser logged errors:\n" + string.Join("\n", BrowserErrors));

    /// <summary>Waits for a snackbar (or alert) holding <paramref name="text"/>.</summary>
    protected Task ExpectMessageAsync(string text) =>
        Assertions.Expect(Page.Locator(".mud-snackbar, .mud-alert").Filter(new() { HasTextRegex = new Regex(Regex.Escape(text)) }).First).ToBeVisibleAsync();

    private static string Describe(AxeResultItem v) =>
        $"{v.Impact} {v.Id}: {v.Help} — " + string.Join("; ", v.Nodes.Take(3).Select(n => string.Join(" ", n.Target)));

    private static string Sanitize(string name) => Regex.Replace(name, "[^A-Za-z0-9_.-]+", "_");
}
