using MudBlazor;

namespace Gureum.WebConsole.Components.Layout;

internal static class ConsoleTheme
{
    /// <summary>MudBlazor's default palette with a darker primary, so white text on it passes WCAG AA contrast.</summary>
    public static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight { Primary = "#3f51b5", AppbarBackground = "#283593", Secondary = "#ad1457" },
        Typography = new Typography { Default = new DefaultTypography { FontFamily = ["Roboto", "NanumGothic", "Arial", "sans-serif"] } },
    };
}
