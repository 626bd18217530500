using System.Buffers.Binary;
using System.Globalization;
using Gureum.AI.Imaging;

namespace Gureum.AI.Ocr;

/// <summary>
/// A PDF rasterised by one pdftoppm process writing grey PNGs to its stdout. Reading the pipe page by page holds one
/// page in memory and nothing on disk but the upload; an unread pipe stalls pdftoppm, so it never runs far ahead.
/// </summary>
internal static class PdfPages
{
    internal static IEnumerable<byte[]> Rasterise(byte[] data, int pages, int dpi, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var upload = new TempUpload(data);
        // -cropbox: render the box pdfinfo measured, so the probe's size limits hold for the pixels.
        using var process = Poppler.Start("pdftoppm", "-r", dpi.ToString(CultureInfo.InvariantCulture), "-gray", "-png",
            "-cropbox", "-l", pages.ToString(CultureInfo.InvariantCulture), upload.Path);
        using var cancel = ct.Register(() => Poppler.Stop(process));
        try
        {
            var stdout = process.StandardOutput.BaseStream;
            for (var number = 1; number <= pages; number++)
            {
                var page = ReadPng(stdout);
                ct.ThrowIfCancellationRequested();
                yield return page ?? throw new AiInputException(ImageProbe.Field, $"PDF page {number} could not be rendered: the PDF is damaged.");
            }
        }
        finally
        {
            Poppler.Stop(process);
        }
    }

    /// <summary>The next PNG of a concatenated stream (signature, then chunks up to IEND); null at the end or on a cut.</summary>
    static byte[]? ReadPng(Stream stream)
    {
        var png = new MemoryStream();
        var head = new byte[8];
        try
        {
            if (stream.ReadAtLeast(head, 8, throwOnEndOfStream: false) < 8) return null;
            png.Write(head);
            while (true)
            {
                stream.ReadExactly(head); // chunk length and type
                png.Write(head);
                var length = BinaryPrimitives.ReadUInt32BigEndian(head);
                if (length > int.MaxValue) return null;
                var body = new byte[length + 4]; // data and CRC
                stream.ReadExactly(body);
                png.Write(body);
                if (head.AsSpan(4).SequenceEqual("IEND"u8)) return png.ToArray();
            }
        }
        catch (EndOfStreamException)
        {
            return null;
        }
    }
}
