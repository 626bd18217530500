using Gureum.AI.Native;

namespace Gureum.AI.Ocr;

/// <summary>What Tesseract is given: 8-bit grey on white, despeckled when noisy, deskewed when visibly rotated.</summary>
internal static class PageImage
{
    const uint White = 0xFFFFFF00; // 0xRRGGBBAA
    const int BinaryThreshold = 160;
    // Share of dark pixels in specks (components within 2×2) above which the page is noisy: measured 0–0.02 on clean
    // text from 3 to 16 pt at 300 dpi, 0.20–0.76 with Gaussian or salt-and-pepper noise. A 3×3 median then took noisy
    // lines from invented text (CER up to 50, seconds per line) to CER ≤ 0.03; on clean small text it costs
    // characters, hence only when noisy.
    const double SpeckShare = 0.10;
    // Leptonica's default sweep is ±7°; a scan fed in by hand is often skewed more.
    const float SweepDegrees = 12;
    // Tesseract's line finder copes with small skew, and rotating a straight line by a fraction of a degree made it
    // read a ghost line; a single text line's skew is found accurately but with low confidence (1.7–4 measured, where
    // Leptonica's own deskew wants 3), hence our thresholds.
    const float MinDegrees = 1;
    const float MinConfidence = 1.5f;

    /// <summary>A new image (the caller disposes it); <paramref name="decoded"/> is left as it was.</summary>
    internal static Pix Prepare(Pix decoded)
    {
        // A transparent background is often black underneath: lay it over white before dropping colour.
        using var opaque = Leptonica.pixGetSpp(decoded) == 4 ? Leptonica.pixAlphaBlendUniform(decoded, White) : null;
        var page = Leptonica.pixConvertTo8(opaque ?? decoded, 0);
        try
        {
            if (page.IsInvalid) throw new AiInputException(Imaging.ImageProbe.Field, "The image has an unsupported pixel format: send 8-bit grey or RGB.");
            page = Replace(page, Despeckled(page));
            return Replace(page, Deskewed(page));
        }
        catch
        {
            page.Dispose();
            throw;
        }
    }

    static Pix? Despeckled(Pix gray)
    {
        using var binary = Leptonica.pixConvertTo1(gray, BinaryThreshold);
        using var specks = Leptonica.pixSelectBySize(binary, 2, 2, 8, 6 /*both sides*/, 3 /*at most*/, out _);
        if (binary.IsInvalid || specks.IsInvalid
            || Leptonica.pixCountPixels(binary, out var dark, IntPtr.Zero) != 0
            || Leptonica.pixCountPixels(specks, out var speckled, IntPtr.Zero) != 0
            || speckled <= SpeckShare * dark)
            return null;
        return Leptonica.pixMedianFilter(gray, 3, 3);
    }

    static Pix? Deskewed(Pix gray)
    {
        using var binary = Leptonica.pixConvertTo1(gray, BinaryThreshold);
        if (binary.IsInvalid
            || Leptonica.pixFindSkewSweepAndSearch(binary, out var degrees, out var confidence, 4, 2, SweepDegrees, 1, 0.01f) != 0
            || confidence < MinConfidence || Math.Abs(degrees) < MinDegrees)
            return null;
        return Leptonica.pixRotate(gray, degrees * MathF.PI / 180, 1 /*area map*/, 1 /*white in*/, 0, 0);
    }

    /// <summary>The next stage's image when there is one, freeing the previous.</summary>
    static Pix Replace(Pix current, Pix? next)
    {
        if (next is null) return current;
        if (next.IsInvalid)
        {
            next.Dispose();
            return current;
        }
        current.Dispose();
        return next;
    }
}
