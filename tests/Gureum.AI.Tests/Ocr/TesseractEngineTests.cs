using Gureum.AI.Native;
using Gureum.AI.Ocr;

namespace Gureum.AI.Tests.Ocr;

public class TesseractEngineTests(Engines engines) : IClassFixture<Engines>
{
    const string Sentence = "The quick brown fox jumps over the lazy dog.";

    TesseractEngine Engine => engines.English;

    void AssertReadsSentence() => Assert.Equal(Sentence, Engine.Recognize(Rendered.Text(Sentence, "DejaVu Sans", 12), "eng", 1).Text);

    [Fact]
    public void Page_HasLinesOfWordsWithBoxesAndConfidence()
    {
        var image = Rendered.Text(Sentence, "DejaVu Sans", 12);
        var size = Gray.FromPng(image);

        var page = Engine.Recognize(image, "eng", 3);

        Assert.Equal((3, size.Width, size.Height), (page.Number, page.Width, page.Height));
        Assert.InRange(page.Confidence, 80, 100);
        var line = Assert.Single(page.Lines);
        Assert.Equal(Sentence, line.Text);
        Assert.Equal(Sentence.Split(' '), line.Words.Select(w => w.Text));
        Assert.All(line.Words, w =>
        {
            Assert.InRange(w.Confidence, 50, 100);
            Assert.InRange(w.Box.X, line.Box.X, line.Box.X + line.Box.Width);
            Assert.InRange(w.Box.Y + w.Box.Height, line.Box.Y, line.Box.Y + line.Box.Height);
            Assert.True(w.Box.Width > 0 && w.Box.Height > 0);
        });
        Assert.Equal(line.Words.OrderBy(w => w.Box.X), line.Words);
        Assert.InRange(line.Box.X, 40, 80); // pango's 60-pixel margin
    }

    [Theory]
    [InlineData(2)]  // JPEG
    [InlineData(1)]  // BMP
    [InlineData(10)] // TIFF
    public void OtherFormats_AreRead(int leptonicaFormat)
    {
        var image = Rendered.Encode(Rendered.Text(Sentence, "DejaVu Sans", 12), leptonicaFormat);

        Assert.Equal(Sentence, Engine.Recognize(image, "eng", 1).Text);
    }

    [Fact]
    public void BlankPage_HasNoLines()
    {
        var page = Engine.Recognize(new Gray(600, 400, Enumerable.Repeat((byte)255, 600 * 400).ToArray()).ToPng(), "eng", 1);

        Assert.Equal(("", 0f), (page.Text, page.Confidence));
        Assert.Empty(page.Lines);
    }

    [Fact]
    public void CorruptImage_Is400_AndTheEngineStillWorks()
    {
        var png = Rendered.Text(Sentence, "DejaVu Sans", 12);
        var idat = png.AsSpan().IndexOf("IDAT"u8);
        new Random(1).NextBytes(png.AsSpan(idat + 8, 200)); // chunk structure intact: the probe passes, the decoder fails

        foreach (var bad in new[] { png, Documents.JpegHeader(100, 100), Documents.BmpHeader(10, 10) })
        {
            var e = Assert.Throws<AiInputException>(() => Engine.Recognize(bad, "eng", 1));
            Assert.Equal((400, "file"), (e.Status, e.Field));
            Assert.Contains("could not be decoded", e.Message);
            AssertReadsSentence();
        }
    }

    [Fact]
    public void UnknownLanguage_Is422_ListingTheInstalledOnes()
    {
        var e = Assert.Throws<AiInputException>(() => Engine.Recognize(Rendered.Text(Sentence, "DejaVu Sans", 12), "eng+xyz", 1));

        Assert.Equal((422, "languages"), (e.Status, e.Field));
        Assert.Contains("'xyz'", e.Message);
        Assert.Contains("eng, kor", e.Message);
        AssertReadsSentence();
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("/usr/share/tesseract-ocr/5/tessdata/eng")]
    [InlineData("eng\nkor")]
    [InlineData("")]
    public void PathsAndNames_LanguageThatIsAPath_Is422WithoutEchoingIt(string languages)
    {
        var e = Assert.Throws<AiInputException>(() => Engine.Recognize(Rendered.Text(Sentence, "DejaVu Sans", 12), languages, 1));

        Assert.Equal(422, e.Status);
        Assert.DoesNotContain("/", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void Languages_SwitchOnTheSameEngine()
    {
        var korean = OcrAccuracyTests.Korean[1];

        Assert.Equal(korean, Engine.Recognize(Rendered.Text(korean, "NanumGothic", 12), "kor", 1).Text);
        Assert.Equal("Seoul 서울입니다.", Engine.Recognize(Rendered.Text("Seoul 서울입니다.", "NanumGothic", 12), "kor+eng", 1).Text);
        AssertReadsSentence();
    }

    [Fact]
    public void InstalledLanguages_AreSortedTraineddataWithoutOsd()
    {
        var installed = TesseractEngine.InstalledLanguages();

        Assert.Contains("eng", installed);
        Assert.Contains("kor", installed);
        Assert.DoesNotContain("osd", installed);
        Assert.Equal(installed.Order(StringComparer.Ordinal), installed);
    }

    [Fact]
    public void Constructor_LanguageNotInstalled_IsEngineUnavailableNamingThePackage()
    {
        var e = Assert.Throws<EngineUnavailableException>(() => new TesseractEngine("chi_sim"));

        Assert.Equal(("ocr", "tesseract-ocr-chi-sim"), (e.Engine, e.Packages));
    }

    /// <summary>OpenMP is off only inside a recognition: the thread keeps its setting for other OpenMP users (LightGBM).</summary>
    [Fact]
    public void OpenMp_IsOffDuringRecognition_AndRestoredAfter()
    {
        var before = Omp.omp_get_max_active_levels();
        Assert.True(before > 0);

        Engine.Recognize(Rendered.Text("OpenMP stays on elsewhere", "DejaVu Sans", 12), "eng", 1);

        Assert.Equal(before, Omp.omp_get_max_active_levels());
    }

    [Fact]
    public void Pdf_IsRefusedWith415_PagesFirst()
    {
        var e = Assert.Throws<AiInputException>(() => Engine.Recognize(Documents.Pdf(["x"]), "eng", 1));

        Assert.Equal(415, e.Status);
    }

    [Fact]
    public void Cancelled_BeforeOrDuring_ThrowsAndTheEngineStillWorks()
    {
        var page = Rendered.Text(string.Join('\n', Enumerable.Repeat(Sentence, 80)), "DejaVu Sans", 11);
        using var before = new CancellationTokenSource();
        before.Cancel();
        using var during = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        Assert.Throws<OperationCanceledException>(() => Engine.Recognize(page, "eng", 1, before.Token));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Throws<OperationCanceledException>(() => Engine.Recognize(page, "eng", 1, during.Token));
        Assert.InRange(watch.ElapsedMilliseconds, 0, 1500); // the whole page takes ~3 s
        AssertReadsSentence();
    }

    [Fact]
    public void Disposed_ThrowsObjectDisposed()
    {
        var engine = new TesseractEngine();
        engine.Dispose();
        engine.Dispose();

        Assert.Throws<ObjectDisposedException>(() => engine.Recognize(Rendered.Text(Sentence, "DejaVu Sans", 12), "eng", 1));
    }
}
