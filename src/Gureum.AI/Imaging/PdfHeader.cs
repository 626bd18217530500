using System.Globalization;
using System.Text.RegularExpressions;

namespace Gureum.AI.Imaging;

/// <summary>Page count and page sizes of a PDF, from poppler's pdfinfo (no page is rendered).</summary>
internal static partial class PdfHeader
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    internal static ImageInfo Read(ReadOnlySpan<byte> data, ImageLimits limits)
    {
        using var upload = new TempUpload(data);
        // -l bounds the per-page lines to the pages we would accept; "Pages:" still gives the whole count.
        var output = Run(upload.Path, limits.MaxPages);

        var pages = PagesLine().Match(output);
        if (!pages.Success || !int.TryParse(pages.Groups[1].Value, CultureInfo.InvariantCulture, out var count) || count < 1)
            throw ImageProbe.Corrupt("The PDF has no pages.");
        if (count > limits.MaxPages) throw ImageProbe.TooManyPages(count.ToString(CultureInfo.InvariantCulture), limits);

        var rotations = RotationLines().Matches(output).ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        long width = 0, height = 0;
        foreach (Match size in SizeLines().Matches(output))
        {
            var page = size.Groups[1].Value;
            var (w, h) = (Pixels(size.Groups[2].Value, limits.PdfDpi), Pixels(size.Groups[3].Value, limits.PdfDpi));
            if (rotations.GetValueOrDefault(page) % 180 == 90) (w, h) = (h, w);
            ImageProbe.CheckSize(w, h, limits, page.Length == 0 ? "The PDF page" : $"PDF page {page.Trim()}");
            if (w * h > width * height) (width, height) = (w, h);
        }
        if (width == 0 || height == 0) throw ImageProbe.Corrupt("The PDF's page size could not be read.");
        return new(ImageFormat.Pdf, (int)width, (int)height, count);
    }

    static string Run(string path, int maxPages)
    {
        using var process = Poppler.Start("pdfinfo", "-f", "1", "-l", maxPages.ToString(CultureInfo.InvariantCulture), path);
        try
        {
            var output = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
                throw ImageProbe.Corrupt("The PDF could not be read in time.");
            if (process.ExitCode != 0)
                throw ImageProbe.Corrupt("The PDF could not be read: it is damaged or encrypted.");
            return output.GetAwaiter().GetResult();
        }
        finally
        {
            Poppler.Stop(process);
        }
    }

    // Same rounding as pdftoppm: ceil(points / 72 × dpi); capped so that width × height cannot overflow.
    static long Pixels(string points, int dpi)
    {
        var value = Math.Ceiling(double.Parse(points, CultureInfo.InvariantCulture) / 72 * dpi);
        return value > 0 ? (long)Math.Min(value, int.MaxValue) : throw ImageProbe.Corrupt("The PDF has an empty page.");
    }

    [GeneratedRegex(@"^Pages:\s+(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex PagesLine();

    // "Page size:" for a one-page range, "Page    3 size:" otherwise.
    [GeneratedRegex(@"^Page\s*(\d*)\s+size:\s+([\d.]+) x ([\d.]+) pts", RegexOptions.Multiline)]
    private static partial Regex SizeLines();

    [GeneratedRegex(@"^Page\s*(\d*)\s+rot:\s+(\d+)", RegexOptions.Multiline)]
    private static partial Regex RotationLines();
}
