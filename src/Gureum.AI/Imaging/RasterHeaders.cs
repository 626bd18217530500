using System.Buffers.Binary;

namespace Gureum.AI.Imaging;

/// <summary>Single-image formats: dimensions from the header, and enough structure walked to catch a cut-off upload.</summary>
internal static class RasterHeaders
{
    internal static ImageInfo Png(ReadOnlySpan<byte> data, ImageLimits limits)
    {
        // Signature (8), then IHDR must be the first chunk: length 13, type, width, height, depth, colour type, ...
        if (data.Length < 33) throw ImageProbe.Truncated("PNG");
        if (BinaryPrimitives.ReadUInt32BigEndian(data[8..]) != 13 || !data[12..16].SequenceEqual("IHDR"u8))
            throw ImageProbe.Corrupt("The PNG file does not start with an IHDR header.");
        var width = BinaryPrimitives.ReadUInt32BigEndian(data[16..]);
        var height = BinaryPrimitives.ReadUInt32BigEndian(data[20..]);
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue || !PngDepthValid(data[24], data[25]))
            throw ImageProbe.Corrupt("The PNG header is corrupt.");
        ImageProbe.CheckSize(width, height, limits);

        var hasData = false;
        for (var at = 33; ; )
        {
            if (at > data.Length - 12) throw ImageProbe.Truncated("PNG");
            var length = BinaryPrimitives.ReadUInt32BigEndian(data[at..]);
            var type = data.Slice(at + 4, 4);
            if (length > int.MaxValue || length > (uint)(data.Length - at - 12)) throw ImageProbe.Truncated("PNG");
            if (type.SequenceEqual("IEND"u8)) break;
            hasData |= type.SequenceEqual("IDAT"u8);
            at += 12 + (int)length;
        }
        if (!hasData) throw ImageProbe.Corrupt("The PNG file has no image data.");
        return new(ImageFormat.Png, (int)width, (int)height, 1);
    }

    static bool PngDepthValid(byte depth, byte colourType) => colourType switch
    {
        0 => depth is 1 or 2 or 4 or 8 or 16,
        3 => depth is 1 or 2 or 4 or 8,
        2 or 4 or 6 => depth is 8 or 16,
        _ => false,
    };

    internal static ImageInfo Jpeg(ReadOnlySpan<byte> data, ImageLimits limits)
    {
        // Walk the marker segments after SOI to the frame header (SOFn), skipping APPn (EXIF thumbnails included).
        for (var at = 2; ; )
        {
            if (at >= data.Length) throw ImageProbe.Truncated("JPEG");
            if (data[at] != 0xFF) throw ImageProbe.Corrupt("The JPEG file has a corrupt marker.");
            while (at < data.Length && data[at] == 0xFF) at++; // fill bytes
            if (at >= data.Length) throw ImageProbe.Truncated("JPEG");
            var marker = data[at++];
            if (marker is 0x01 or >= 0xD0 and <= 0xD7) continue; // no length field
            if (marker is 0xD8 or 0xD9 or 0xDA)
                throw ImageProbe.Corrupt("The JPEG file has no frame header before its image data.");
            if (at > data.Length - 2) throw ImageProbe.Truncated("JPEG");
            var length = BinaryPrimitives.ReadUInt16BigEndian(data[at..]);
            if (length < 2) throw ImageProbe.Corrupt("The JPEG file has a corrupt segment.");
            if (length > data.Length - at) throw ImageProbe.Truncated("JPEG");
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                if (length < 8) throw ImageProbe.Corrupt("The JPEG frame header is corrupt.");
                var height = BinaryPrimitives.ReadUInt16BigEndian(data[(at + 3)..]);
                var width = BinaryPrimitives.ReadUInt16BigEndian(data[(at + 5)..]);
                // Height 0 means "given later in a DNL marker", which the decoders here do not support.
                if (width == 0 || height == 0) throw ImageProbe.Corrupt("The JPEG frame header has no width or height.");
                ImageProbe.CheckSize(width, height, limits);
                return new(ImageFormat.Jpeg, width, height, 1);
            }
            at += length;
        }
    }

    internal static ImageInfo Bmp(ReadOnlySpan<byte> data, ImageLimits limits)
    {
        // File header (14): "BM", size, reserved, pixel offset; then the DIB header, whose first field is its size.
        if (data.Length < 18) throw ImageProbe.Truncated("BMP");
        var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(data[14..]);
        if (headerSize == 12)
            throw AiInputException.Unsupported(ImageProbe.Field, "OS/2 bitmaps are not supported: send PNG, JPEG, TIFF or a Windows BMP.");
        if (headerSize < 40 || headerSize > 1024) throw ImageProbe.Corrupt("The BMP header is corrupt.");
        if (data.Length < 14 + headerSize) throw ImageProbe.Truncated("BMP");
        long width = BinaryPrimitives.ReadInt32LittleEndian(data[18..]);
        long height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(data[22..])); // negative = top-down rows
        var bits = BinaryPrimitives.ReadUInt16LittleEndian(data[28..]);
        var pixelOffset = BinaryPrimitives.ReadUInt32LittleEndian(data[10..]);
        if (width <= 0 || height == 0 || bits is not (1 or 4 or 8 or 16 or 24 or 32))
            throw ImageProbe.Corrupt("The BMP header is corrupt.");
        if (pixelOffset >= data.Length) throw ImageProbe.Truncated("BMP");
        ImageProbe.CheckSize(width, height, limits);
        return new(ImageFormat.Bmp, (int)width, (int)height, 1);
    }
}
