using Gureum.AI.Imaging;

namespace Gureum.AI.Tests.Ocr;

public class ImageProbeTests
{
    static readonly ImageLimits Limits = new();

    [Fact]
    public void Png_SizeFromItsHeader()
    {
        var png = Rendered.Text("Header only", "DejaVu Sans", 12);
        var gray = Gray.FromPng(png);

        Assert.Equal(new ImageInfo(ImageFormat.Png, gray.Width, gray.Height, 1), ImageProbe.Probe(png, Limits));
    }

    [Theory]
    [InlineData(2, ImageFormat.Jpeg)]
    [InlineData(1, ImageFormat.Bmp)]
    [InlineData(10, ImageFormat.Tiff)] // zip-compressed TIFF
    public void LeptonicaWrittenFiles_AreIdentifiedWithTheirSize(int leptonicaFormat, ImageFormat expected)
    {
        var png = Rendered.Text("Formats", "DejaVu Sans", 12);
        var gray = Gray.FromPng(png);

        var info = ImageProbe.Probe(Rendered.Encode(png, leptonicaFormat), Limits);

        Assert.Equal(new ImageInfo(expected, gray.Width, gray.Height, 1), info);
    }

    [Fact]
    public void Jpeg_SkipsSegmentsThatLookLikeAFrameHeader()
    {
        Assert.Equal(new ImageInfo(ImageFormat.Jpeg, 640, 480, 1), ImageProbe.Probe(Documents.JpegHeader(640, 480), Limits));
    }

    [Fact]
    public void Bmp_TopDownRows_HaveAPositiveHeight()
    {
        Assert.Equal(new ImageInfo(ImageFormat.Bmp, 300, 200, 1), ImageProbe.Probe(Documents.BmpHeader(300, -200), Limits));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Tiff_EitherByteOrder_CountsPagesAndReportsTheLargest(bool littleEndian)
    {
        var tiff = Documents.Tiff(littleEndian, (100, 50, null), (400, 300, null), (200, 500, null));

        Assert.Equal(new ImageInfo(ImageFormat.Tiff, 400, 300, 3), ImageProbe.Probe(tiff, Limits));
    }

    [Fact]
    public void Pdf_PageCountAndSizeAtTheRasterisationDpi()
    {
        var pdf = Documents.Pdf(["one", "two"]);

        Assert.Equal(new ImageInfo(ImageFormat.Pdf, 2550, 3300, 2), ImageProbe.Probe(pdf, Limits));
        Assert.Equal(new ImageInfo(ImageFormat.Pdf, 1275, 1650, 2), ImageProbe.Probe(pdf, Limits with { PdfDpi = 150 }));
    }

    [Fact]
    public void Pdf_RotatedPage_SwapsWidthAndHeight()
    {
        Assert.Equal(new ImageInfo(ImageFormat.Pdf, 3300, 2550, 1), ImageProbe.Probe(Documents.Pdf(["landscape"], rotate: 90), Limits));
    }
}
