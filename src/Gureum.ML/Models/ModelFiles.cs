using System.Buffers.Binary;
using System.Globalization;

namespace Gureum.ML.Models;

/// <summary>
/// Validation of an uploaded model file before its version becomes visible: what it is (<see cref="Detect"/>), static
/// checks that never run it, then an isolated, bounded load in a child process (<see cref="ValidateAsync"/>), and the
/// comparison of what the user declared with what the file has (<see cref="FindMismatch"/>).
/// </summary>
public static class ModelFiles
{
    /// <summary>Formats that execute code on load (pickle and what is built on it) or that we do not serve.</summary>
    private static readonly Dictionary<string, string> RefusedExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        [".pt"] = "a PyTorch file", [".pth"] = "a PyTorch file", [".ckpt"] = "a PyTorch checkpoint", [".bin"] = "a raw weights file",
        [".pkl"] = "a pickle", [".pickle"] = "a pickle", [".joblib"] = "a joblib (pickle) file", [".sav"] = "a pickle",
        [".h5"] = "an HDF5 (Keras) file", [".hdf5"] = "an HDF5 (Keras) file", [".keras"] = "a Keras archive",
        [".safetensors"] = "a safetensors file", [".npy"] = "a NumPy file", [".npz"] = "a NumPy archive",
        [".pb"] = "a TensorFlow graph", [".tflite"] = "a TensorFlow Lite file", [".mar"] = "a TorchServe archive",
    };

    /// <summary>
    /// ONNX or ML.NET zip, from the file's first bytes (and, for zips, its entry names). The user's file name is only a
    /// hint: a refused extension is refused whatever the bytes, and <c>.onnx</c> lets a protobuf that does not start with
    /// ir_version through to validation. Anything else is <c>unsupported-model-format</c>.
    /// </summary>
    public static ModelFormat Detect(string path, string? fileName)
    {
        var extension = Path.GetExtension(fileName ?? "");
        if (RefusedExtensions.TryGetValue(extension, out var named)) throw Unsupported($"'{extension}' is {named}");
        var head = new byte[16];
        int read;
        using (var file = File.OpenRead(path)) read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var bytes = head.AsSpan(0, read);
        if (read == 0) throw Unsupported("the file is empty");
        if (read >= 2 && bytes[0] == 0x80 && bytes[1] is >= 2 and <= 5) throw Unsupported("the file is a Python pickle, which runs code when loaded");
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A])) throw Unsupported("the file is HDF5 (Keras .h5)");
        if (read >= 9 && BinaryPrimitives.ReadUInt64LittleEndian(bytes) < (100 << 20) && bytes[8] == (byte)'{') throw Unsupported("the file is safetensors");
        if (bytes.StartsWith("PK\x03\x04"u8) || bytes.StartsWith("PK\x05\x06"u8)) return DetectZip(path);
        // ModelProto's first field is ir_version (field 1, varint): tag 0x08, then a small version number.
        if (read >= 2 && bytes[0] == 0x08 && bytes[1] is > 0 and < 0x80) return ModelFormat.Onnx;
        if (extension.Equals(".onnx", StringComparison.OrdinalIgnoreCase) && bytes[0] is 0x0A or 0x12 or 0x1A or 0x22 or 0x28 or 0x3A or 0x42)
        {
            return ModelFormat.Onnx;
        }
        throw Unsupported("the file is neither ONNX nor an ML.NET model zip");
    }

    private static ModelFormat DetectZip(string path)
    {
        var names = ModelArchive.EntryNames(path, new ModelFileLimits());
        bool Any(Func<string, bool> test) => names.Any(test);
        if (Any(n => n == "data.pkl" || n.EndsWith("/data.pkl", StringComparison.Ordinal) || n.EndsWith(".pkl", StringComparison.OrdinalIgnoreCase)))
        {
            throw Unsupported("the zip is a PyTorch archive (it holds pickles, which run code when loaded)");
        }
        if (Any(n => n.EndsWith(".h5", StringComparison.OrdinalIgnoreCase) || n.EndsWith(".keras", StringComparison.OrdinalIgnoreCase)))
        {
            throw Unsupported("the zip is a Keras archive");
        }
        if (Any(n => n == ModelArchive.ManifestEntry) || Any(n => n.StartsWith("TransformerChain/", StringComparison.Ordinal)))
        {
            return ModelFormat.MlNet;
        }
        throw Unsupported("the zip is not an ML.NET model (no TransformerChain/ and no Gureum manifest.json)");
    }

    /// <summary>
    /// Static checks in this process (the file is read, never run), then the isolated load check in a child process
    /// started by <paramref name="launcher"/>. Returns the signature; throws <see cref="ModelFileException"/>.
    /// </summary>
    public static async Task<ModelFileSignature> ValidateAsync(string path, ModelFormat format, ModelFileLimits limits, ModelCheckLauncher launcher, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(launcher);
        var size = new FileInfo(path).Length;
        if (size > limits.MaxBytes) throw new ModelFileException(ModelFileException.TooLarge, "file", $"The model file has {size} bytes; at most {limits.MaxBytes} are accepted.");
        var expected = StaticCheck(path, format, limits);
        var loaded = await launcher.RunAsync(format, path, limits, ct);
        // Our reader and ONNX Runtime must see the same model (a difference means one of them is being fooled); the
        // runtime may only make a dynamic dimension concrete, as its shape inference does for outputs.
        if (expected is not null && FindMismatch(loaded, expected) is { } difference)
        {
            throw new ModelFileException(ModelFileException.Invalid, "file", $"The ONNX file reads differently in ONNX Runtime: {difference}.");
        }
        return loaded;
    }

    /// <summary>The checks that need no model code; the ONNX signature when the format has one statically.</summary>
    internal static ModelFileSignature? StaticCheck(string path, ModelFormat format, ModelFileLimits limits)
    {
        if (format == ModelFormat.Onnx) return OnnxStaticCheck.Read(path);
        ModelArchive.Check(path, limits);
        return null;
    }

    /// <summary>
    /// Null when the file has what was declared, else the first difference, naming the field. Fields are matched by name
    /// (order is not part of the contract), types ignoring case; a declared shape must have the model's rank and each
    /// dimension must equal the model's unless the model's is dynamic (-1). A declared shape of null is not checked.
    /// </summary>
    public static string? FindMismatch(ModelFileSignature declared, ModelFileSignature actual)
    {
        ArgumentNullException.ThrowIfNull(declared);
        ArgumentNullException.ThrowIfNull(actual);
        if (declared.Format != actual.Format) return $"format: declared {Name(declared.Format)}, the file is {Name(actual.Format)}";
        return Fields("inputs", "input", declared.Inputs, actual.Inputs) ?? Fields("outputs", "output", declared.Outputs, actual.Outputs);
    }

    private static string? Fields(string list, string one, IReadOnlyList<ModelField> declared, IReadOnlyList<ModelField> actual)
    {
        var byName = actual.ToDictionary(f => f.Name, StringComparer.Ordinal);
        for (var i = 0; i < declared.Count; i++)
        {
            var d = declared[i];
            if (declared.Take(i).Any(x => x.Name == d.Name)) return $"{list}[{i}] '{d.Name}': declared twice";
            if (!byName.TryGetValue(d.Name, out var a)) return $"{list}[{i}] '{d.Name}': the model has no {one} of that name (it has {Names(actual)})";
            var sameShape = d.Shape is null || (a.Shape is not null && d.Shape.Count == a.Shape.Count && d.Shape.Zip(a.Shape).All(p => p.Second == -1 || p.First == p.Second));
            if (!string.Equals(d.Type, a.Type, StringComparison.OrdinalIgnoreCase) || !sameShape)
            {
                return $"{list}[{i}] '{d.Name}': declared {Describe(d)}, the model has {Describe(a)}";
            }
        }
        var missing = actual.FirstOrDefault(a => !declared.Any(d => d.Name == a.Name));
        return missing is null ? null : $"{list}: the model's {one} '{missing.Name}' ({Describe(missing)}) is not declared";
    }

    private static string Names(IReadOnlyList<ModelField> fields) => fields.Count == 0 ? "none" : string.Join(", ", fields.Select(f => $"'{f.Name}'"));

    private static string Describe(ModelField f) => f.Shape is null
        ? f.Type
        : $"{f.Type} [{string.Join(',', f.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))}]";

    internal static string Name(ModelFormat format) => format == ModelFormat.Onnx ? "onnx" : "mlnet";

    private static ModelFileException Unsupported(string why) => new(ModelFileException.Unsupported, "file",
        $"Unsupported model format: {why}. Upload an ONNX file (.onnx) or an ML.NET model zip.");
}
