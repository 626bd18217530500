using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gureum.ML.Models;
using Gureum.ML.Serving;
using Gureum.ML.Training;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Serving;

/// <summary>The two request shapes: Gureum's <c>/predict</c> and the Open Inference Protocol's <c>/infer</c>.</summary>
public enum Protocol
{
    Gureum,
    V2,
}

/// <summary>A request read against one version's signature: tensors for ONNX, rows for AutoML models.</summary>
public sealed record ParsedInput(Tensor[]? Tensors, IReadOnlyList<IReadOnlyDictionary<string, object?>>? Rows, long RowCount, IReadOnlyList<string>? RequestedOutputs)
{
    /// <summary>The V2 request's own <c>id</c>, echoed in the answer.</summary>
    public string? Id { get; init; }
}

/// <summary>A version's answer: output tensors (ONNX) or predictions (AutoML).</summary>
public sealed record Answer(Tensor[]? Outputs, IReadOnlyList<Prediction>? Predictions, bool ContributionsSupported);

/// <summary>
/// The prediction path shared by <c>/v1/.../predict</c> and <c>/v2/.../infer</c>: find the endpoint, read the body under
/// its limit, pick a version by weight, check the input against that version's signature, run it (through the batcher
/// when there is one), count and time it, sample it, and hand a copy to the shadows.
/// </summary>
public sealed class Predictor(EndpointHost host, PredictionLog log, GureumDbFactory dbFactory, Usage.Metering metering)
{
    private static readonly JsonSerializerOptions PredictionJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The endpoint's routing table, or 404 (no such endpoint in this project) / 503 (loading or failed, with why).</summary>
    public async Task<(LiveEndpoint Live, Routes Routes)> FindAsync(string projectId, string name, CancellationToken ct)
    {
        var live = host.Find(projectId, name);
        if (live is null)
        {
            await using var db = dbFactory.Create();
            var row = await db.Set<InferenceEndpoint>().AsNoTracking().FirstOrDefaultAsync(e => e.ProjectId == projectId && e.Name == name, ct)
                ?? throw new GureumException(ProblemCode.NotFound, $"Endpoint '{name}' was not found in this project. List endpoints with GET /v1/projects/{{project}}/endpoints.");
            // Created on another node a moment ago: load it here too.
            host.Schedule(row);
            live = host.Find(projectId, name)!;
        }
        if (live.Routes is { } routes) return (live, routes);
        if (live.Status == "elsewhere") throw new EndpointElsewhereException(name, live.Hosts, live.Reason);
        // Retry-After comes with every 503 (ProblemsSetup.WriteProblemAsync).
        throw live.Status == "failed"
            ? new GureumException(ProblemCode.NotReady, $"Endpoint '{name}' failed to load: {live.Reason} Fix the deployment with PUT on the endpoint.")
            : new GureumException(ProblemCode.NotReady, $"Endpoint '{name}' is still loading its model; retry in a moment.");
    }

    /// <summary>The Open Inference Protocol's binary tensor data extension: the JSON part's length; tensor bytes follow it.</summary>
    public const string BinaryHeader = "Inference-Header-Content-Length";

    /// <summary>
    /// Reads the whole body, refusing one over the endpoint's <c>maxBodyBytes</c> before and while reading. On V2 a
    /// <see cref="BinaryHeader"/> splits it into JSON and binary tensor data (then <c>application/octet-stream</c> is
    /// accepted too: the header itself makes a browser ask first).
    /// </summary>
    public static async Task<InferenceBody> ReadBodyAsync(HttpContext http, long maxBytes, Protocol protocol, CancellationToken ct)
    {
        var binary = protocol == Protocol.V2 && http.Request.Headers.ContainsKey(BinaryHeader);
        // JSON only: a browser can send text/plain or a form across origins without asking first.
        if (http.Request.ContentType is not { } type || !(type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            || type.Split(';')[0].EndsWith("+json", StringComparison.OrdinalIgnoreCase)
            || (binary && type.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase))))
        {
            throw new GureumException(ProblemCode.UnsupportedMediaType, "Send the body as JSON with 'Content-Type: application/json'.");
        }
        var body = await RequestBody.ReadAsync(http, maxBytes, size => TooLarge(size, maxBytes), ct);
        if (body.Length == 0)
        {
            throw GureumException.Invalid("body", "The body is empty; send JSON with the model's inputs (see GET on the endpoint for its signature).");
        }
        if (!binary) return new InferenceBody(body, body.Length);
        var header = http.Request.Headers[BinaryHeader].ToString();
        if (!int.TryParse(header, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var json) || json < 2 || json > body.Length)
        {
            throw GureumException.Invalid(BinaryHeader, $"{BinaryHeader} is '{header}'; it must be the JSON part's length in bytes, between 2 and the body's {body.Length}.");
        }
        return new InferenceBody(body, json);
    }

    private static GureumException TooLarge(long size, long max) => new(ProblemCode.PayloadTooLarge,
        $"The body is {(size > max + 1 ? size + " bytes" : "over the limit")}; this endpoint takes at most {max} bytes (its 'maxBodyBytes'). Split the batch into smaller requests.");

    public static JsonDocument ParseJson(ReadOnlyMemory<byte> body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new GureumException(ProblemCode.MalformedRequest, "The JSON body is malformed: " + e.Message);
        }
    }

    /// <summary>Reads the request for <paramref name="version"/>'s signature; every refusal names the field and what was expected.</summary>
    public static ParsedInput Parse(ServedVersion version, JsonElement root, Protocol protocol, int maxRows, long maxElements, BinaryTensorData? binary = null)
    {
        if (root.ValueKind != JsonValueKind.Object) throw GureumException.Invalid("body", "The body must be a JSON object.");
        try
        {
            if (binary is not null && version.AutoMl is not null)
            {
                throw new ModelInputException(BinaryHeader, "Binary tensor data is read for ONNX models; an AutoML model's columns go in each input's 'data'.");
            }
            var input = (protocol, version.AutoMl) switch
            {
                (Protocol.Gureum, null) => ParseGureumTensors(version.Onnx!, root, maxRows),
                (Protocol.Gureum, { } model) => ParseRecords(model, root, maxRows),
                (_, { } model) => ParseV2Columns(model, version.Signature, root, maxRows),
                _ => ParseV2Tensors(version.Onnx!, root, maxRows, maxElements, binary),
            };
            if (binary is { Left: > 0 } left)
            {
                throw new ModelInputException(BinaryHeader, $"{left.Left} bytes of binary data follow the JSON part that no input claims with binary_data_size.");
            }
            return input;
        }
        catch (ModelInputException e)
        {
            throw GureumException.Invalid(e.Field, e.Message);
        }
    }

    private static ParsedInput ParseGureumTensors(OnnxRunner onnx, JsonElement root, int maxRows)
    {
        foreach (var p in root.EnumerateObject())
        {
            if (p.Name is not ("inputs" or "outputs"))
            {
                throw new ModelInputException(p.Name, $"Unknown field '{p.Name}'. Send {{\"inputs\": {{{string.Join(", ", onnx.Inputs.Select(i => $"\"{i.Name}\": [...]"))}}}}}.");
            }
        }
        if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Object)
        {
            throw new ModelInputException("inputs", $"'inputs' is required: an object of input name → nested array. This model takes {TensorJson.Describe(onnx.Inputs)}.");
        }
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var p in inputs.EnumerateObject())
        {
            if (!onnx.InputsByName.TryGetValue(p.Name, out var field))
            {
                throw new ModelInputException("inputs." + p.Name, $"The model has no input '{p.Name}'. Its inputs: {TensorJson.Describe(onnx.Inputs)}.");
            }
            if (!byName.TryAdd(p.Name, TensorJson.ReadNested(p.Name, p.Value, "inputs." + p.Name, field)))
            {
                throw new ModelInputException("inputs." + p.Name, $"Input '{p.Name}' is given twice.");
            }
        }
        return new ParsedInput(Ordered(onnx, byName, "inputs"), null, RowsOf(onnx, byName, maxRows), RequestedOutputs(root, "outputs", onnx));
    }

    private static ParsedInput ParseV2Tensors(OnnxRunner onnx, JsonElement root, int maxRows, long maxElements, BinaryTensorData? binary)
    {
        if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array)
        {
            throw new ModelInputException("inputs", $"'inputs' is required: an array of {{\"name\", \"shape\", \"datatype\", \"data\"}}. This model takes {TensorJson.Describe(onnx.Inputs)}.");
        }
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var i = 0;
        foreach (var input in inputs.EnumerateArray())
        {
            // A JSON value takes at least two bytes ("0,"), so more elements than that cannot be in the body.
            var tensor = TensorJson.ReadV2(input, $"inputs[{i}]", onnx.InputsByName, maxElements, binary);
            if (!byName.TryAdd(tensor.Name, tensor)) throw new ModelInputException($"inputs[{i}].name", $"Input '{tensor.Name}' is given twice.");
            i++;
        }
        return new ParsedInput(Ordered(onnx, byName, "inputs"), null, RowsOf(onnx, byName, maxRows), RequestedOutputs(root, "outputs", onnx)) { Id = IdOf(root) };
    }

    private static string? IdOf(JsonElement root) =>
        root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;

    private static Tensor[] Ordered(OnnxRunner onnx, Dictionary<string, Tensor> byName, string field)
    {
        var missing = onnx.Inputs.Where(i => !byName.ContainsKey(i.Name)).ToList();
        if (missing.Count > 0)
        {
            throw new ModelInputException($"{field}.{missing[0].Name}", $"Input '{missing[0].Name}' is missing; the model takes {TensorJson.Describe(onnx.Inputs)}.");
        }
        return [.. onnx.Inputs.Select(i => byName[i.Name])];
    }

    /// <summary>Batch-major inputs must agree on the row count, which must be within the endpoint's limit.</summary>
    private static long RowsOf(OnnxRunner onnx, Dictionary<string, Tensor> byName, int maxRows)
    {
        long rows = 1;
        string? first = null;
        foreach (var field in onnx.Inputs)
        {
            var t = byName[field.Name];
            if (field.Shape is not [< 0, ..]) continue;
            if (first is null)
            {
                (first, rows) = (field.Name, t.Rows);
            }
            else if (t.Rows != rows)
            {
                throw new ModelInputException("inputs." + field.Name, $"Input '{field.Name}' has {t.Rows} rows but '{first}' has {rows}; every input needs the same batch size.");
            }
        }
        if (rows > maxRows)
        {
            throw new ModelInputException("inputs." + first, $"The request has {rows} rows; this endpoint takes at most {maxRows} per request (its 'maxRowsPerRequest').");
        }
        return rows;
    }

    private static List<string>? RequestedOutputs(JsonElement root, string property, OnnxRunner onnx)
    {
        if (!root.TryGetProperty(property, out var outputs) || outputs.ValueKind == JsonValueKind.Null) return null;
        if (outputs.ValueKind != JsonValueKind.Array) throw new ModelInputException(property, $"'{property}' must be an array of output names.");
        var names = new List<string>();
        var i = 0;
        foreach (var o in outputs.EnumerateArray())
        {
            var name = o.ValueKind == JsonValueKind.String ? o.GetString()
                : o.ValueKind == JsonValueKind.Object && o.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (name is null || onnx.Outputs.All(f => f.Name != name))
            {
                throw new ModelInputException($"{property}[{i}]", $"{property}[{i}] names no output of the model; its outputs: {string.Join(", ", onnx.Outputs.Select(f => f.Name))}.");
            }
            names.Add(name);
            i++;
        }
        return names;
    }

    private static ParsedInput ParseRecords(TrainedModel model, JsonElement root, int maxRows)
    {
        foreach (var p in root.EnumerateObject())
        {
            if (p.Name != "records")
            {
                throw new ModelInputException(p.Name, $"Unknown field '{p.Name}'. Send {{\"records\": [{{\"column\": value, ...}}]}}.");
            }
        }
        if (!root.TryGetProperty("records", out var records))
        {
            throw new ModelInputException("records", "'records' is required: an array of objects, one per row, with the model's columns: " +
                string.Join(", ", model.Signature.Inputs.Select(i => i.Name)) + ".");
        }
        var rows = model.RowsFromJson(records, maxRows, requireEveryColumn: true);
        return new ParsedInput(null, rows, rows.Count, null);
    }

    /// <summary>V2 for tabular models: one tensor per column (shape [rows] or [rows, 1]), as KServe's tabular runtimes take.</summary>
    private static ParsedInput ParseV2Columns(TrainedModel model, ModelFileSignature signature, JsonElement root, int maxRows)
    {
        if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array)
        {
            throw new ModelInputException("inputs", "'inputs' is required: one tensor per column, shape [rows], e.g. " +
                "{\"name\": \"age\", \"shape\": [1], \"datatype\": \"FP64\", \"data\": [39]}.");
        }
        var columns = signature.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var records = new List<Dictionary<string, JsonElement>>();
        long rows = -1;
        var i = 0;
        foreach (var input in inputs.EnumerateArray())
        {
            var at = $"inputs[{i++}]";
            if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("name", out var nameJson) || nameJson.ValueKind != JsonValueKind.String)
            {
                throw new ModelInputException(at, $"{at} must be an object with 'name', 'shape', 'datatype' and 'data'.");
            }
            var name = nameJson.GetString()!;
            if (!columns.ContainsKey(name)) throw new ModelInputException(at + ".name", $"The model has no column '{name}'. Its columns: {string.Join(", ", columns.Keys)}.");
            if (!input.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                throw new ModelInputException(at + ".data", $"{at}.data is required: one value per row.");
            }
            var values = Flatten(data).ToList();
            if (rows < 0) rows = values.Count;
            else if (values.Count != rows) throw new ModelInputException(at + ".data", $"Column '{name}' has {values.Count} values but the first column has {rows}; every column needs one value per row.");
            if (rows > maxRows) throw new ModelInputException(at + ".data", $"The request has {rows} rows; this endpoint takes at most {maxRows} per request (its 'maxRowsPerRequest').");
            while (records.Count < rows) records.Add(new Dictionary<string, JsonElement>(StringComparer.Ordinal));
            for (var r = 0; r < values.Count; r++) records[r][name] = values[r];
        }
        if (rows <= 0) throw new ModelInputException("inputs", "'inputs' is empty; send one tensor per column with at least one row.");
        var json = JsonSerializer.SerializeToElement(records);
        var parsed = model.RowsFromJson(json, maxRows, requireEveryColumn: true);
        return new ParsedInput(null, parsed, parsed.Count, null) { Id = IdOf(root) };
    }

    private static IEnumerable<JsonElement> Flatten(JsonElement array)
    {
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Array)
            {
                foreach (var inner in Flatten(item)) yield return inner;
            }
            else
            {
                yield return item;
            }
        }
    }

    /// <summary>Runs the version: batched when it has a batcher, else directly with at most <c>maxQueue</c> calls at once.</summary>
    public static async Task<Answer> RunAsync(ServedVersion version, EndpointSpec spec, ParsedInput input, bool explain)
    {
        try
        {
            if (version.AutoMl is { } model)
            {
                if (!version.RecordBatcher!.TryEnqueue(new RecordsRequest(input.Rows!, explain && model.SupportsContributions), out var predicted)) throw Busy(version);
                return new Answer(null, await predicted, model.SupportsContributions);
            }
            if (version.Batcher is { } batcher)
            {
                if (!batcher.TryEnqueue(input.Tensors!, out var pending)) throw Busy(version);
                return new Answer(await pending, null, false);
            }
            var timeout = TimeSpan.FromMilliseconds(spec.TimeoutMs);
            return Bounded(version, spec, () => new Answer(version.Onnx!.Run(input.Tensors!, timeout), null, false));
        }
        catch (ModelRunException e)
        {
            throw new GureumException(e.TimedOut ? ProblemCode.ModelTimeout : ProblemCode.ModelFailed,
                $"{version.Model}:{version.Version}: {e.Message} Only this request failed; the endpoint keeps serving. Quote the traceId when reporting it.");
        }
        catch (ModelInputException e)
        {
            throw GureumException.Invalid(e.Field, e.Message);
        }
    }

    private static Answer Bounded(ServedVersion version, EndpointSpec spec, Func<Answer> run)
    {
        try
        {
            if (Interlocked.Increment(ref version.InFlight) > spec.BatchingOrDefault.MaxQueue) throw Busy(version);
            return run();
        }
        finally
        {
            Interlocked.Decrement(ref version.InFlight);
        }
    }

    /// <summary>A 429; ProblemsSetup.WriteProblemAsync adds its Retry-After.</summary>
    private static GureumException Busy(ServedVersion version)
    {
        return new GureumException(ProblemCode.TooManyRequests,
            $"{version.Model}:{version.Version} has a full queue; retry after the time in Retry-After, or raise the endpoint's 'batching.maxQueue'.");
    }

    /// <summary>
    /// The whole request: pick, parse, run, record. <paramref name="write"/> turns the answer into the response JSON;
    /// <paramref name="only"/> pins a version (V2's <c>/versions/{v}/infer</c>).
    /// </summary>
    public async Task HandleAsync(HttpContext http, LiveEndpoint live, Routes routes, Protocol protocol, int? only, bool explain,
        Action<Utf8JsonWriter, ServedVersion, Answer, ParsedInput, string> write, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var spec = routes.Spec;
        var keyId = Caller.From(http.User).KeyId;
        var service = "predict:" + live.Name;
        await metering.CheckRateAsync(live.ProjectId, keyId, service, ct, live.ServingNodes > 0 ? live.ServingNodes : null);
        using var slot = live.EnterRequest(spec.MaxConcurrency);
        var body = await ReadBodyAsync(http, spec.MaxBodyBytes, protocol, ct);
        Route route;
        if (only is { } pinned)
        {
            route = routes.All.FirstOrDefault(r => r.Version.Version == pinned)
                ?? throw new GureumException(ProblemCode.NotFound, $"Endpoint '{live.Name}' does not serve version {pinned}; it serves {string.Join(", ", routes.All.Select(r => r.Version.Version).Distinct())}.");
        }
        else
        {
            route = routes.Pick();
        }
        var version = route.Version;
        if (!version.TryAcquire())
        {
            // Swapped out between the pick and now: the new table serves this request.
            route = (live.Routes ?? routes).Pick();
            version = route.Version;
            if (!version.TryAcquire()) throw new GureumException(ProblemCode.NotReady, $"Endpoint '{live.Name}' is changing versions; retry.");
        }
        var requestId = http.TraceIdentifier;
        var status = 200;
        long rows = 0;
        byte[]? response = null;
        try
        {
            using var document = ParseJson(body.Json);
            var input = Parse(version, document.RootElement, protocol, spec.MaxRowsPerRequest, body.JsonLength / 2 + 1, body.Binary());
            rows = input.RowCount;
            await using var charge = await metering.ReserveAsync(live.ProjectId, keyId, service, "predictions", rows, requestId, ct, coalesce: true);
            var answer = await RunAsync(version, spec, input, explain);
            var buffer = new ArrayBufferWriter<byte>(1024);
            await using (var writer = new Utf8JsonWriter(buffer))
            {
                write(writer, version, answer, input, requestId);
            }
            response = buffer.WrittenSpan.ToArray();
            // Billed before the answer leaves: an answered prediction is never lost from usage, even on a kill -9.
            await charge.CompleteAsync();
        }
        catch (GureumException e)
        {
            status = ProblemCodes.Describe(e.Code).Status;
            throw;
        }
        catch (Exception)
        {
            status = 500;
            throw;
        }
        finally
        {
            version.Release();
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            // Refusals of the caller's input are not the model's errors; server-side failures are.
            version.Stats.Record(ms, rows, status);
            if (spec.SampleRate > 0 && Random.Shared.NextDouble() < spec.SampleRate)
            {
                log.Sample(live, version, shadow: false, requestId, status, ms, body.JsonBytes(), response);
            }
            if (status == 200 && routes.Shadows.Length > 0)
            {
                foreach (var shadow in routes.Shadows) log.Shadow(live, shadow.Version, spec, protocol, body, requestId);
            }
        }
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        http.Response.Headers["X-Gureum-Model-Version"] = $"{version.Model}:{version.Version}";
        await http.Response.Body.WriteAsync(response, ct);
    }

    /// <summary>Gureum's <c>/predict</c> answer.</summary>
    public static void WriteGureum(Utf8JsonWriter w, ServedVersion version, Answer answer, ParsedInput input, string requestId)
    {
        w.WriteStartObject();
        w.WriteString("model", version.Model);
        w.WriteNumber("version", version.Version);
        w.WriteString("requestId", requestId);
        if (answer.Outputs is { } outputs)
        {
            w.WriteStartObject("outputs");
            foreach (var o in Selected(outputs, input))
            {
                w.WritePropertyName(o.Name);
                TensorJson.WriteNested(w, o);
            }
            w.WriteEndObject();
        }
        else
        {
            w.WriteBoolean("contributionsSupported", answer.ContributionsSupported);
            w.WritePropertyName("predictions");
            JsonSerializer.Serialize(w, answer.Predictions, PredictionJson);
        }
        w.WriteEndObject();
    }

    /// <summary>The Open Inference Protocol's answer; AutoML predictions become label/probability/probabilities/score tensors.</summary>
    public static void WriteV2(Utf8JsonWriter w, ServedVersion version, Answer answer, ParsedInput input, string requestId, string modelName)
    {
        w.WriteStartObject();
        w.WriteString("model_name", modelName);
        w.WriteString("model_version", version.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("id", input.Id ?? requestId);
        w.WriteStartArray("outputs");
        var outputs = answer.Outputs is { } tensors ? Selected(tensors, input) : AutoMlTensors(answer.Predictions!);
        foreach (var o in outputs) TensorJson.WriteV2(w, o);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static IEnumerable<Tensor> Selected(Tensor[] outputs, ParsedInput input) =>
        input.RequestedOutputs is { } names ? outputs.Where(o => names.Contains(o.Name)) : outputs;

    private static List<Tensor> AutoMlTensors(IReadOnlyList<Prediction> predictions)
    {
        var n = predictions.Count;
        var result = new List<Tensor>();
        if (predictions.Any(p => p.Label is not null))
        {
            result.Add(new Tensor("label", TensorType.String, [n], predictions.Select(p => p.Label ?? "").ToArray()));
        }
        if (predictions.Any(p => p.Probability is not null))
        {
            result.Add(new Tensor("probability", TensorType.Float64, [n], predictions.Select(p => p.Probability ?? double.NaN).ToArray()));
        }
        if (predictions.FirstOrDefault()?.Probabilities is { } first)
        {
            var classes = first.Keys.ToList();
            result.Add(new Tensor("classes", TensorType.String, [classes.Count], classes.ToArray()));
            result.Add(new Tensor("probabilities", TensorType.Float64, [n, classes.Count],
                predictions.SelectMany(p => classes.Select(c => p.Probabilities!.GetValueOrDefault(c))).ToArray()));
        }
        if (predictions.Any(p => p.Score is not null))
        {
            result.Add(new Tensor("score", TensorType.Float64, [n], predictions.Select(p => p.Score ?? double.NaN).ToArray()));
        }
        return result;
    }

    public static string Text(byte[]? bytes, int max) =>
        bytes is null ? "" : bytes.Length <= max ? Encoding.UTF8.GetString(bytes) : Encoding.UTF8.GetString(bytes, 0, max) + "…";
}

/// <summary>A prediction request's bytes: the JSON part, and after it (V2's binary extension) raw tensor data.</summary>
public sealed record InferenceBody(byte[] Bytes, int JsonLength)
{
    public ReadOnlyMemory<byte> Json => Bytes.AsMemory(0, JsonLength);

    /// <summary>A fresh reader of the binary part (null without one): each parse takes its bytes from the start.</summary>
    public BinaryTensorData? Binary() => JsonLength < Bytes.Length ? new BinaryTensorData(Bytes.AsMemory(JsonLength)) : null;

    /// <summary>The JSON part alone (what samples keep: tensors' raw bytes are not logged).</summary>
    public byte[] JsonBytes() => JsonLength == Bytes.Length ? Bytes : Bytes[..JsonLength];
}
