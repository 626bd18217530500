namespace Gureum.ML.Serving;

/// <summary>The tensor element types served over JSON. Half floats, unsigned 16–64 bit and complex types are not.</summary>
public enum TensorType
{
    Float32,
    Float64,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
    String,
}

/// <summary>
/// The names a tensor type goes by: the ONNX name used in model signatures (<c>float32</c>) and the Open Inference
/// Protocol (KServe V2) datatype (<c>FP32</c>).
/// </summary>
public static class TensorTypes
{
    private static readonly (TensorType Type, string Onnx, string V2)[] Names =
    [
        (TensorType.Float32, "float32", "FP32"),
        (TensorType.Float64, "float64", "FP64"),
        (TensorType.Int64, "int64", "INT64"),
        (TensorType.Int32, "int32", "INT32"),
        (TensorType.Int16, "int16", "INT16"),
        (TensorType.Int8, "int8", "INT8"),
        (TensorType.UInt8, "uint8", "UINT8"),
        (TensorType.Bool, "bool", "BOOL"),
        (TensorType.String, "string", "BYTES"),
    ];

    public static bool TryFromOnnx(string name, out TensorType type) => TryFind(n => n.Onnx == name, out type);

    public static bool TryFromV2(string name, out TensorType type) => TryFind(n => n.V2 == name, out type);

    public static string V2(TensorType type) => Names[(int)type].V2;

    public static string AllV2 => string.Join(", ", Names.Select(n => n.V2));

    /// <summary>An array of <paramref name="count"/> zeros (nulls for strings).</summary>
    public static Array Allocate(TensorType type, int count) => Allocate(type, count, toFill: false);

    /// <summary>
    /// An array for values that are all written before it is read (a copy, a parse that fails unless it fills every
    /// value): large numeric arrays skip the zeroing, which showed in profiles of image-sized requests.
    /// </summary>
    public static Array AllocateToFill(TensorType type, int count) => Allocate(type, count, toFill: true);

    private static Array Allocate(TensorType type, int count, bool toFill) => type switch
    {
        TensorType.Float32 => New<float>(count, toFill),
        TensorType.Float64 => New<double>(count, toFill),
        TensorType.Int64 => New<long>(count, toFill),
        TensorType.Int32 => New<int>(count, toFill),
        TensorType.Int16 => New<short>(count, toFill),
        TensorType.Int8 => New<sbyte>(count, toFill),
        TensorType.UInt8 => New<byte>(count, toFill),
        TensorType.Bool => New<bool>(count, toFill),
        _ => new string[count],
    };

    private static T[] New<T>(int count, bool toFill) => toFill ? GC.AllocateUninitializedArray<T>(count) : new T[count];

    /// <summary>Bytes per value in raw (binary) tensor data; 0 for strings, which have no fixed size.</summary>
    public static int Size(TensorType type) => type switch
    {
        TensorType.Float64 or TensorType.Int64 => 8,
        TensorType.Float32 or TensorType.Int32 => 4,
        TensorType.Int16 => 2,
        TensorType.Int8 or TensorType.UInt8 or TensorType.Bool => 1,
        _ => 0,
    };

    private static bool TryFind(Func<(TensorType Type, string Onnx, string V2), bool> match, out TensorType type)
    {
        foreach (var n in Names)
        {
            if (match(n))
            {
                type = n.Type;
                return true;
            }
        }
        type = default;
        return false;
    }
}

/// <summary>A named dense tensor in row-major order; <see cref="Data"/> is the typed array (float[], long[], string[], ...).</summary>
public sealed class Tensor(string name, TensorType type, long[] shape, Array data)
{
    public string Name { get; } = name;
    public TensorType Type { get; } = type;
    public long[] Shape { get; } = shape;
    public Array Data { get; } = data;

    /// <summary>The first dimension: the number of rows of a batch-major tensor (1 for a scalar).</summary>
    public long Rows => Shape.Length == 0 ? 1 : Shape[0];

    public static long Count(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape) count = checked(count * d);
        return count;
    }

    /// <summary>Whether two tensors can be stacked along the first dimension: same type and same trailing dimensions.</summary>
    public bool StacksWith(Tensor other) =>
        Type == other.Type && Shape.Length == other.Shape.Length && Shape.Length > 0 && Shape.AsSpan(1).SequenceEqual(other.Shape.AsSpan(1));

    /// <summary>Stacks batch-major tensors of one input along the first dimension (dynamic batching).</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> parts)
    {
        if (parts.Count == 1) return parts[0];
        var first = parts[0];
        long rows = 0;
        foreach (var p in parts) rows += p.Rows;
        var shape = (long[])first.Shape.Clone();
        shape[0] = rows;
        var data = TensorTypes.AllocateToFill(first.Type, checked((int)Count(shape)));
        var offset = 0;
        foreach (var p in parts)
        {
            Array.Copy(p.Data, 0, data, offset, p.Data.Length);
            offset += p.Data.Length;
        }
        return new Tensor(first.Name, first.Type, shape, data);
    }

    /// <summary>Rows [start, start + rows) of a batch-major tensor.</summary>
    public Tensor Slice(long start, long rows)
    {
        if (start == 0 && rows == Rows) return this;
        var shape = (long[])Shape.Clone();
        shape[0] = rows;
        var perRow = Rows == 0 ? 0 : Data.Length / Rows;
        var data = TensorTypes.AllocateToFill(Type, checked((int)(rows * perRow)));
        Array.Copy(Data, start * perRow, data, 0, data.Length);
        return new Tensor(Name, Type, shape, data);
    }
}
