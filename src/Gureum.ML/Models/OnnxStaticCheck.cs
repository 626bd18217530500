namespace Gureum.ML.Models;

/// <summary>
/// Reads an ONNX file with our own protobuf reader, without ONNX Runtime: the signature (graph inputs that are not
/// initializers, graph outputs), the header (IR version, opsets, producer, metadata) and every tensor's external data
/// reference, wherever the tensor is: initializers, sparse initializers, node attributes, subgraphs (If/Loop/Scan bodies,
/// at any depth), functions and training graphs. Each reference is checked by <see cref="ExternalDataCheck"/> before
/// anything else opens the file. Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, ...).
/// </summary>
internal static class OnnxStaticCheck
{
    private const int MaxDepth = 100;
    private const int MaxNameBytes = 64 << 10;
    private const int MaxMetadataBytes = 1 << 20;
    private const int MaxFields = 10_000;
    private const int MaxMetadataEntries = 1_000;

    private static readonly string[] ElementTypes =
    [
        "undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64", "string", "bool", "float16",
        "float64", "uint32", "uint64", "complex64", "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz",
        "float8e5m2", "float8e5m2fnuz", "uint4", "int4", "float4e2m1", "float8e8m0", "uint2", "int2",
    ];

    /// <summary>The name of an ONNX (and ONNX Runtime) tensor element type number.</summary>
    public static string ElementType(long number) =>
        number > 0 && number < ElementTypes.Length ? ElementTypes[number] : $"elem_type {number}";

    private sealed class Model(ProtoReader reader, string folder)
    {
        public ProtoReader R { get; } = reader;
        public string Folder { get; } = folder;
        public List<ModelField> Inputs { get; } = [];
        public List<ModelField> Outputs { get; } = [];
        public HashSet<string> Initializers { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);
    }

    public static ModelFileSignature Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var model = new Model(new ProtoReader(file, MaxDepth), Path.GetDirectoryName(Path.GetFullPath(path))!);
        var r = model.R;
        long irVersion = 0;
        var graphs = 0;
        var opsets = new List<string>();
        var end = file.Length;
        while (r.Next(end, out var field, out var type))
        {
            switch (field)
            {
                case 1:
                    r.Expect(type, WireType.Varint, "ir_version");
                    irVersion = (long)r.Varint(end);
                    break;
                case 2 or 3 or 4:
                    r.Expect(type, WireType.Length, "producer_name");
                    var name = field switch { 2 => "onnx.producer_name", 3 => "onnx.producer_version", _ => "onnx.domain" };
                    model.Metadata[name] = r.String(end, MaxNameBytes);
                    break;
                case 5:
                    r.Expect(type, WireType.Varint, "model_version");
                    model.Metadata["onnx.model_version"] = ((long)r.Varint(end)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case 7:
                    r.Expect(type, WireType.Length, "graph");
                    // Protobuf would merge two graph fields; ONNX Runtime and we could then disagree on what the graph is.
                    if (++graphs > 1) throw r.Error("the model has more than one graph");
                    using (r.Enter("graph")) Graph(model, r.Length(end), main: true);
                    break;
                case 8:
                    r.Expect(type, WireType.Length, "opset_import");
                    using (r.Enter($"opset_import[{opsets.Count}]")) opsets.Add(Opset(r, r.Length(end)));
                    break;
                case 14:
                    r.Expect(type, WireType.Length, "metadata_props");
                    using (r.Enter($"metadata_props[{model.Metadata.Count}]"))
                    {
                        var (key, value) = Entry(r, r.Length(end), MaxMetadataBytes);
                        if (model.Metadata.Count >= MaxMetadataEntries) throw r.Error($"more than {MaxMetadataEntries} metadata entries");
                        if (key.Length == 0 || key.Any(char.IsControl)) throw r.Error("a metadata key is empty or has control characters");
                        model.Metadata.TryAdd(key, value);
                    }
                    break;
                case 20:
                    r.Expect(type, WireType.Length, "training_info");
                    using (r.Enter("training_info")) TrainingInfo(model, r.Length(end));
                    break;
                case 25:
                    r.Expect(type, WireType.Length, "functions");
                    using (r.Enter("functions")) Function(model, r.Length(end));
                    break;
                default:
                    r.Skip(type, end);
                    break;
            }
        }
        if (irVersion <= 0) throw r.Error("ir_version is missing");
        if (graphs == 0) throw r.Error("the model has no graph");
        // Protobuf has no end marker: a file cut between two fields still parses; opset_import comes last in exports.
        if (opsets.Count == 0) throw r.Error("opset_import is missing");
        model.Metadata["onnx.ir_version"] = irVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        model.Metadata["onnx.opset_import"] = string.Join(',', opsets);
        // Graph inputs that are initializers are weights with a default, not something a caller must send.
        var inputs = model.Inputs.Where(i => !model.Initializers.Contains(i.Name)).ToList();
        return new ModelFileSignature(ModelFormat.Onnx, inputs, model.Outputs, model.Metadata);
    }

    private static string Opset(ProtoReader r, long end)
    {
        var domain = "";
        long version = 0;
        while (r.Next(end, out var field, out var type))
        {
            if (field == 1 && type == WireType.Length) domain = r.String(end, MaxNameBytes);
            else if (field == 2 && type == WireType.Varint) version = (long)r.Varint(end);
            else r.Skip(type, end);
        }
        return $"{(domain.Length == 0 ? "ai.onnx" : domain)}:{version}";
    }

    /// <summary>A StringStringEntryProto: key 1, value 2.</summary>
    private static (string Key, string Value) Entry(ProtoReader r, long end, int maxValueBytes)
    {
        string key = "", value = "";
        while (r.Next(end, out var field, out var type))
        {
            if (field == 1) { r.Expect(type, WireType.Length, "key"); key = r.String(end, MaxNameBytes); }
            else if (field == 2) { r.Expect(type, WireType.Length, "value"); value = r.String(end, maxValueBytes); }
            else r.Skip(type, end);
        }
        return (key, value);
    }

    private static void Graph(Model model, long end, bool main)
    {
        var r = model.R;
        int nodes = 0, initializers = 0, sparse = 0, inputs = 0, outputs = 0;
        while (r.Next(end, out var field, out var type))
        {
            switch (field)
            {
                case 1:
                    r.Expect(type, WireType.Length, "node");
                    using (r.Enter($"node[{nodes++}]")) Node(model, r.Length(end));
                    break;
                case 5:
                    r.Expect(type, WireType.Length, "initializer");
                    using (r.Enter($"initializer[{initializers++}]"))
                    {
                        var name = Tensor(model, r.Length(end));
                        if (main) model.Initializers.Add(name);
                    }
                    break;
                case 15:
                    r.Expect(type, WireType.Length, "sparse_initializer");
                    using (r.Enter($"sparse_initializer[{sparse++}]"))
                    {
                        var name = SparseTensor(model, r.Length(end));
                        if (main) model.Initializers.Add(name);
                    }
                    break;
                case 11 or 12 when main:
                    r.Expect(type, WireType.Length, field == 11 ? "input" : "output");
                    var list = field == 11 ? model.Inputs : model.Outputs;
                    if (list.Count >= MaxFields) throw r.Error($"more than {MaxFields} graph inputs or outputs");
                    using (r.Enter(field == 11 ? $"input[{inputs++}]" : $"output[{outputs++}]")) list.Add(ValueInfo(r, r.Length(end)));
                    break;
                default:
                    r.Skip(type, end);
                    break;
            }
        }
    }

    private static void Node(Model model, long end)
    {
        var r = model.R;
        var attributes = 0;
        while (r.Next(end, out var field, out var type))
        {
            if (field == 5)
            {
                r.Expect(type, WireType.Length, "attribute");
                using (r.Enter($"attribute[{attributes++}]")) Attribute(model, r.Length(end));
            }
            else
            {
                r.Skip(type, end);
            }
        }
    }

    /// <summary>Every tensor- or graph-valued field of an AttributeProto, whatever its declared type says.</summary>
    private static void Attribute(Model model, long end)
    {
        var r = model.R;
        var index = 0;
        while (r.Next(end, out var field, out var type))
        {
            switch (field)
            {
                case 5 or 10:
                    r.Expect(type, WireType.Length, "t");
                    using (r.Enter($"t[{index++}]")) Tensor(model, r.Length(end));
                    break;
                case 6 or 11:
                    r.Expect(type, WireType.Length, "g");
                    using (r.Enter($"g[{index++}]")) Graph(model, r.Length(end), main: false);
                    break;
                case 22 or 23:
                    r.Expect(type, WireType.Length, "sparse_tensor");
                    using (r.Enter($"sparse_tensor[{index++}]")) SparseTensor(model, r.Length(end));
                    break;
                default:
                    r.Skip(type, end);
                    break;
            }
        }
    }

    private static void Function(Model model, long end)
    {
        var r = model.R;
        int nodes = 0, attributes = 0;
        while (r.Next(end, out var field, out var type))
        {
            if (field == 7)
            {
                r.Expect(type, WireType.Length, "node");
                using (r.Enter($"node[{nodes++}]")) Node(model, r.Length(end));
            }
            else if (field == 11)
            {
                r.Expect(type, WireType.Length, "attribute_proto");
                using (r.Enter($"attribute_proto[{attributes++}]")) Attribute(model, r.Length(end));
            }
            else
            {
                r.Skip(type, end);
            }
        }
    }

    private static void TrainingInfo(Model model, long end)
    {
        var r = model.R;
        while (r.Next(end, out var field, out var type))
        {
            if (field is 1 or 2)
            {
                r.Expect(type, WireType.Length, "graph");
                using (r.Enter(field == 1 ? "initialization" : "algorithm")) Graph(model, r.Length(end), main: false);
            }
            else
            {
                r.Skip(type, end);
            }
        }
    }

    /// <summary>A SparseTensorProto: values 1 and indices 2 are TensorProtos. Returns the values' name (the initializer's name).</summary>
    private static string SparseTensor(Model model, long end)
    {
        var r = model.R;
        var name = "";
        while (r.Next(end, out var field, out var type))
        {
            if (field is 1 or 2)
            {
                r.Expect(type, WireType.Length, field == 1 ? "values" : "indices");
                using (r.Enter(field == 1 ? "values" : "indices"))
                {
                    var tensorName = Tensor(model, r.Length(end));
                    if (field == 1) name = tensorName;
                }
            }
            else
            {
                r.Skip(type, end);
            }
        }
        return name;
    }

    /// <summary>A TensorProto: its name (8), and its external data (13, data_location 14) checked. Data fields are skipped.</summary>
    private static string Tensor(Model model, long end)
    {
        var r = model.R;
        var name = "";
        long dataLocation = 0;
        var external = new List<(string Key, string Value)>();
        while (r.Next(end, out var field, out var type))
        {
            switch (field)
            {
                case 8:
                    r.Expect(type, WireType.Length, "name");
                    name = r.String(end, MaxNameBytes);
                    break;
                case 13:
                    r.Expect(type, WireType.Length, "external_data");
                    using (r.Enter($"external_data[{external.Count}]")) external.Add(Entry(r, r.Length(end), MaxNameBytes));
                    break;
                case 14:
                    r.Expect(type, WireType.Varint, "data_location");
                    dataLocation = (long)r.Varint(end);
                    break;
                default:
                    r.Skip(type, end);
                    break;
            }
        }
        if (dataLocation is not (0 or 1)) throw r.Error($"data_location is {dataLocation}; ONNX defines 0 (DEFAULT) and 1 (EXTERNAL)");
        // Checked whenever present, not only when data_location says EXTERNAL: a runtime may look at either.
        if (dataLocation == 1 || external.Count > 0)
        {
            ExternalDataCheck.Check(model.Folder, external, $"tensor '{name}'");
        }
        return name;
    }

    private static ModelField ValueInfo(ProtoReader r, long end)
    {
        string? name = null;
        (string Type, List<long>? Shape)? kind = null;
        while (r.Next(end, out var field, out var type))
        {
            if (field == 1) { r.Expect(type, WireType.Length, "name"); name = r.String(end, MaxNameBytes); }
            else if (field == 2) { r.Expect(type, WireType.Length, "type"); using (r.Enter("type")) kind = TypeProto(r, r.Length(end)); }
            else r.Skip(type, end);
        }
        if (string.IsNullOrEmpty(name)) throw r.Error("a graph input or output has no name");
        if (kind is null) throw r.Error($"'{name}' has no type");
        return new ModelField(name, kind.Value.Type, kind.Value.Shape);
    }

    /// <summary>A TypeProto: tensor (1), sequence (4), map (5), sparse tensor (8), optional (9). Shape only for tensors.</summary>
    private static (string Type, List<long>? Shape) TypeProto(ProtoReader r, long end)
    {
        (string Type, List<long>? Shape)? result = null;
        while (r.Next(end, out var field, out var type))
        {
            if (field is not (1 or 4 or 5 or 8 or 9))
            {
                r.Skip(type, end);
                continue;
            }
            r.Expect(type, WireType.Length, "value");
            if (result is not null) throw r.Error("a type has more than one kind");
            var stop = r.Length(end);
            using (r.Enter(field switch { 1 => "tensor_type", 4 => "sequence_type", 5 => "map_type", 8 => "sparse_tensor_type", _ => "optional_type" }))
            {
                result = field switch
                {
                    1 => TensorType(r, stop),
                    8 => Sparse(TensorType(r, stop)),
                    4 => ($"sequence<{ElementOf(r, stop)}>", null),
                    9 => ($"optional<{ElementOf(r, stop)}>", null),
                    _ => (MapType(r, stop), null),
                };
            }
        }
        return result ?? throw r.Error("the type has no kind (tensor, sequence, map, optional)");

        static (string, List<long>?) Sparse((string Type, List<long>? Shape) tensor) => ($"sparse_tensor<{tensor.Type}>", tensor.Shape);
    }

    private static (string Type, List<long>? Shape) TensorType(ProtoReader r, long end)
    {
        long element = 0;
        List<long>? shape = null;
        while (r.Next(end, out var field, out var type))
        {
            if (field == 1)
            {
                r.Expect(type, WireType.Varint, "elem_type");
                element = (long)r.Varint(end);
            }
            else if (field == 2)
            {
                r.Expect(type, WireType.Length, "shape");
                using (r.Enter("shape")) shape = Shape(r, r.Length(end));
            }
            else
            {
                r.Skip(type, end);
            }
        }
        if (element == 0) throw r.Error("elem_type is missing");
        return (ElementType(element), shape);
    }

    private static List<long> Shape(ProtoReader r, long end)
    {
        var dims = new List<long>();
        while (r.Next(end, out var field, out var type))
        {
            if (field != 1)
            {
                r.Skip(type, end);
                continue;
            }
            r.Expect(type, WireType.Length, "dim");
            var stop = r.Length(end);
            var dim = -1L; // neither dim_value nor dim_param: unknown
            while (r.Next(stop, out var f, out var t))
            {
                if (f == 1)
                {
                    r.Expect(t, WireType.Varint, "dim_value");
                    dim = (long)r.Varint(stop);
                    if (dim < 0) throw r.Error($"dimension {dims.Count} is negative");
                }
                else
                {
                    r.Skip(t, stop); // dim_param (symbolic: -1) and denotation
                }
            }
            if (dims.Count >= 64) throw r.Error("a shape has more than 64 dimensions");
            dims.Add(dim);
        }
        return dims;
    }

    /// <summary>The element type of a sequence or optional (field 1, a TypeProto).</summary>
    private static string ElementOf(ProtoReader r, long end)
    {
        string? element = null;
        while (r.Next(end, out var field, out var type))
        {
            if (field != 1)
            {
                r.Skip(type, end);
                continue;
            }
            r.Expect(type, WireType.Length, "elem_type");
            using (r.Enter("elem_type")) element = TypeProto(r, r.Length(end)).Type;
        }
        return element ?? throw r.Error("elem_type is missing");
    }

    private static string MapType(ProtoReader r, long end)
    {
        long key = 0;
        string? value = null;
        while (r.Next(end, out var field, out var type))
        {
            if (field == 1)
            {
                r.Expect(type, WireType.Varint, "key_type");
                key = (long)r.Varint(end);
            }
            else if (field == 2)
            {
                r.Expect(type, WireType.Length, "value_type");
                using (r.Enter("value_type")) value = TypeProto(r, r.Length(end)).Type;
            }
            else
            {
                r.Skip(type, end);
            }
        }
        if (key == 0 || value is null) throw r.Error("a map type lacks its key or value type");
        return $"map<{ElementType(key)},{value}>";
    }
}
