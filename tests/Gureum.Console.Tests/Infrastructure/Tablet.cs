using Microsoft.Playwright;

namespace Gureum.WebConsole.Tests.Infrastructure;

public static class Tablet
{
    /// <summary>
    /// The page at a tablet's width (iPad Air, portrait) has no sideways scroll of its own — wide parts such as a table or
    /// the lineage graph scroll inside their box — and leaves a screenshot; the window goes back to the laptop size after.
    /// </summary>
    public static async Task AssertFitsTabletAsync(this IPage page, string screenshot)
    {
        await page.SetViewportSizeAsync(820, 1180);
        try
        {
            await page.WaitForTimeoutAsync(300); // MudBlazor's breakpoint listener re-lays the drawer and grid
            var width = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ConsoleApp.Artifacts, screenshot + ".png"), FullPage = true });
            Assert.True(width <= 820, $"{page.Url} is {width} px wide at a tablet's 820 px");
        }
        finally
        {
            await page.SetViewportSizeAsync(1366, 900);
        }
    }
}
