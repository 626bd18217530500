using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Gureum.AI.Imaging;
using Gureum.AI.Native;

namespace Gureum.AI.Ocr;

/// <summary>
/// One Tesseract handle (not thread-safe: one per pool worker). Loaded once, re-initialised only when a call asks for
/// other languages. Constructor throws <see cref="EngineUnavailableException"/> when libtesseract or the traineddata
/// is missing.
/// </summary>
public sealed class TesseractEngine : IDisposable
{
    readonly Lock _gate = new();
    readonly TessApi _api;
    string? _languages; // what the handle holds; null after a failed re-init

    /// <summary>The header checks every image passes before it is decoded.</summary>
    public ImageLimits Limits { get; init; } = new();

    public TesseractEngine(string languages = "eng")
    {
        OcrLibraries.EnsureLoaded();
        if (TessData.Directory is null)
            throw new EngineUnavailableException("ocr", OcrLibraries.Packages, $"No Tesseract traineddata is installed; install {OcrLibraries.Packages}.");
        string normalized;
        try
        {
            normalized = TessData.Normalize(languages);
        }
        catch (AiInputException e)
        {
            var packages = string.Join(' ', languages.Split('+', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(TessData.PackageOf));
            throw new EngineUnavailableException("ocr", packages, $"OCR languages '{languages}' are not installed; install {packages}.", e);
        }
        _api = Tesseract.TessBaseAPICreate();
        if (!TryInit(normalized))
        {
            _api.Dispose();
            throw new EngineUnavailableException("ocr", OcrLibraries.Packages, $"Tesseract could not load '{normalized}': reinstall {OcrLibraries.Packages}.");
        }
    }

    /// <summary>Languages with a traineddata file installed (eng, kor, ...), sorted.</summary>
    public static IReadOnlyList<string> InstalledLanguages() => TessData.Installed;

    /// <summary>"eng+kor" checked against the installed languages (422 naming them), duplicates dropped.</summary>
    public static string NormalizeLanguages(string languages) => TessData.Normalize(languages);

    /// <summary>Recognises one page image (PNG/JPEG/TIFF page/BMP bytes already probed). languages like "eng+kor".</summary>
    public OcrPage Recognize(ReadOnlySpan<byte> image, string languages, int pageNumber) =>
        Recognize(image, languages, pageNumber, CancellationToken.None);

    /// <summary>As above; cancelling stops Tesseract between words and throws <see cref="OperationCanceledException"/>.</summary>
    public OcrPage Recognize(ReadOnlySpan<byte> image, string languages, int pageNumber, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageNumber, 1);
        var normalized = TessData.Normalize(languages);
        ImageProbe.ProbeRaster(image, Limits);
        ct.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_api.IsClosed, this);
            if (_languages != normalized && !TryInit(normalized))
                throw new InvalidOperationException($"Tesseract could not load '{normalized}' although its traineddata is installed.");
            using var decoded = Leptonica.Read(image)
                ?? throw new AiInputException(ImageProbe.Field, "The image could not be decoded: send a valid PNG, JPEG, TIFF or BMP file.");
            using var page = PageImage.Prepare(decoded);
            // Tesseract's OpenMP threads fight the pool's workers for the cores (a line takes ~5x longer). Turning
            // parallel regions off for this thread only, for this call, leaves the rest of the process (LightGBM
            // training shares libgomp) free to use every core; a process-wide OMP_THREAD_LIMIT would not.
            var levels = Omp.omp_get_max_active_levels();
            Omp.omp_set_max_active_levels(0);
            try
            {
                return Read(page, Leptonica.pixGetYRes(decoded), pageNumber, ct);
            }
            finally
            {
                Omp.omp_set_max_active_levels(levels);
            }
        }
    }

    bool TryInit(string languages)
    {
        _languages = null;
        if (Tesseract.TessBaseAPIInit3(_api, TessData.Directory!, languages) != 0) return false;
        // Init resets the parameters. Mode 6 (one uniform block) reads single lines the automatic mode (3) returns
        // empty for; debug_file keeps Tesseract's per-image warnings off the server's stderr.
        Tesseract.TessBaseAPISetPageSegMode(_api, Tesseract.PsmSingleBlock);
        Tesseract.TessBaseAPISetVariable(_api, "debug_file", "/dev/null");
        _languages = languages;
        return true;
    }

    unsafe OcrPage Read(Pix page, int dpi, int pageNumber, CancellationToken ct)
    {
        Tesseract.TessBaseAPISetImage2(_api, page);
        // Without a credible resolution Tesseract estimates one from the text height.
        if (dpi is >= 70 and <= 2400) Tesseract.TessBaseAPISetSourceResolution(_api, dpi);
        var token = ct.CanBeCanceled ? GCHandle.Alloc(new StrongBox<CancellationToken>(ct)) : default;
        try
        {
            using var monitor = ct.CanBeCanceled ? Tesseract.TessMonitorCreate() : null;
            if (monitor is not null)
            {
                Tesseract.TessMonitorSetCancelFunc(monitor, &IsCancelled);
                Tesseract.TessMonitorSetCancelThis(monitor, GCHandle.ToIntPtr(token));
            }
            var failed = Tesseract.TessBaseAPIRecognize(_api, monitor?.DangerousGetHandle() ?? IntPtr.Zero) != 0;
            ct.ThrowIfCancellationRequested();
            if (failed) return new OcrPage(pageNumber, page.Width, page.Height, "", 0, []);
            var text = Tesseract.TakeText(Tesseract.TessBaseAPIGetUTF8Text(_api)).TrimEnd();
            var confidence = Tesseract.TessBaseAPIMeanTextConf(_api);
            return new OcrPage(pageNumber, page.Width, page.Height, text, text.Length == 0 ? 0 : confidence, ReadLines());
        }
        finally
        {
            Tesseract.TessBaseAPIClear(_api);
            if (token.IsAllocated) token.Free();
        }
    }

    [UnmanagedCallersOnly]
    static int IsCancelled(IntPtr cancelThis, int words) =>
        ((StrongBox<CancellationToken>)GCHandle.FromIntPtr(cancelThis).Target!).Value.IsCancellationRequested ? 1 : 0;

    List<OcrLine> ReadLines()
    {
        var lines = new List<OcrLine>();
        using var iterator = Tesseract.TessBaseAPIGetIterator(_api);
        if (iterator.IsInvalid) return lines;
        var at = Tesseract.TessResultIteratorGetPageIterator(iterator);
        (string Text, BoundingBox Box, float Confidence, List<OcrWord> Words)? line = null;
        do
        {
            if (Tesseract.TessPageIteratorIsAtBeginningOf(at, Tesseract.LevelTextLine) != 0)
            {
                Add(lines, line);
                line = (Text(iterator, Tesseract.LevelTextLine), Box(at, Tesseract.LevelTextLine),
                    Tesseract.TessResultIteratorConfidence(iterator, Tesseract.LevelTextLine), []);
            }
            var word = Text(iterator, Tesseract.LevelWord);
            if (word.Length > 0 && line is not null)
                line.Value.Words.Add(new OcrWord(word, Box(at, Tesseract.LevelWord), Tesseract.TessResultIteratorConfidence(iterator, Tesseract.LevelWord)));
        }
        while (Tesseract.TessResultIteratorNext(iterator, Tesseract.LevelWord) != 0);
        Add(lines, line);
        return lines;

        static void Add(List<OcrLine> lines, (string Text, BoundingBox Box, float Confidence, List<OcrWord> Words)? line)
        {
            if (line is { } l && l.Text.Length > 0) lines.Add(new OcrLine(l.Text, l.Box, l.Confidence, l.Words));
        }
    }

    static string Text(TessIterator iterator, int level) => Tesseract.TakeText(Tesseract.TessResultIteratorGetUTF8Text(iterator, level)).Trim();

    static BoundingBox Box(IntPtr at, int level) =>
        Tesseract.TessPageIteratorBoundingBox(at, level, out var left, out var top, out var right, out var bottom) != 0
            ? new BoundingBox(left, top, right - left, bottom - top)
            : default;

    public void Dispose()
    {
        lock (_gate) _api.Dispose();
    }
}
