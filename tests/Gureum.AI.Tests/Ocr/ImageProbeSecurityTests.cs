using System.Text;
using Gureum.AI.Imaging;
using Gureum.AI.Ocr;

namespace Gureum.AI.Tests.Ocr;

/// <summary>
/// SECURITY-TESTS.md classes, applied to image uploads: "Zip bombs" (a small file that decodes to gigabytes),
/// "Bodies over the configured limit → 413" (pages, sides, pixels), "truncated files → 4xx", "anything else → 415", and
/// "temp directories are 0700, files 0600".
/// </summary>
public class ImageProbeSecurityTests
{
    static readonly ImageLimits Limits = new();

    static AiInputException Refused(byte[] data, int status, ImageLimits? limits = null)
    {
        var e = Assert.Throws<AiInputException>(() => ImageProbe.Probe(data, limits ?? Limits));
        Assert.Equal(status, e.Status);
        Assert.Equal("file", e.Field);
        Assert.DoesNotContain("/tmp", e.Message);
        return e;
    }

    [Fact]
    public void ZipBomb_Png60000x60000_Is413NamingTheLimitAndTheSize()
    {
        var bomb = Documents.Png(60_000, 60_000);
        Assert.True(bomb.Length < 100);

        var e = Refused(bomb, 413);

        Assert.Contains("60000×60000", e.Message);
        Assert.Contains("20000", e.Message);
    }

    [Fact]
    public void ZipBomb_PixelCountOverTheLimit_Is413EvenWithSidesWithin()
    {
        var e = Refused(Documents.Png(10_000, 10_000), 413);

        Assert.Contains("100000000", e.Message);
        Assert.Contains("50000000", e.Message);
    }

    [Fact]
    public void ZipBomb_JpegBmpAndTiffHeaders_Are413()
    {
        Refused(Documents.JpegHeader(60_000, 60_000), 413);
        Refused(Documents.BmpHeader(60_000, 60_000), 413);
        Refused(Documents.Tiff(false, (100, 100, null), (60_000, 60_000, null)), 413);
    }

    [Fact]
    public void ZipBomb_PdfPageTooLargeAtTheDpi_Is413()
    {
        var e = Refused(Documents.Pdf(["huge"], 14_400, 14_400), 413); // 200 inches at 300 dpi = 60 000 pixels

        Assert.Contains("60000×60000", e.Message);
    }

    [Fact]
    public void OverLimit_Pdf5000Pages_Is413NamingTheCount()
    {
        var pdf = Documents.Pdf(Enumerable.Range(1, 5000).Select(i => $"page {i}").ToArray());

        var e = Refused(pdf, 413);

        Assert.Contains("5000", e.Message);
        Assert.Contains("200", e.Message);
    }

    [Fact]
    public void OverLimit_TiffWithMorePagesThanTheLimit_Is413()
    {
        var tiff = Documents.Tiff(true, Enumerable.Repeat((10, 10, (byte[]?)null), 201).ToArray());

        Assert.Contains("more than 200", Refused(tiff, 413).Message);
        Assert.Equal(201, ImageProbe.Probe(tiff, Limits with { MaxPages = 201 }).Pages);
    }

    public static TheoryData<string, byte[]> TruncatedFiles()
    {
        var png = Rendered.Text("Cut", "DejaVu Sans", 12);
        var jpeg = Documents.JpegHeader(100, 100);
        var tiff = Documents.Tiff(true, (10, 10, null), (10, 10, null));
        return new()
        {
            { "empty", [] },
            { "png signature only", png[..8] },
            { "png cut inside its data", png[..(png.Length / 2)] },
            { "png without IDAT", [.. png[..33], .. png[^12..]] },
            { "jpeg before its frame header", jpeg[..10] },
            { "jpeg without a frame header", [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9] },
            { "tiff directory past the end", tiff[..20] },
            { "tiff header only", [.. "II"u8, 42, 0] },
            { "bmp cut in its header", Documents.BmpHeader(10, 10)[..30] },
            { "bmp of zero width", Documents.BmpHeader(0, 10) },
            { "pdf that is only a signature", Encoding.ASCII.GetBytes("%PDF-1.7\ngarbage") },
        };
    }

    [Theory]
    [MemberData(nameof(TruncatedFiles))]
    public void Truncated_OrCorruptHeader_Is400(string _, byte[] data) => Refused(data, 400);

    [Fact]
    public void Truncated_TiffWhoseDirectoriesLoop_Is400NotAHang()
    {
        var tiff = Documents.Tiff(true, (10, 10, null));
        tiff[^4] = 8; // the next-directory offset points back at the first

        Assert.Contains("loop", Refused(tiff, 400).Message);
    }

    public static TheoryData<string, byte[]> UnsupportedFiles() => new()
    {
        { "gif", Encoding.ASCII.GetBytes("GIF89a\x01\x00\x01\x00") },
        { "pickle", [0x80, 0x04, 0x95, 0x00] },
        { "zip", [(byte)'P', (byte)'K', 3, 4, 0, 0] },
        { "text", Encoding.ASCII.GetBytes("hello, world") },
        { "bigtiff", [.. "II"u8, 43, 0, 8, 0, 0, 0] },
        { "os/2 bmp", Documents.BmpHeader(10, 10, headerSize: 12) },
    };

    [Theory]
    [MemberData(nameof(UnsupportedFiles))]
    public void UnsupportedFormat_Is415(string _, byte[] data) => Refused(data, 415);

    [Fact]
    public void UnsupportedFormat_NamesTheAcceptedFormats()
    {
        Assert.Contains("PNG, JPEG, TIFF, BMP or PDF", Refused("GIF89a"u8.ToArray(), 415).Message);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void TempFiles_ForPoppler_ArePrivateAndRemoved()
    {
        string directory;
        using (var upload = new TempUpload("%PDF-1.4"u8))
        {
            directory = Path.GetDirectoryName(upload.Path)!;
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(upload.Path));
            Assert.Equal("upload.pdf", Path.GetFileName(upload.Path));
        }
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public void ZipBomb_PageHandedStraightToTheEngine_IsProbedFirst()
    {
        using var engine = new TesseractEngine();

        var e = Assert.Throws<AiInputException>(() => engine.Recognize(Documents.Png(60_000, 60_000), "eng", 1));

        Assert.Equal((413, "file"), (e.Status, e.Field));
    }
}
