using Gureum.AI.Imaging;

namespace Gureum.AI.Ocr;

/// <summary>Splits a probed document into page images Tesseract can read.</summary>
public static class OcrDocument
{
    /// <summary>
    /// Each page as encoded image bytes: the image itself, each frame of a multi-page TIFF, or each page of a PDF
    /// rasterised with poppler at <see cref="Imaging.ImageLimits.PdfDpi"/> (one pdftoppm process per document, never per
    /// request on the image path). Lazily, so the caller can report progress and stop.
    /// </summary>
    public static IEnumerable<byte[]> Pages(byte[] data, ImageInfo info, ImageLimits limits, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(data);
        return info.Format switch
        {
            ImageFormat.Pdf => PdfPages.Rasterise(data, info.Pages, limits.PdfDpi, ct),
            ImageFormat.Tiff when info.Pages > 1 => TiffPages.Split(data, info.Pages, ct),
            _ => Single(data, ct),
        };
    }

    static IEnumerable<byte[]> Single(byte[] data, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        yield return data;
    }
}
