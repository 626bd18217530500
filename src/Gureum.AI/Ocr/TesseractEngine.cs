namespace Gureum.AI.Ocr;

/// <summary>
/// One Tesseract handle (not thread-safe: one per pool worker). Loaded once, re-initialised only when a call asks for
/// other languages. Constructor throws <see cref="EngineUnavailableException"/> when libtesseract or the traineddata
/// is missing.
/// </summary>
public sealed class TesseractEngine : IDisposable
{
    public TesseractEngine(string languages = "eng") => throw new NotImplementedException();

    /// <summary>Languages with a traineddata file installed (eng, kor, ...), sorted.</summary>
    public static IReadOnlyList<string> InstalledLanguages() => throw new NotImplementedException();

    /// <summary>Recognises one page image (PNG/JPEG/TIFF page/BMP bytes already probed). languages like "eng+kor".</summary>
    public OcrPage Recognize(ReadOnlySpan<byte> image, string languages, int pageNumber) => throw new NotImplementedException();

    public void Dispose() { }
}

/// <summary>Splits a probed document into page images Tesseract can read.</summary>
public static class OcrDocument
{
    /// <summary>
    /// Each page as encoded image bytes: the image itself, each frame of a multi-page TIFF, or each page of a PDF
    /// rasterised with poppler at <see cref="Imaging.ImageLimits.PdfDpi"/> (one pdftoppm process per document, never per
    /// request on the image path). Lazily, so the caller can report progress and stop.
    /// </summary>
    public static IEnumerable<byte[]> Pages(byte[] data, Imaging.ImageInfo info, Imaging.ImageLimits limits, CancellationToken ct)
        => throw new NotImplementedException();
}
