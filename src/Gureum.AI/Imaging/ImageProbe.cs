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
    internal const string Field = "file";
    const string Accepted = "PNG, JPEG, TIFF, BMP or PDF";
    static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    static ReadOnlySpan<byte> JpegSignature => [0xFF, 0xD8, 0xFF];

    public static ImageInfo Probe(ReadOnlySpan<byte> data, ImageLimits limits) =>
        Identify(data) == ImageFormat.Pdf ? PdfHeader.Read(data, limits) : ProbeRaster(data, limits);

    /// <summary>Like <see cref="Probe"/> for a page image; a PDF is identified but not opened (no pdfinfo process).</summary>
    internal static ImageInfo ProbeRaster(ReadOnlySpan<byte> data, ImageLimits limits) => Identify(data) switch
    {
        ImageFormat.Png => RasterHeaders.Png(data, limits),
        ImageFormat.Jpeg => RasterHeaders.Jpeg(data, limits),
        ImageFormat.Bmp => RasterHeaders.Bmp(data, limits),
        ImageFormat.Tiff => TiffHeader.Read(data, limits),
        _ => throw AiInputException.Unsupported(Field, "A PDF has pages: split it into page images first."),
    };

    static ImageFormat Identify(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) throw Corrupt("The file is empty.");
        if (data.StartsWith(PngSignature)) return ImageFormat.Png;
        if (data.StartsWith(JpegSignature)) return ImageFormat.Jpeg;
        if (data.StartsWith("II"u8) || data.StartsWith("MM"u8)) return ImageFormat.Tiff;
        if (data.StartsWith("BM"u8)) return ImageFormat.Bmp;
        if (data.StartsWith("%PDF-"u8)) return ImageFormat.Pdf;
        throw AiInputException.Unsupported(Field, $"The file is not a supported image: send {Accepted}.");
    }

    /// <summary>Refuses a page a decoder would need too much memory for; every page is checked, not only the largest.</summary>
    internal static void CheckSize(long width, long height, ImageLimits limits, string what = "The image")
    {
        if (width > limits.MaxDimension || height > limits.MaxDimension)
            throw AiInputException.TooLarge(Field,
                $"{what} is {width}×{height} pixels; each side may be at most {limits.MaxDimension} pixels.");
        if (width * height > limits.MaxPixels)
            throw AiInputException.TooLarge(Field,
                $"{what} is {width}×{height} = {width * height} pixels; the limit is {limits.MaxPixels} pixels.");
    }

    internal static AiInputException TooManyPages(string seen, ImageLimits limits) =>
        AiInputException.TooLarge(Field, $"The document has {seen} pages; the limit is {limits.MaxPages} pages.");

    internal static AiInputException Corrupt(string message) => new(Field, message, 400);

    internal static AiInputException Truncated(string format) =>
        Corrupt($"The {format} file is truncated or its header is corrupt: send the complete file.");
}
