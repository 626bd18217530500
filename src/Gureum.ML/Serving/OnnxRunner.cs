using Gureum.ML.Models;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Gureum.ML.Serving;

/// <summary>How an ONNX Runtime session runs: threads per operator and between operators, graph optimisation, device.</summary>
public sealed record OnnxRuntimeSettings
{
    /// <summary>Threads inside one operator (0: ONNX Runtime's default, one per core).</summary>
    public int IntraOpThreads { get; init; } = 1;
    /// <summary>Threads across independent operators (only used by parallel execution; 1: sequential).</summary>
    public int InterOpThreads { get; init; } = 1;
    /// <summary>none, basic, extended or all.</summary>
    public string GraphOptimization { get; init; } = "all";
    /// <summary>cpu; cuda (fails when the CUDA execution provider is not present); auto (CUDA when present, else CPU).</summary>
    public string Device { get; init; } = "cpu";

    public static readonly string[] Optimizations = ["none", "basic", "extended", "all"];
    public static readonly string[] Devices = ["cpu", "cuda", "auto"];
}

/// <summary>The answer's failure modes a caller must tell apart: the model raised an error, or ran past its time.</summary>
public sealed class ModelRunException(string message, bool timedOut, Exception? inner = null) : Exception(message, inner)
{
    public bool TimedOut { get; } = timedOut;
}

/// <summary>
/// One loaded ONNX model: an <see cref="InferenceSession"/> (thread-safe, shared by every request) with its
/// signature. Inputs arrive as <see cref="Tensor"/>s already checked against <see cref="Inputs"/>.
/// </summary>
public sealed class OnnxRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly string[] _outputNames;

    public OnnxRunner(byte[] model, OnnxRuntimeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _options = new SessionOptions
        {
            IntraOpNumThreads = settings.IntraOpThreads,
            InterOpNumThreads = settings.InterOpThreads,
            ExecutionMode = settings.InterOpThreads > 1 ? ExecutionMode.ORT_PARALLEL : ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = settings.GraphOptimization switch
            {
                "none" => GraphOptimizationLevel.ORT_DISABLE_ALL,
                "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
        };
        Device = "cpu";
        if (settings.Device is "cuda" or "auto")
        {
            try
            {
                _options.AppendExecutionProvider_CUDA(0);
                Device = "cuda";
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                if (settings.Device == "cuda")
                {
                    _options.Dispose();
                    throw new InvalidOperationException(
                        "The CUDA execution provider is not available on this node (the ONNX Runtime build here is CPU-only, or no GPU driver was found). Deploy with device 'cpu' or 'auto'.", e);
                }
            }
        }
        try
        {
            _session = new InferenceSession(model, _options);
        }
        catch
        {
            _options.Dispose();
            throw;
        }
        Inputs = [.. _session.InputNames.Select(n => Field(n, _session.InputMetadata[n]))];
        Outputs = [.. _session.OutputNames.Select(n => Field(n, _session.OutputMetadata[n]))];
        _outputNames = [.. _session.OutputNames];
        InputsByName = Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        // Batching stacks requests along the first dimension: every input and output must have a dynamic one.
        Batchable = Inputs.Concat(Outputs).All(f => f.Shape is [< 0, ..]);
    }

    public IReadOnlyList<ModelField> Inputs { get; }
    public IReadOnlyList<ModelField> Outputs { get; }
    public IReadOnlyDictionary<string, ModelField> InputsByName { get; }
    /// <summary>Whether requests can be stacked along a dynamic first dimension.</summary>
    public bool Batchable { get; }
    /// <summary>cpu or cuda: where the session actually runs.</summary>
    public string Device { get; }

    /// <summary>
    /// Runs the model on inputs named as in <see cref="Inputs"/> and returns every output. Past
    /// <paramref name="timeout"/> ONNX Runtime is told to stop and <see cref="ModelRunException"/> says so.
    /// </summary>
    public Tensor[] Run(IReadOnlyList<Tensor> inputs, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var values = new OrtValue[inputs.Count];
        var names = new string[inputs.Count];
        using var runOptions = new RunOptions();
        using var deadline = new CancellationTokenSource(timeout);
        // Disposed before runOptions (declared after it), and disposing a registration waits for its callback: the
        // deadline never writes to freed native options (a Timer's Dispose does not wait, which crashed the process).
        using var stopAtDeadline = deadline.Token.Register(static o => ((RunOptions)o!).Terminate = true, runOptions);
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                names[i] = inputs[i].Name;
                values[i] = ToOrt(inputs[i]);
            }
            using var results = _session.Run(runOptions, names, values, _outputNames);
            var outputs = new Tensor[results.Count];
            for (var i = 0; i < results.Count; i++) outputs[i] = FromOrt(_outputNames[i], results[i]);
            return outputs;
        }
        catch (OnnxRuntimeException e)
        {
            var timedOut = runOptions.Terminate;
            throw new ModelRunException(timedOut
                ? $"The model ran longer than the endpoint's timeout ({timeout.TotalMilliseconds:0} ms) and was stopped."
                : "The model failed on this input: " + e.Message, timedOut, e);
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }

    /// <summary>One run on zeros (dynamic dimensions as 1), so the first request does not pay for lazy initialisation.</summary>
    public void WarmUp(TimeSpan timeout)
    {
        var inputs = Inputs.Select(f =>
        {
            var shape = (f.Shape ?? []).Select(d => d < 0 ? 1 : d).ToArray();
            var type = TensorTypes.TryFromOnnx(f.Type, out var t) ? t
                : throw new InvalidOperationException($"Input '{f.Name}' is of type {f.Type}, which cannot be served over JSON.");
            var data = TensorTypes.Allocate(type, checked((int)Tensor.Count(shape)));
            if (data is string[] strings) Array.Fill(strings, "");
            return new Tensor(f.Name, type, shape, data);
        }).ToList();
        Run(inputs, timeout);
    }

    private static OrtValue ToOrt(Tensor t) => t.Data switch
    {
        float[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
        double[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
        long[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
        int[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
        short[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
        sbyte[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
        byte[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
        bool[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
        string[] d => OrtValue.CreateFromStringTensor(new DenseTensor<string>(d, [.. t.Shape.Select(x => (int)x)])),
        _ => throw new NotSupportedException(t.Type.ToString()),
    };

    private static Tensor FromOrt(string name, OrtValue value)
    {
        if (!value.IsTensor)
        {
            throw new ModelRunException($"Output '{name}' is not a tensor ({value.OnnxType}); only tensor outputs can be served over JSON.", false);
        }
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        return info.ElementDataType switch
        {
            TensorElementType.Float => new Tensor(name, TensorType.Float32, shape, value.GetTensorDataAsSpan<float>().ToArray()),
            TensorElementType.Double => new Tensor(name, TensorType.Float64, shape, value.GetTensorDataAsSpan<double>().ToArray()),
            TensorElementType.Int64 => new Tensor(name, TensorType.Int64, shape, value.GetTensorDataAsSpan<long>().ToArray()),
            TensorElementType.Int32 => new Tensor(name, TensorType.Int32, shape, value.GetTensorDataAsSpan<int>().ToArray()),
            TensorElementType.Int16 => new Tensor(name, TensorType.Int16, shape, value.GetTensorDataAsSpan<short>().ToArray()),
            TensorElementType.Int8 => new Tensor(name, TensorType.Int8, shape, value.GetTensorDataAsSpan<sbyte>().ToArray()),
            TensorElementType.UInt8 => new Tensor(name, TensorType.UInt8, shape, value.GetTensorDataAsSpan<byte>().ToArray()),
            TensorElementType.Bool => new Tensor(name, TensorType.Bool, shape, value.GetTensorDataAsSpan<bool>().ToArray()),
            TensorElementType.String => new Tensor(name, TensorType.String, shape, value.GetStringTensorAsArray()),
            var other => throw new ModelRunException($"Output '{name}' is a {other} tensor, which cannot be served over JSON.", false),
        };
    }

    private static ModelField Field(string name, NodeMetadata meta) =>
        new(name, meta.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR ? OnnxStaticCheck.ElementType((long)meta.ElementDataType) : meta.OnnxValueType.ToString(),
            meta.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR ? [.. meta.Dimensions.Select(d => (long)d)] : null);

    public void Dispose()
    {
        _session.Dispose();
        _options.Dispose();
    }
}
