using MudBlazor;

namespace Gureum.WebConsole.Components.Layout;

internal static class ConsoleTheme
{
    /// <summary>
    /// MudBlazor's default palette with darker colours, so white text on filled buttons and snackbars and coloured text on
    /// light backgrounds pass WCAG AA contrast (axe checks it in the tests); a light app bar, so the project picker reads.
    /// </summary>
    public static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#3949ab", Secondary = "#ad1457", Tertiary = "#00695c", Info = "#1565c0", Success = "#2e7d32", Warning = "#9a4f00",
            Error = "#c62828", TextSecondary = "#595959", AppbarBackground = "#ffffff", AppbarText = "#1f1f1f", ActionDefault = "#595959",
        },
        Typography = new Typography { Default = new DefaultTypography { FontFamily = ["Roboto", "NanumGothic", "Arial", "sans-serif"] } },
    };
}
