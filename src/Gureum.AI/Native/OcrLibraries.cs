namespace Gureum.AI.Native;

/// <summary>Loads libtesseract and liblept once, with the environment libgomp must see when it loads.</summary>
internal static class OcrLibraries
{
    internal const string Packages = "libtesseract5 tesseract-ocr-eng";

    static readonly Lock Gate = new();
    static bool _loaded;

    internal static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            // libgomp reads OMP_THREAD_LIMIT once, when libtesseract pulls it in; without the limit OpenMP threads
            // fight over the cores and a line takes ~5x longer. overwrite=0 keeps a value the launcher chose.
            LibC.SetEnv("OMP_THREAD_LIMIT", "1", overwrite: 0);
            try
            {
                Tesseract.TessVersion();
                Leptonica.setMsgSeverity(Leptonica.SeverityNone);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                throw new EngineUnavailableException("ocr", Packages,
                    $"OCR is not available: libtesseract.so.5 or liblept.so.5 could not be loaded; install {Packages}.", e);
            }
            _loaded = true;
        }
    }
}
