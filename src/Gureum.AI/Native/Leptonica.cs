using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Gureum.AI.Native;

/// <summary>A Leptonica PIX, destroyed when disposed (every path, including a failed decode).</summary>
internal sealed class Pix : SafeHandleZeroOrMinusOneIsInvalid
{
    public Pix() : base(ownsHandle: true) { }

    public int Width => Leptonica.pixGetWidth(this);
    public int Height => Leptonica.pixGetHeight(this);
    public int Depth => Leptonica.pixGetDepth(this);

    protected override bool ReleaseHandle()
    {
        var pix = handle;
        Leptonica.pixDestroy(ref pix);
        return true;
    }
}

/// <summary>liblept.so.5 (Debian's liblept5; the versioned name so the -dev package is not needed).</summary>
internal static unsafe partial class Leptonica
{
    const string Lib = "liblept.so.5";

    internal const int IffPng = 3;
    internal const int IffPnm = 11;
    /// <summary>L_SEVERITY_NONE: bad uploads are reported as exceptions, not as lines on stderr.</summary>
    internal const int SeverityNone = 6;

    [LibraryImport(Lib)] internal static partial int setMsgSeverity(int severity);
    [LibraryImport(Lib)] internal static partial Pix pixReadMem(byte* data, nuint size);
    [LibraryImport(Lib)] internal static partial Pix pixReadMemFromMultipageTiff(byte* data, nuint size, ref nuint offset);
    [LibraryImport(Lib)] internal static partial int pixWriteMem(out IntPtr data, out nuint size, Pix pix, int format);
    [LibraryImport(Lib)] internal static partial void pixDestroy(ref IntPtr pix);
    [LibraryImport(Lib)] internal static partial void lept_free(IntPtr data);
    [LibraryImport(Lib)] internal static partial int pixGetWidth(Pix pix);
    [LibraryImport(Lib)] internal static partial int pixGetHeight(Pix pix);
    [LibraryImport(Lib)] internal static partial int pixGetDepth(Pix pix);
    [LibraryImport(Lib)] internal static partial int pixGetSpp(Pix pix);
    [LibraryImport(Lib)] internal static partial int pixGetYRes(Pix pix);
    [LibraryImport(Lib)] internal static partial Pix pixConvertTo8(Pix pix, int colormapFlag);
    [LibraryImport(Lib)] internal static partial Pix pixAlphaBlendUniform(Pix pix, uint color);
    [LibraryImport(Lib)] internal static partial Pix pixMedianFilter(Pix pix, int halfWidth, int halfHeight);
    [LibraryImport(Lib)]
    internal static partial Pix pixSelectBySize(Pix pix, int width, int height, int connectivity, int type, int relation, out int changed);
    [LibraryImport(Lib)] internal static partial int pixCountPixels(Pix pix, out int count, IntPtr table);
    [LibraryImport(Lib)] internal static partial Pix pixConvertTo1(Pix pix, int threshold);
    [LibraryImport(Lib)]
    internal static partial int pixFindSkewSweepAndSearch(Pix pix, out float angle, out float confidence, int redSweep, int redSearch,
        float sweepRange, float sweepDelta, float minBinarySearchDelta);
    [LibraryImport(Lib)] internal static partial Pix pixRotate(Pix pix, float radians, int type, int incolor, int width, int height);

    /// <summary>Decodes any format Leptonica reads; null when it cannot.</summary>
    internal static Pix? Read(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            var pix = pixReadMem(p, (nuint)data.Length);
            if (!pix.IsInvalid) return pix;
            pix.Dispose();
            return null;
        }
    }

    internal static byte[] Write(Pix pix, int format)
    {
        if (pixWriteMem(out var data, out var size, pix, format) != 0 || data == IntPtr.Zero)
            throw new InvalidOperationException("Leptonica could not encode the page image.");
        try
        {
            return new ReadOnlySpan<byte>((void*)data, checked((int)size)).ToArray();
        }
        finally
        {
            lept_free(data);
        }
    }
}
