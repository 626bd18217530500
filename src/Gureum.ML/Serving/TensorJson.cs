using System.Globalization;
using System.Text.Json;
using Gureum.ML.Models;
using Gureum.ML.Training;

namespace Gureum.ML.Serving;

/// <summary>
/// Reads request tensors from JSON and checks them against the model's signature before anything runs, so a bad
/// request is answered with the tensor, the place and what was expected; writes answer tensors back. Two shapes:
/// the Open Inference Protocol's <c>{"name","shape","datatype","data"}</c> (data flat or nested) and Gureum's
/// <c>{"input": nested arrays}</c>, whose shape is the nesting.
/// </summary>
public static class TensorJson
{
    /// <summary>Reads one V2 input object (<c>inputs[i]</c>) for the model input it names.</summary>
    /// <remarks>
    /// <paramref name="maxElements"/> bounds what a claimed shape may allocate before its data is counted. With the
    /// binary tensor data extension (<paramref name="binary"/> not null) an input may give
    /// <c>"parameters": {"binary_data_size": N}</c> instead of <c>data</c> and take its N bytes from the binary part.
    /// </remarks>
    public static Tensor ReadV2(JsonElement input, string path, IReadOnlyDictionary<string, ModelField> expected, long maxElements, BinaryTensorData? binary = null)
    {
        if (input.ValueKind != JsonValueKind.Object)
        {
            throw new ModelInputException(path, $"{path} must be an object: {{\"name\", \"shape\", \"datatype\", \"data\"}}.");
        }
        var name = RequiredString(input, "name", path);
        if (!expected.TryGetValue(name, out var field))
        {
            throw new ModelInputException(path + ".name", $"The model has no input '{name}'. Its inputs: {Describe(expected.Values)}.");
        }
        var datatype = RequiredString(input, "datatype", path);
        if (!TensorTypes.TryFromV2(datatype, out var type))
        {
            throw new ModelInputException(path + ".datatype", $"'{datatype}' is not a datatype served over JSON; use one of {TensorTypes.AllV2}.");
        }
        var want = ExpectedType(field, path);
        if (type != want)
        {
            throw new ModelInputException(path + ".datatype", $"Input '{name}' is {TensorTypes.V2(want)}, not {datatype}.");
        }
        if (!input.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array)
        {
            throw new ModelInputException(path + ".shape", $"{path}.shape is required: an array of dimensions, e.g. {Shape(field.Shape)}.");
        }
        var shape = new long[shapeJson.GetArrayLength()];
        var d = 0;
        foreach (var dim in shapeJson.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out shape[d]) || shape[d] < 0)
            {
                throw new ModelInputException($"{path}.shape[{d}]", $"{path}.shape[{d}] must be a whole number ≥ 0.");
            }
            d++;
        }
        CheckShape(shape, field, path + ".shape");
        if (input.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("binary_data_size", out var size))
        {
            return ReadBinary(name, type, shape, size, input, path, binary);
        }
        if (!input.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw new ModelInputException(path + ".data", $"{path}.data is required: the values in row-major order (flat or nested).");
        }
        var count = shape.Aggregate(1.0, (product, dim) => product * dim);
        if (count > maxElements)
        {
            throw new ModelInputException(path + ".shape", $"{path}.shape {Shape(shape)} has {count:0} elements; a request may carry at most {maxElements}.");
        }
        var values = TensorTypes.AllocateToFill(type, (int)count);
        var filled = 0;
        Fill(data, values, ref filled, type, path + ".data", 0);
        if (filled != count)
        {
            throw new ModelInputException(path + ".data", $"{path}.data has {filled} values; shape {Shape(shape)} needs {count}.");
        }
        return new Tensor(name, type, shape, values);
    }

    /// <summary>An input's raw little-endian values from the binary part, checked like JSON values (finite floats, 0/1 booleans).</summary>
    private static Tensor ReadBinary(string name, TensorType type, long[] shape, JsonElement size, JsonElement input, string path, BinaryTensorData? binary)
    {
        var field = path + ".parameters.binary_data_size";
        if (binary is null)
        {
            throw new ModelInputException(field, "binary_data_size needs the binary tensor data extension: send the JSON part's length in the 'Inference-Header-Content-Length' header and the tensors' bytes after it.");
        }
        if (input.TryGetProperty("data", out _)) throw new ModelInputException(path + ".data", $"{path} gives both data and binary_data_size; give one.");
        if (size.ValueKind != JsonValueKind.Number || !size.TryGetInt32(out var bytes) || bytes < 0) throw new ModelInputException(field, $"{field} must be a whole number of bytes ≥ 0.");
        var width = TensorTypes.Size(type);
        if (width == 0) throw new ModelInputException(path + ".datatype", $"{TensorTypes.V2(type)} tensors are not read from binary data; send them in 'data'.");
        var count = Tensor.Count(shape);
        if (bytes != count * width)
        {
            throw new ModelInputException(field, $"{field} is {bytes} bytes; shape {Shape(shape)} of {TensorTypes.V2(type)} is {count * width} bytes ({width} per value).");
        }
        var raw = binary.Take(bytes, field);
        if (type == TensorType.Bool && raw.IndexOfAnyExcept((byte)0, (byte)1) is var notBool and >= 0)
        {
            throw new ModelInputException(path, $"{path} value {notBool} is the byte {raw[notBool]}; BOOL values are 0 or 1.");
        }
        var values = TensorTypes.AllocateToFill(type, (int)count);
        // The extension's bytes are little-endian, as this process is (x64, arm64): a straight copy.
        raw.CopyTo(System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(values), bytes));
        var bad = values switch
        {
            float[] f => IndexOfNonFinite<float>(f),
            double[] d => IndexOfNonFinite<double>(d),
            _ => -1,
        };
        if (bad >= 0) throw new ModelInputException(path, $"{path} value {bad} is not a finite number; NaN and Infinity are not allowed.");
        return new Tensor(name, type, shape, values);
    }

    private static int IndexOfNonFinite<T>(ReadOnlySpan<T> values) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i])) return i;
        }
        return -1;
    }

    /// <summary>Reads a nested-array tensor (<c>"features": [[...], [...]]</c>): its shape is the nesting, its type the model's.</summary>
    public static Tensor ReadNested(string name, JsonElement value, string path, ModelField field)
    {
        var type = ExpectedType(field, path);
        var rank = field.Shape?.Count ?? 0;
        var shape = new long[rank];
        var probe = value;
        for (var d = 0; d < rank; d++)
        {
            if (probe.ValueKind != JsonValueKind.Array)
            {
                throw new ModelInputException(path, $"'{name}' must be nested {rank} deep, shape {Shape(field.Shape)}; found a {Kind(probe)} at depth {d}.");
            }
            shape[d] = probe.GetArrayLength();
            if (shape[d] == 0) break;
            probe = probe[0];
        }
        CheckShape(shape, field, path);
        var values = TensorTypes.AllocateToFill(type, checked((int)Tensor.Count(shape)));
        var filled = 0;
        FillNested(value, shape, 0, values, ref filled, type, path);
        return new Tensor(name, type, shape, values);
    }

    public static void WriteV2(Utf8JsonWriter writer, Tensor tensor)
    {
        writer.WriteStartObject();
        writer.WriteString("name", tensor.Name);
        writer.WriteString("datatype", TensorTypes.V2(tensor.Type));
        writer.WriteStartArray("shape");
        foreach (var d in tensor.Shape) writer.WriteNumberValue(d);
        writer.WriteEndArray();
        writer.WriteStartArray("data");
        for (var i = 0; i < tensor.Data.Length; i++) WriteValue(writer, tensor, i);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Writes the tensor as nested arrays following its shape (a scalar as a bare value).</summary>
    public static void WriteNested(Utf8JsonWriter writer, Tensor tensor)
    {
        var index = 0;
        WriteNested(writer, tensor, 0, ref index);
    }

    private static void WriteNested(Utf8JsonWriter writer, Tensor tensor, int depth, ref int index)
    {
        if (depth == tensor.Shape.Length)
        {
            WriteValue(writer, tensor, index++);
            return;
        }
        writer.WriteStartArray();
        for (long i = 0; i < tensor.Shape[depth]; i++) WriteNested(writer, tensor, depth + 1, ref index);
        writer.WriteEndArray();
    }

    private static void WriteValue(Utf8JsonWriter writer, Tensor tensor, int i)
    {
        switch (tensor.Data)
        {
            case float[] f: WriteFloat(writer, f[i]); break;
            case double[] f: WriteFloat(writer, f[i]); break;
            case long[] v: writer.WriteNumberValue(v[i]); break;
            case int[] v: writer.WriteNumberValue(v[i]); break;
            case short[] v: writer.WriteNumberValue(v[i]); break;
            case sbyte[] v: writer.WriteNumberValue(v[i]); break;
            case byte[] v: writer.WriteNumberValue(v[i]); break;
            case bool[] v: writer.WriteBooleanValue(v[i]); break;
            case string[] v: writer.WriteStringValue(v[i]); break;
        }
    }

    /// <summary>JSON has no NaN or infinity; a model that answers one gets the names .NET and Python use, as strings.</summary>
    private static void WriteFloat(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteStringValue(value.ToString(CultureInfo.InvariantCulture));
    }

    private static void WriteFloat(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteStringValue(value.ToString(CultureInfo.InvariantCulture));
    }

    public static string Describe(IEnumerable<ModelField> fields) =>
        string.Join(", ", fields.Select(f => $"{f.Name} ({(TensorTypes.TryFromOnnx(f.Type, out var t) ? TensorTypes.V2(t) : f.Type)} {Shape(f.Shape)})"));

    public static string Shape(IEnumerable<long>? shape) =>
        "[" + string.Join(",", (shape ?? []).Select(d => d < 0 ? "-1" : d.ToString(CultureInfo.InvariantCulture))) + "]";

    private static TensorType ExpectedType(ModelField field, string path) =>
        TensorTypes.TryFromOnnx(field.Type, out var type)
            ? type
            : throw new ModelInputException(path, $"Input '{field.Name}' is of type {field.Type}, which cannot be sent over JSON.");

    /// <summary>Rank and every fixed dimension must match the signature; -1 (dynamic) takes any size.</summary>
    private static void CheckShape(long[] shape, ModelField field, string path)
    {
        var want = field.Shape ?? [];
        if (shape.Length != want.Count)
        {
            throw new ModelInputException(path, $"Input '{field.Name}' has shape {Shape(want)} (rank {want.Count}); the request has {Shape(shape)} (rank {shape.Length}).");
        }
        for (var d = 0; d < shape.Length; d++)
        {
            if (want[d] >= 0 && want[d] != shape[d])
            {
                throw new ModelInputException(path, $"Input '{field.Name}' has shape {Shape(want)}: dimension {d} must be {want[d]}, the request has {shape[d]}.");
            }
        }
    }

    private static void FillNested(JsonElement value, long[] shape, int depth, Array values, ref int filled, TensorType type, string path)
    {
        if (depth == shape.Length)
        {
            Set(values, filled++, value, type, path, -1);
            return;
        }
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != shape[depth])
        {
            throw new ModelInputException(path, value.ValueKind == JsonValueKind.Array
                ? $"{path} has {value.GetArrayLength()} items where the tensor's dimension {depth} is {shape[depth]}: nested arrays must be rectangular."
                : $"{path} is a {Kind(value)} where an array of {shape[depth]} was expected (dimension {depth}).");
        }
        var i = 0;
        var innermost = depth == shape.Length - 1;
        foreach (var item in value.EnumerateArray())
        {
            // A value's path is only written out when it is wrong: an image tensor holds hundreds of thousands of them.
            if (innermost) Set(values, filled++, item, type, path, i);
            else FillNested(item, shape, depth + 1, values, ref filled, type, $"{path}[{i}]");
            i++;
        }
    }

    private static void Fill(JsonElement data, Array values, ref int filled, TensorType type, string path, int depth)
    {
        if (depth > 32) throw new ModelInputException(path, $"{path} is nested more than 32 deep.");
        var i = 0;
        foreach (var item in data.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                Fill(item, values, ref filled, type, $"{path}[{i}]", depth + 1);
            }
            else
            {
                if (filled >= values.Length)
                {
                    throw new ModelInputException(path, $"{path} has more values than the shape allows ({values.Length}).");
                }
                Set(values, filled++, item, type, path, i);
            }
            i++;
        }
    }

    /// <summary>Stores one value; <paramref name="item"/> is its index in the array at <paramref name="parent"/> (-1: the value is at <paramref name="parent"/>).</summary>
    private static void Set(Array values, int index, JsonElement value, TensorType type, string parent, int item)
    {
        switch (type)
        {
            case TensorType.String:
                if (value.ValueKind != JsonValueKind.String) throw Wrong(Item(parent, item), value, "a string");
                ((string[])values)[index] = value.GetString()!;
                return;
            case TensorType.Bool:
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw Wrong(Item(parent, item), value, "true or false");
                ((bool[])values)[index] = value.GetBoolean();
                return;
        }
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw Wrong(Item(parent, item), value, $"a number ({TensorTypes.V2(type)}); NaN, Infinity and null are not allowed");
        }
        switch (values)
        {
            case float[] f:
                f[index] = value.TryGetSingle(out var single) && float.IsFinite(single) ? single : throw OutOfRange(Item(parent, item), value, type);
                return;
            case double[] f:
                f[index] = value.TryGetDouble(out var d) && double.IsFinite(d) ? d : throw OutOfRange(Item(parent, item), value, type);
                return;
            case long[] v:
                v[index] = value.TryGetInt64(out var l) ? l : throw OutOfRange(Item(parent, item), value, type);
                return;
            case int[] v:
                v[index] = value.TryGetInt32(out var n) ? n : throw OutOfRange(Item(parent, item), value, type);
                return;
            case short[] v:
                v[index] = value.TryGetInt16(out var s) ? s : throw OutOfRange(Item(parent, item), value, type);
                return;
            case sbyte[] v:
                v[index] = value.TryGetSByte(out var sb) ? sb : throw OutOfRange(Item(parent, item), value, type);
                return;
            case byte[] v:
                v[index] = value.TryGetByte(out var b) ? b : throw OutOfRange(Item(parent, item), value, type);
                return;
        }
    }

    private static string Item(string parent, int item) => item < 0 ? parent : $"{parent}[{item}]";

    private static ModelInputException Wrong(string path, JsonElement value, string expected) =>
        new(path, $"{path} is {Kind(value)}{(value.ValueKind == JsonValueKind.String ? $" \"{Truncate(value.GetString()!)}\"" : "")}; expected {expected}.");

    private static ModelInputException OutOfRange(string path, JsonElement value, TensorType type) =>
        new(path, $"{path} is {Truncate(value.GetRawText())}, which is not a finite {TensorTypes.V2(type)} value{(type is TensorType.Float32 or TensorType.Float64 ? "" : " (a whole number in range)")}.");

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Null => "null",
        _ => "a boolean",
    };

    private static string RequiredString(JsonElement obj, string property, string path) =>
        obj.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
            ? s
            : throw new ModelInputException($"{path}.{property}", $"{path}.{property} is required (a string).");

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}

/// <summary>
/// The binary part of a request under the Open Inference Protocol's binary tensor data extension: inputs with
/// <c>binary_data_size</c> take their bytes from it in order; all of it must be taken.
/// </summary>
public sealed class BinaryTensorData(ReadOnlyMemory<byte> bytes)
{
    private int _offset;

    public int Left => bytes.Length - _offset;

    public ReadOnlySpan<byte> Take(int size, string field)
    {
        if (size > Left) throw new ModelInputException(field, $"{field} claims {size} bytes; the binary data has {Left} left.");
        var taken = bytes.Span.Slice(_offset, size);
        _offset += size;
        return taken;
    }

}
