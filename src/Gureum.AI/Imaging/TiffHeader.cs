using System.Buffers.Binary;

namespace Gureum.AI.Imaging;

/// <summary>Walks a TIFF's chain of image directories (one per page) reading each page's width and height tags.</summary>
internal static class TiffHeader
{
    const ushort ImageWidth = 256, ImageLength = 257;
    const ushort TypeShort = 3, TypeLong = 4;

    internal static ImageInfo Read(ReadOnlySpan<byte> data, ImageLimits limits)
    {
        if (data.Length < 8) throw ImageProbe.Truncated("TIFF");
        var little = data[0] == (byte)'I';
        var magic = U16(data, 2, little);
        if (magic == 43) throw AiInputException.Unsupported(ImageProbe.Field, "BigTIFF is not supported: send a classic TIFF or PNG.");
        if (magic != 42) throw AiInputException.Unsupported(ImageProbe.Field, "The file is not a supported image: send PNG, JPEG, TIFF, BMP or PDF.");

        var seen = new HashSet<uint>();
        int pages = 0, width = 0, height = 0;
        for (var offset = U32(data, 4, little); offset != 0; )
        {
            if (!seen.Add(offset)) throw ImageProbe.Corrupt("The TIFF file's page directories form a loop.");
            // Stop at the limit rather than walk (and remember) millions of directories.
            if (++pages > limits.MaxPages) throw ImageProbe.TooManyPages($"more than {limits.MaxPages}", limits);
            if (offset > data.Length - 2) throw ImageProbe.Truncated("TIFF");
            var entries = U16(data, (int)offset, little);
            var next = (int)offset + 2 + 12 * entries;
            if (next > data.Length - 4) throw ImageProbe.Truncated("TIFF");

            long w = 0, h = 0;
            for (var e = (int)offset + 2; e < next; e += 12)
            {
                var tag = U16(data, e, little);
                if (tag is not (ImageWidth or ImageLength)) continue;
                var type = U16(data, e + 2, little);
                long value = type == TypeShort ? U16(data, e + 8, little) : type == TypeLong ? U32(data, e + 8, little) : 0;
                if (tag == ImageWidth) w = value; else h = value;
            }
            if (w == 0 || h == 0) throw ImageProbe.Corrupt($"TIFF page {pages} has no width or height.");
            ImageProbe.CheckSize(w, h, limits, $"TIFF page {pages}");
            if (w * h > (long)width * height) (width, height) = ((int)w, (int)h);
            offset = U32(data, next, little);
        }
        if (pages == 0) throw ImageProbe.Corrupt("The TIFF file has no pages.");
        return new(ImageFormat.Tiff, width, height, pages);
    }

    static ushort U16(ReadOnlySpan<byte> d, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(d[at..]) : BinaryPrimitives.ReadUInt16BigEndian(d[at..]);

    static uint U32(ReadOnlySpan<byte> d, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(d[at..]) : BinaryPrimitives.ReadUInt32BigEndian(d[at..]);
}
