using Gureum.AI.Imaging;
using Gureum.AI.Native;

namespace Gureum.AI.Ocr;

/// <summary>A multi-page TIFF, one page decoded and re-encoded as PNG at a time.</summary>
internal static class TiffPages
{
    internal static IEnumerable<byte[]> Split(byte[] data, int pages, CancellationToken ct)
    {
        OcrLibraries.EnsureLoaded();
        nuint offset = 0; // Leptonica's position of the next page's directory; 0 again after the last
        for (var number = 1; number <= pages; number++)
        {
            ct.ThrowIfCancellationRequested();
            yield return Page(data, ref offset, number);
            if (offset == 0) yield break;
        }
    }

    static unsafe byte[] Page(byte[] data, ref nuint offset, int number)
    {
        fixed (byte* p = data)
        {
            using var pix = Leptonica.pixReadMemFromMultipageTiff(p, (nuint)data.Length, ref offset);
            if (pix.IsInvalid) throw new AiInputException(ImageProbe.Field, $"TIFF page {number} could not be decoded.");
            return Leptonica.Write(pix, Leptonica.IffPng);
        }
    }
}
