using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Gureum.ML.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace Gureum.ML.Models;

/// <summary>
/// The child side of the load check (<c>check-model &lt;onnx|mlnet&gt; &lt;path&gt;</c>, see <see cref="ModelCheckLauncher"/>):
/// bounds its own memory, loads the model as serving would (ONNX Runtime session; ML.NET <c>Model.Load</c>, or
/// <see cref="TrainedModel.Load"/> for Gureum AutoML zips), and prints one JSON line with the signature or the error.
/// It never runs inference. Exit code 0 whenever it could answer; a crash is the parent's to report.
/// </summary>
public static class ModelCheckChild
{
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        ModelCheckAnswer answer;
        var path = args.Length > 1 ? args[1] : "";
        try
        {
            LimitMemory();
            answer = args switch
            {
                ["onnx", _] => new(Onnx(path), null),
                ["mlnet", _] => new(MlNet(path), null),
                _ => throw new ModelFileException(ModelFileException.LoadFailed, "file", "usage: check-model <onnx|mlnet> <path>"),
            };
        }
        catch (ModelFileException e)
        {
            answer = new(null, new(e.Code, e.Message));
        }
        catch (OutOfMemoryException)
        {
            answer = Failed("it needs more memory than the load check's limit");
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            answer = new(null, new(ModelFileException.Invalid, $"The model file is invalid: {Hide(e.Message, path)}"));
        }
        catch (Exception e)
        {
            answer = Failed(Hide(e.Message, path));
        }
        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(answer, ModelCheckAnswer.Json));
        await Console.Out.FlushAsync();
        return 0;
    }

    private static ModelCheckAnswer Failed(string why) => new(null, new(ModelFileException.LoadFailed, $"The model could not be loaded: {why}."));

    /// <summary>Runtime messages quote the file's path; the client must not see server paths.</summary>
    private static string Hide(string message, string path) =>
        path.Length == 0 ? message : message.Replace(Path.GetFullPath(path), "<model>", StringComparison.Ordinal).Replace(path, "<model>", StringComparison.Ordinal);

    /// <summary>
    /// RLIMIT_DATA caps private writable memory (heap, anonymous mappings: native allocations of ONNX Runtime and
    /// LightGBM as well as the GC's committed memory) while leaving the runtime's address-space reservations alone,
    /// which RLIMIT_AS would not. No core dumps of a hostile model's process either.
    /// </summary>
    private static void LimitMemory()
    {
        if (!OperatingSystem.IsLinux()) return;
        const int RlimitData = 2, RlimitCore = 4;
        if (long.TryParse(Environment.GetEnvironmentVariable(ModelCheckLauncher.MemoryVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
            && Native.setrlimit(RlimitData, [(ulong)bytes, (ulong)bytes]) != 0)
        {
            throw new ModelFileException(ModelFileException.LoadFailed, "file", "The model could not be loaded: the load check could not limit its memory.");
        }
        _ = Native.setrlimit(RlimitCore, [0, 0]);
    }

    private static ModelFileSignature Onnx(string path)
    {
        // Our own checks again, in the process that creates the session, whatever the runtime would accept.
        var expected = OnnxStaticCheck.Read(path);
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        using var session = new InferenceSession(path, options);
        var inputs = session.InputNames.Select(n => Field(n, session.InputMetadata[n])).ToList();
        var outputs = session.OutputNames.Select(n => Field(n, session.OutputMetadata[n])).ToList();
        return new ModelFileSignature(ModelFormat.Onnx, inputs, outputs, expected.Metadata);
    }

    private static ModelField Field(string name, NodeMetadata meta) =>
        new(name, OnnxType(meta), meta.OnnxValueType is OnnxValueType.ONNX_TYPE_TENSOR or OnnxValueType.ONNX_TYPE_SPARSETENSOR
            ? [.. meta.Dimensions.Select(d => (long)d)]
            : null);

    /// <summary>The same type names as <see cref="OnnxStaticCheck"/>, so the two readings can be compared.</summary>
    private static string OnnxType(NodeMetadata meta) => meta.OnnxValueType switch
    {
        OnnxValueType.ONNX_TYPE_TENSOR => OnnxStaticCheck.ElementType((long)meta.ElementDataType),
        OnnxValueType.ONNX_TYPE_SPARSETENSOR => $"sparse_tensor<{OnnxStaticCheck.ElementType((long)meta.ElementDataType)}>",
        OnnxValueType.ONNX_TYPE_SEQUENCE => $"sequence<{OnnxType(meta.AsSequenceMetadata().ElementMeta)}>",
        OnnxValueType.ONNX_TYPE_OPTIONAL => $"optional<{OnnxType(meta.AsOptionalMetadata().ElementMeta)}>",
        OnnxValueType.ONNX_TYPE_MAP => $"map<{OnnxStaticCheck.ElementType((long)meta.AsMapMetadata().KeyDataType)},{OnnxType(meta.AsMapMetadata().ValueMetadata)}>",
        var other => other.ToString(),
    };

    private static ModelFileSignature MlNet(string path)
    {
        using var file = File.OpenRead(path);
        if (IsAutoMl(file))
        {
            var model = TrainedModel.Load(file);
            var signature = model.Signature;
            var metadata = new Dictionary<string, string>
            {
                ["gureum.kind"] = "automl",
                ["gureum.task"] = JsonNamingPolicy.CamelCase.ConvertName(model.Task.ToString()),
                ["gureum.trainer"] = model.Trainer,
            };
            return new ModelFileSignature(ModelFormat.MlNet,
                [.. signature.Inputs.Select(i => new ModelField(i.Name, JsonNamingPolicy.CamelCase.ConvertName(i.Type.ToString()), null))],
                [.. signature.Outputs.Select(o => new ModelField(o.Name, o.Type, null))],
                metadata);
        }
        var ml = new MLContext(seed: 0);
        var transformer = ml.Model.Load(file, out var input);
        if (input is null) throw new InvalidDataException("the ML.NET model has no input schema");
        var output = transformer.GetOutputSchema(input);
        var inputs = input.Where(c => !c.IsHidden).Select(Field).ToList();
        // The output schema repeats the input columns a pipeline passes through; only what the model adds or changes is output.
        var outputs = output.Where(c => !c.IsHidden).Select(Field)
            .Where(f => !inputs.Any(i => i.Name == f.Name && i.Type == f.Type && (i.Shape ?? []).SequenceEqual(f.Shape ?? []))).ToList();
        return new ModelFileSignature(ModelFormat.MlNet, inputs, outputs, new Dictionary<string, string> { ["gureum.kind"] = "mlnet" });
    }

    private static bool IsAutoMl(Stream file)
    {
        using var zip = new System.IO.Compression.ZipArchive(file, System.IO.Compression.ZipArchiveMode.Read, leaveOpen: true);
        var found = zip.GetEntry(ModelArchive.ManifestEntry) is not null;
        file.Position = 0;
        return found;
    }

    private static ModelField Field(DataViewSchema.Column column) => column.Type switch
    {
        VectorDataViewType v => new(column.Name, v.Size > 0 ? $"Vector<{v.ItemType},{v.Size}>" : $"Vector<{v.ItemType}>", [.. v.Dimensions.Select(d => d > 0 ? (long)d : -1)]),
        var t => new(column.Name, t.ToString() ?? t.RawType.Name, null),
    };

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int setrlimit(int resource, ulong[] limit);
    }
}
