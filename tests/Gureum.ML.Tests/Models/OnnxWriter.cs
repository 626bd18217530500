using System.Text;

namespace Gureum.ML.Tests.Models;

/// <summary>A protobuf wire-format writer, enough to craft ONNX files (valid and hostile) in tests.</summary>
internal sealed class Proto
{
    private readonly MemoryStream _bytes = new();

    public Proto Varint(int field, long value)
    {
        Tag(field, 0);
        Raw((ulong)value);
        return this;
    }

    public Proto Bytes(int field, byte[] value)
    {
        Tag(field, 2);
        Raw((ulong)value.Length);
        _bytes.Write(value);
        return this;
    }

    public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public Proto Message(int field, Proto value) => Bytes(field, value.ToArray());

    public byte[] ToArray() => _bytes.ToArray();

    private void Tag(int field, int wire) => Raw((ulong)((field << 3) | wire));

    private void Raw(ulong value)
    {
        while (value >= 0x80)
        {
            _bytes.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _bytes.WriteByte((byte)value);
    }
}

/// <summary>ONNX messages by their onnx.proto field numbers.</summary>
internal static class Onnx
{
    public const int Float = 1, Int64 = 7;
    public const int AttrTensor = 4, AttrGraph = 5;

    public static Proto Model(Proto graph, int opset = 17, long irVersion = 8, params (string Key, string Value)[] metadata)
    {
        var model = new Proto().Varint(1, irVersion).String(2, "gureum-tests").Message(8, new Proto().String(1, "").Varint(2, opset)).Message(7, graph);
        foreach (var (k, v) in metadata) model.Message(14, new Proto().String(1, k).String(2, v));
        return model;
    }

    public static Proto Graph(string name, IEnumerable<Proto> nodes, IEnumerable<Proto> inputs, IEnumerable<Proto> outputs, IEnumerable<Proto>? initializers = null)
    {
        var graph = new Proto();
        foreach (var n in nodes) graph.Message(1, n);
        graph.String(2, name);
        foreach (var t in initializers ?? []) graph.Message(5, t);
        foreach (var i in inputs) graph.Message(11, i);
        foreach (var o in outputs) graph.Message(12, o);
        return graph;
    }

    /// <summary>A tensor ValueInfo; a dimension is a long (dim_value) or a string (dim_param).</summary>
    public static Proto Value(string name, int elemType, params object[] dims)
    {
        var shape = new Proto();
        foreach (var d in dims)
        {
            shape.Message(1, d is string param ? new Proto().String(2, param) : new Proto().Varint(1, Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture)));
        }
        var tensorType = new Proto().Varint(1, elemType).Message(2, shape);
        return new Proto().String(1, name).Message(2, new Proto().Message(1, tensorType));
    }

    public static Proto Tensor(string name, int dataType, long[] dims, byte[]? raw = null)
    {
        var tensor = new Proto();
        foreach (var d in dims) tensor.Varint(1, d);
        tensor.Varint(2, dataType).String(8, name);
        if (raw is not null) tensor.Bytes(9, raw);
        return tensor;
    }

    public static Proto Int64s(string name, params long[] values) =>
        Tensor(name, Int64, [values.Length], [.. values.SelectMany(BitConverter.GetBytes)]);

    public static Proto Floats(string name, long[] dims, params float[] values) =>
        Tensor(name, Float, dims, [.. values.SelectMany(BitConverter.GetBytes)]);

    /// <summary>A float tensor whose data lives in an external file.</summary>
    public static Proto External(string name, long[] dims, string location, long? length = null)
    {
        var tensor = Tensor(name, Float, dims).Message(13, new Proto().String(1, "location").String(2, location));
        if (length is { } l) tensor.Message(13, new Proto().String(1, "length").String(2, l.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return tensor.Varint(14, 1);
    }

    public static Proto Node(string op, string[] inputs, string[] outputs, params Proto[] attributes)
    {
        var node = new Proto();
        foreach (var i in inputs) node.String(1, i);
        foreach (var o in outputs) node.String(2, o);
        node.String(4, op);
        foreach (var a in attributes) node.Message(5, a);
        return node;
    }

    public static Proto TensorAttribute(string name, Proto tensor) => new Proto().String(1, name).Varint(20, AttrTensor).Message(5, tensor);

    public static Proto GraphAttribute(string name, Proto graph) => new Proto().String(1, name).Varint(20, AttrGraph).Message(6, graph);

    /// <summary>y = x + w, with w [1,4] from the initializer given (inline or external).</summary>
    public static Proto AddModel(Proto weight) => Model(Graph("add",
        [Node("Add", ["x", "w"], ["y"])],
        [Value("x", Float, "batch", 4)],
        [Value("y", Float, "batch", 4)],
        [weight]));
}
