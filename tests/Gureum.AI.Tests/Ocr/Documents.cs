using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Gureum.AI.Tests.Ocr;

/// <summary>Files written byte by byte: multi-page TIFFs in either byte order, PDFs, and bare image headers for the probe.</summary>
internal static class Documents
{
    /// <summary>Uncompressed 8-bit grey TIFF, one directory per page; a page without pixels has only its header fields.</summary>
    internal static byte[] Tiff(bool littleEndian, params (int Width, int Height, byte[]? Pixels)[] pages)
    {
        var file = new List<byte>();
        void U16(int v) { var b = new byte[2]; if (littleEndian) BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); else BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)v); file.AddRange(b); }
        void U32(long v) { var b = new byte[4]; if (littleEndian) BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)v); else BinaryPrimitives.WriteUInt32BigEndian(b, (uint)v); file.AddRange(b); }
        void Entry(int tag, int type, long value) { U16(tag); U16(type); U32(1); if (type == 3) { U16((int)value); U16(0); } else U32(value); }

        file.AddRange(littleEndian ? "II"u8.ToArray() : "MM"u8.ToArray());
        U16(42);
        U32(8);
        for (var i = 0; i < pages.Length; i++)
        {
            var (width, height, pixels) = pages[i];
            var pixelsAt = file.Count + 2 + 9 * 12 + 4;
            U16(9);
            Entry(256, 4, width);
            Entry(257, 4, height);
            Entry(258, 3, 8);                    // bits per sample
            Entry(259, 3, 1);                    // no compression
            Entry(262, 3, 1);                    // black is zero
            Entry(273, 4, pixels is null ? 0 : pixelsAt);
            Entry(277, 3, 1);                    // samples per pixel
            Entry(278, 4, height);               // rows per strip
            Entry(279, 4, pixels?.Length ?? 0);
            var next = pixelsAt + (pixels?.Length ?? 0);
            next += next % 2;
            U32(i == pages.Length - 1 ? 0 : next);
            if (pixels is not null) file.AddRange(pixels);
            if (file.Count % 2 == 1) file.Add(0);
        }
        return [.. file];
    }

    internal static byte[] Tiff(bool littleEndian, params Gray[] pages) =>
        Tiff(littleEndian, pages.Select(p => (p.Width, p.Height, (byte[]?)p.Pixels)).ToArray());

    /// <summary>A PDF whose pages each show their text in Helvetica at 24 pt from the top left.</summary>
    internal static byte[] Pdf(IReadOnlyList<string> pageTexts, double widthPoints = 612, double heightPoints = 792, int rotate = 0)
    {
        var objects = new List<string>
        {
            "<< /Type /Catalog /Pages 2 0 R >>",
            $"<< /Type /Pages /Kids [{string.Join(' ', pageTexts.Select((_, i) => $"{4 + 2 * i} 0 R"))}] /Count {pageTexts.Count} >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        };
        var box = string.Create(CultureInfo.InvariantCulture, $"[0 0 {widthPoints} {heightPoints}]");
        for (var i = 0; i < pageTexts.Count; i++)
        {
            objects.Add($"<< /Type /Page /Parent 2 0 R /MediaBox {box} /Rotate {rotate} /Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>");
            var content = $"BT /F1 24 Tf 72 {heightPoints - 100} Td ({pageTexts[i]}) Tj ET";
            objects.Add($"<< /Length {content.Length} >>\nstream\n{content}\nendstream");
        }
        var pdf = new StringBuilder("%PDF-1.4\n");
        var offsets = new List<int>();
        for (var i = 0; i < objects.Count; i++)
        {
            offsets.Add(pdf.Length);
            pdf.Append(CultureInfo.InvariantCulture, $"{i + 1} 0 obj\n{objects[i]}\nendobj\n");
        }
        var xref = pdf.Length;
        pdf.Append(CultureInfo.InvariantCulture, $"xref\n0 {objects.Count + 1}\n0000000000 65535 f \n");
        foreach (var offset in offsets) pdf.Append(CultureInfo.InvariantCulture, $"{offset:D10} 00000 n \n");
        pdf.Append(CultureInfo.InvariantCulture, $"trailer\n<< /Size {objects.Count + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        return Encoding.ASCII.GetBytes(pdf.ToString());
    }

    /// <summary>Signature, IHDR (8-bit grey), one IDAT of a zlib stream of zeros, IEND: tiny whatever the size it claims.</summary>
    internal static byte[] Png(uint width, uint height)
    {
        var png = new List<byte> { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };
        var header = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, width);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]); // zlib of one zero byte
        Chunk(png, "IEND", []);
        return [.. png];
    }

    static void Chunk(List<byte> png, string type, byte[] data)
    {
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        var field = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(field, (uint)data.Length);
        png.AddRange(field);
        png.AddRange(typed);
        BinaryPrimitives.WriteUInt32BigEndian(field, Crc32(typed));
        png.AddRange(field);
    }

    static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>SOI, an APP1 holding bytes that look like a frame header (as an EXIF thumbnail does), the real SOF0, SOS.</summary>
    internal static byte[] JpegHeader(ushort width, ushort height)
    {
        byte[] decoy = [0xFF, 0xE1, 0x00, 0x0B, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10];
        byte[] frame = [0xFF, 0xC0, 0x00, 0x0B, 0x08, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 0x01, 0x01, 0x11, 0x00];
        return [0xFF, 0xD8, .. decoy, .. frame, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0xFF, 0xD9];
    }

    /// <summary>A Windows BMP header (BITMAPINFOHEADER) claiming the given size, with one byte of pixels.</summary>
    internal static byte[] BmpHeader(int width, int height, int headerSize = 40)
    {
        var bmp = new byte[14 + Math.Max(headerSize, 12) + 1];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), bmp.Length - 1);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), headerSize);
        if (headerSize < 40) return bmp;
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteUInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(bmp.AsSpan(28), 24);
        return bmp;
    }
}
