using Gureum.AI.Imaging;
using Gureum.AI.Ocr;

namespace Gureum.AI.Tests.Ocr;

/// <summary>Alone, so the temp folders seen are the ones these tests made.</summary>
[CollectionDefinition(nameof(OcrDocumentTests), DisableParallelization = true)]
public sealed class TempFolderCollection;

[Collection(nameof(OcrDocumentTests))]
public class OcrDocumentTests(Engines engines) : IClassFixture<Engines>
{
    static readonly ImageLimits Limits = new();
    static readonly string[] Numbers = ["Page one", "Page two", "Page three"];

    static string[] TempFolders() => Directory.GetDirectories(Path.GetTempPath(), "gureum-ocr-*");

    [Fact]
    public void SingleImage_IsItself()
    {
        var png = Rendered.Text("alone", "DejaVu Sans", 12);

        Assert.Same(png, Assert.Single(OcrDocument.Pages(png, ImageProbe.Probe(png, Limits), Limits, CancellationToken.None)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MultiPageTiff_GivesItsPagesInOrder(bool littleEndian)
    {
        var pages = Numbers.Select((text, i) => Gray.FromPng(Rendered.Text(text, "DejaVu Sans", 12 + 4 * i))).ToArray();
        var tiff = Documents.Tiff(littleEndian, pages);
        var info = ImageProbe.Probe(tiff, Limits);

        var split = OcrDocument.Pages(tiff, info, Limits, CancellationToken.None).ToList();

        Assert.Equal(3, info.Pages);
        Assert.Equal(pages.Select(p => (p.Width, p.Height)), split.Select(p => ImageProbe.Probe(p, Limits)).Select(i => (i.Width, i.Height)));
        Assert.Equal(Numbers, split.Select((p, i) => engines.English.Recognize(p, "eng", i + 1).Text));
    }

    [Fact]
    public void Pdf_TwoPages_AreCountedAndRasterisedInOrder()
    {
        var pdf = Documents.Pdf(["Page number 1", "Page number 2"]);
        var info = ImageProbe.Probe(pdf, Limits);

        var pages = OcrDocument.Pages(pdf, info, Limits, CancellationToken.None).ToList();

        Assert.Equal(2, info.Pages);
        Assert.All(pages, p => Assert.Equal(new ImageInfo(ImageFormat.Png, 2550, 3300, 1), ImageProbe.Probe(p, Limits)));
        Assert.Equal(["Page number 1", "Page number 2"], pages.Select((p, i) => engines.English.Recognize(p, "eng", i + 1).Text));
    }

    [Fact]
    public void Pdf_CancelledMidway_StopsAndRemovesItsTempFolder()
    {
        var pdf = Documents.Pdf(Enumerable.Range(1, 20).Select(i => $"Page {i}").ToArray());
        var info = ImageProbe.Probe(pdf, Limits);
        var before = TempFolders();
        using var cancel = new CancellationTokenSource();

        using (var pages = OcrDocument.Pages(pdf, info, Limits, cancel.Token).GetEnumerator())
        {
            Assert.True(pages.MoveNext());
            Assert.Single(TempFolders().Except(before));
            cancel.Cancel();
            Assert.Throws<OperationCanceledException>(() => pages.MoveNext());
        }

        Assert.Empty(TempFolders().Except(before));
    }

    [Fact]
    public void Pdf_LeftAfterOnePage_RemovesItsTempFolder()
    {
        var pdf = Documents.Pdf(Enumerable.Range(1, 20).Select(i => $"Page {i}").ToArray());
        var before = TempFolders();

        var first = OcrDocument.Pages(pdf, ImageProbe.Probe(pdf, Limits), Limits, CancellationToken.None).First();

        Assert.Equal(2550, ImageProbe.Probe(first, Limits).Width);
        Assert.Empty(TempFolders().Except(before));
    }

    [Fact]
    public void Pages_AlreadyCancelled_ThrowsOnFirstPage()
    {
        var png = Rendered.Text("never", "DejaVu Sans", 12);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.Throws<OperationCanceledException>(() => OcrDocument.Pages(png, ImageProbe.Probe(png, Limits), Limits, cancel.Token).First());
    }
}
