namespace Gureum.AI.Imaging;

public enum ImageFormat { Png, Jpeg, Tiff, Bmp, Pdf }

/// <summary>What the header says, read without decoding any pixels.</summary>
/// <param name="Pages">Pages (multi-page TIFF, PDF) or 1.</param>
/// <param name="Width">Pixels of the largest page (PDF: at the rasterisation dpi).</param>
public sealed record ImageInfo(ImageFormat Format, int Width, int Height, int Pages);

public sealed record ImageLimits(long MaxPixels = 50_000_000, int MaxDimension = 20_000, int MaxPages = 200, int PdfDpi = 300);

/// <summary>
/// Identifies an upload by its magic bytes and reads its dimensions and page count from the header, so a
/// decompression bomb (60 000 × 60 000 PNG) or a 5 000-page PDF is refused before a decoder allocates anything.
/// Throws <see cref="AiInputException"/>: 400 empty/truncated/corrupt header (field "file"), 415 not an image
/// (names the accepted formats), 413 over a limit (names the limit and the value seen).
/// </summary>
public static class ImageProbe
{
    public static ImageInfo Probe(ReadOnlySpan<byte> data, ImageLimits limits) => throw new NotImplementedException();
}
