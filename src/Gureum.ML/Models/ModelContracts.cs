namespace Gureum.ML.Models;

/// <summary>The model file formats the registry accepts. Everything else (pickle, PyTorch, Keras, ...) runs code on load.</summary>
public enum ModelFormat
{
    Onnx,
    MlNet,
}

/// <summary>
/// One input or output of a model. <see cref="Type"/> is the ONNX element type (<c>float32</c>, <c>int64</c>,
/// <c>string</c>, <c>sequence&lt;map&lt;int64,float32&gt;&gt;</c>) or the ML.NET column type (<c>Single</c>,
/// <c>String</c>, <c>Vector&lt;Single,4&gt;</c>); for Gureum AutoML models the column type (<c>float</c>, <c>categorical</c>).
/// <see cref="Shape"/>: -1 for a dynamic or symbolic ONNX dimension, the vector size for ML.NET vectors, null for scalars
/// and for values without a shape.
/// </summary>
public sealed record ModelField(string Name, string Type, IReadOnlyList<long>? Shape);

/// <summary>What a model file takes and returns, and what it says about itself (producer, opset, custom metadata).</summary>
public sealed record ModelFileSignature(
    ModelFormat Format,
    IReadOnlyList<ModelField> Inputs,
    IReadOnlyList<ModelField> Outputs,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// A model file refused. <see cref="Code"/>: <c>unsupported-model-format</c> (415), <c>invalid-model</c> (422),
/// <c>model-too-large</c> (413), <c>model-load-failed</c> (422: the isolated load failed, timed out or ran out of memory).
/// Messages name what was wrong and never contain a server path.
/// </summary>
public sealed class ModelFileException(string code, string field, string message) : Exception(message)
{
    public const string Unsupported = "unsupported-model-format";
    public const string Invalid = "invalid-model";
    public const string TooLarge = "model-too-large";
    public const string LoadFailed = "model-load-failed";

    public string Code { get; } = code;
    /// <summary>The request field at fault: <c>file</c> for the upload, <c>signature</c> for a declaration.</summary>
    public string Field { get; } = field;
}

/// <summary>Bounds on what a model file may be and on what its isolated load check may use.</summary>
public sealed record ModelFileLimits
{
    public long MaxBytes { get; init; } = 2L << 30;
    public int MaxZipEntries { get; init; } = 10_000;
    /// <summary>Uncompressed / compressed size, per zip entry and over the whole archive.</summary>
    public int MaxCompressionRatio { get; init; } = 100;
    /// <summary>The sum of the uncompressed sizes of every zip entry, nested model zips included.</summary>
    public long MaxUncompressedBytes { get; init; } = 4L << 30;
    /// <summary>Wall-clock time for the load check, process start included.</summary>
    public TimeSpan LoadTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Memory of the load check process: the managed heap (GC hard limit) and its private writable memory (RLIMIT_DATA).</summary>
    public long LoadMemoryBytes { get; init; } = 2L << 30;
}
