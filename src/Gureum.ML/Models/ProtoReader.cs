using System.Text;

namespace Gureum.ML.Models;

/// <summary>Protobuf wire types (groups, 3 and 4, are deprecated and refused).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    Length = 2,
    Fixed32 = 5,
}

/// <summary>
/// A minimal protobuf wire-format reader over a seekable stream, for files we must not trust. Every length is checked
/// against the end of its enclosing message, so truncated or crafted input fails with a message rather than reading past
/// it; fields we do not need (tensor data) are skipped by seeking, so memory stays small whatever the file size. Errors
/// name the place in the message tree (<see cref="Enter"/>), e.g. <c>graph.node[3].attribute[0]</c>.
/// </summary>
internal sealed class ProtoReader(Stream stream, int maxDepth)
{
    private readonly List<string> _path = [];

    public long Position => stream.Position;

    /// <summary>Names the part being read until disposed; refuses nesting deeper than the limit.</summary>
    public Scope Enter(string name)
    {
        if (_path.Count >= maxDepth) throw Error($"nesting is deeper than {maxDepth} levels");
        _path.Add(name);
        return new Scope(_path);
    }

    public readonly struct Scope(List<string> path) : IDisposable
    {
        public void Dispose() => path.RemoveAt(path.Count - 1);
    }

    public ModelFileException Error(string what) => new(ModelFileException.Invalid, "file",
        $"The ONNX file is malformed: {(_path.Count == 0 ? "model" : string.Join('.', _path))}: {what} (byte {Position}).");

    /// <summary>Reads the next field's tag; false at the end of the message.</summary>
    public bool Next(long end, out int field, out WireType type)
    {
        if (Position >= end)
        {
            field = 0;
            type = default;
            return false;
        }
        var tag = Varint(end);
        field = (int)Math.Min(tag >> 3, int.MaxValue);
        var wire = (int)(tag & 7);
        if (field == 0) throw Error("field number 0");
        if (wire is not (0 or 1 or 2 or 5)) throw Error($"field {field} has wire type {wire}, which protobuf does not use any more");
        type = (WireType)wire;
        return true;
    }

    public ulong Varint(long end)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (Position >= end) throw Error("a number runs past the end of its message");
            var b = stream.ReadByte();
            if (b < 0) throw Error("the file ends inside a number");
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw Error("a number is longer than 10 bytes");
    }

    /// <summary>Reads a length prefix and returns where the embedded message or bytes end, checked against the enclosing end.</summary>
    public long Length(long end)
    {
        var length = Varint(end);
        if (length > (ulong)(end - Position)) throw Error($"a length of {length} bytes runs past the end of its message");
        return Position + (long)length;
    }

    public string String(long end, int maxBytes)
    {
        var stop = Length(end);
        var size = stop - Position;
        if (size > maxBytes) throw Error($"a string of {size} bytes is longer than the {maxBytes} allowed");
        var bytes = new byte[size];
        stream.ReadExactly(bytes);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Error("a string is not valid UTF-8");
        }
    }

    /// <summary>Skips a field's value without reading it into memory.</summary>
    public void Skip(WireType type, long end)
    {
        switch (type)
        {
            case WireType.Varint:
                Varint(end);
                break;
            case WireType.Length:
                SeekTo(Length(end));
                break;
            default:
                var size = type == WireType.Fixed64 ? 8 : 4;
                if (end - Position < size) throw Error("a fixed-size number runs past the end of its message");
                SeekTo(Position + size);
                break;
        }
    }

    public void SeekTo(long position) => stream.Seek(position, SeekOrigin.Begin);

    /// <summary>Throws unless the field has the wire type the schema gives it (a mismatch is a crafted or corrupt file).</summary>
    public void Expect(WireType actual, WireType expected, string name)
    {
        if (actual != expected) throw Error($"field '{name}' has wire type {(int)actual}, expected {(int)expected}");
    }
}
