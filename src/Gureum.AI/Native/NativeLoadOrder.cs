using System.Runtime.InteropServices;

namespace Gureum.AI.Native;

/// <summary>
/// OpenCvSharp's native library carries its own copies of libjpeg and libtiff. Loaded before Leptonica (Tesseract's
/// image library), it leaves Leptonica's decoders bound to a mix of copies and OCR corrupts the heap within seconds
/// (measured: "double free or corruption", segfaults on plain PNGs). Loaded after, both work side by side, with
/// faces and OCR running concurrently. So every path that can load OpenCV first loads the OCR libraries.
/// </summary>
public static class NativeLoadOrder
{
    private static int _done;

    /// <summary>Loads libtesseract and liblept if they are installed; cheap after the first call.</summary>
    public static void LoadOcrLibrariesFirst()
    {
        if (Interlocked.Exchange(ref _done, 1) == 1) return;
        NativeLibrary.TryLoad("liblept.so.5", out _);
        NativeLibrary.TryLoad("libtesseract.so.5", out _);
    }
}
