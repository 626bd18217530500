namespace Gureum.AI.Native;

/// <summary>Loads libtesseract and liblept once, or says which packages are missing.</summary>
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
