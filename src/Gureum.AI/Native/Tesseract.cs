using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Gureum.AI.Native;

/// <summary>A TessBaseAPI, ended and deleted when disposed.</summary>
internal sealed class TessApi : SafeHandleZeroOrMinusOneIsInvalid
{
    public TessApi() : base(ownsHandle: true) { }

    protected override bool ReleaseHandle()
    {
        Tesseract.TessBaseAPIEnd(handle);
        Tesseract.TessBaseAPIDelete(handle);
        return true;
    }
}

/// <summary>A TessResultIterator; its page iterator belongs to it.</summary>
internal sealed class TessIterator : SafeHandleZeroOrMinusOneIsInvalid
{
    public TessIterator() : base(ownsHandle: true) { }

    protected override bool ReleaseHandle()
    {
        Tesseract.TessResultIteratorDelete(handle);
        return true;
    }
}

/// <summary>A progress monitor whose cancel callback reads a CancellationToken.</summary>
internal sealed class TessMonitor : SafeHandleZeroOrMinusOneIsInvalid
{
    public TessMonitor() : base(ownsHandle: true) { }

    protected override bool ReleaseHandle()
    {
        Tesseract.TessMonitorDelete(handle);
        return true;
    }
}

/// <summary>libtesseract.so.5's C API (capi.h; its BOOL is an int).</summary>
internal static unsafe partial class Tesseract
{
    const string Lib = "libtesseract.so.5";

    internal const int PsmSingleBlock = 6;
    internal const int LevelTextLine = 2;
    internal const int LevelWord = 3;

    [LibraryImport(Lib)] internal static partial IntPtr TessVersion();
    [LibraryImport(Lib)] internal static partial TessApi TessBaseAPICreate();
    [LibraryImport(Lib)] internal static partial void TessBaseAPIEnd(IntPtr api);
    [LibraryImport(Lib)] internal static partial void TessBaseAPIDelete(IntPtr api);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int TessBaseAPIInit3(TessApi api, string dataPath, string languages);
    [LibraryImport(Lib)] internal static partial void TessBaseAPISetPageSegMode(TessApi api, int mode);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int TessBaseAPISetVariable(TessApi api, string name, string value);
    [LibraryImport(Lib)] internal static partial void TessBaseAPISetImage2(TessApi api, Pix pix);
    [LibraryImport(Lib)] internal static partial void TessBaseAPISetSourceResolution(TessApi api, int ppi);
    [LibraryImport(Lib)] internal static partial int TessBaseAPIRecognize(TessApi api, IntPtr monitor);
    [LibraryImport(Lib)] internal static partial IntPtr TessBaseAPIGetUTF8Text(TessApi api);
    [LibraryImport(Lib)] internal static partial int TessBaseAPIMeanTextConf(TessApi api);
    [LibraryImport(Lib)] internal static partial TessIterator TessBaseAPIGetIterator(TessApi api);
    [LibraryImport(Lib)] internal static partial void TessBaseAPIClear(TessApi api);
    [LibraryImport(Lib)] internal static partial void TessDeleteText(IntPtr text);

    [LibraryImport(Lib)] internal static partial void TessResultIteratorDelete(IntPtr iterator);
    [LibraryImport(Lib)] internal static partial IntPtr TessResultIteratorGetPageIterator(TessIterator iterator);
    [LibraryImport(Lib)] internal static partial IntPtr TessResultIteratorGetUTF8Text(TessIterator iterator, int level);
    [LibraryImport(Lib)] internal static partial float TessResultIteratorConfidence(TessIterator iterator, int level);
    [LibraryImport(Lib)] internal static partial int TessResultIteratorNext(TessIterator iterator, int level);
    [LibraryImport(Lib)] internal static partial int TessPageIteratorIsAtBeginningOf(IntPtr pageIterator, int level);
    [LibraryImport(Lib)]
    internal static partial int TessPageIteratorBoundingBox(IntPtr pageIterator, int level, out int left, out int top, out int right, out int bottom);

    [LibraryImport(Lib)] internal static partial TessMonitor TessMonitorCreate();
    [LibraryImport(Lib)] internal static partial void TessMonitorDelete(IntPtr monitor);
    [LibraryImport(Lib)] internal static partial void TessMonitorSetCancelFunc(TessMonitor monitor, delegate* unmanaged<IntPtr, int, int> cancel);
    [LibraryImport(Lib)] internal static partial void TessMonitorSetCancelThis(TessMonitor monitor, IntPtr cancelThis);

    /// <summary>Copies a string Tesseract allocated, then frees it.</summary>
    internal static string TakeText(IntPtr text)
    {
        if (text == IntPtr.Zero) return "";
        try
        {
            return Marshal.PtrToStringUTF8(text) ?? "";
        }
        finally
        {
            TessDeleteText(text);
        }
    }
}
