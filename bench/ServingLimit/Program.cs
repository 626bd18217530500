// The model-serving benchmark's limit: the model called in-process, no HTTP, no JSON. See bench/README.md.
//
//   ServingLimit run   --model FILE (--input REF.json | --records BODY.json) --clients C [--max-batch B] [--workers W]
//                      [--policy spread|greedy] [--duration S] [--warmup S] [--sessions shared|per-worker] [--intra N] [--spin 0|1]
//   ServingLimit check --model FILE (--reference REF.json [--tolerance 1e-4] | --records BODY.json)
//   ServingLimit train --data FILE.csv --target COL [--budget S] [--seed N] --out MODEL.zip
//
// `run` emulates C closed-loop clients, each with one request of one row outstanding at a time (what wrk -cC does),
// in front of W workers (default: min(C, cores)). A worker takes requests that are waiting, up to B, runs them as one
// batch, answers them, and each client sends its next request at once. B = 1 is a server without batching; B = 32 is
// ideal dynamic batching: no waiting to fill a batch, no copying, no serialization. How many a worker takes: `spread`
// (default) shares what is waiting among the idle workers (16 waiting, 2 idle workers: 8 each), `greedy` takes all
// it may (16: one worker runs them while the other waits). A request's latency is from the moment it was queued to
// the moment its batch's answer is ready. One JSON line on stdout.
//
// `check` runs the reference input of an ONNX model (all its rows) and compares with the reference output, or
// predicts the records of a v1 body with an AutoML model; one JSON line. `train` runs Gureum's AutoML on a CSV (read
// as an upload is) and saves the model: the limit's own copy of the adult model when no Gureum server is measured.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Gureum.ML.Data;
using Gureum.ML.Training;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: ServingLimit run|check|train --option value ...  (see the top of Program.cs)");
    return 2;
}
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
string Opt(string name, string? fallback = null) =>
    options.TryGetValue(name, out var v) ? v : fallback ?? throw new ArgumentException($"--{name} is required");
int IntOpt(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
double DoubleOpt(string name, double fallback) => options.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

try
{
    switch (args[0])
    {
        case "run":
            return Run();
        case "check":
            return Check();
        case "train":
            return await TrainAsync();
        default:
            Console.Error.WriteLine($"unknown command '{args[0]}'");
            return 2;
    }
}
catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or OnnxRuntimeException or JsonException)
{
    Console.Error.WriteLine($"ServingLimit: {e.Message}");
    return 1;
}

int Run()
{
    var clients = IntOpt("clients", 1);
    var maxBatch = IntOpt("max-batch", 1);
    var workers = Math.Min(clients, IntOpt("workers", Environment.ProcessorCount));
    var duration = DoubleOpt("duration", 10);
    var warmup = DoubleOpt("warmup", 3);
    if (clients < 1 || maxBatch < 1 || workers < 1 || duration <= 0 || warmup < 0)
    {
        throw new ArgumentException("--clients, --max-batch and --workers must be at least 1, --duration positive");
    }
    using var model = LoadModel(maxBatch);
    var policy = Opt("policy", "spread");
    if (policy is not ("spread" or "greedy")) throw new ArgumentException("--policy is spread or greedy");
    var result = ClosedLoop.Measure(model, clients, workers, maxBatch, policy == "spread", warmup, duration);
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        model = Path.GetFileName(Opt("model")),
        runtime = model.Description,
        clients,
        workers,
        maxBatch,
        policy,
        seconds = result.Seconds,
        requests = result.Requests,
        requestsPerSec = result.Requests / result.Seconds,
        rowsPerSec = result.Requests / result.Seconds, // one row per request
        meanBatch = result.Batches == 0 ? 0 : (double)result.Requests / result.Batches,
        p50Ms = result.Latency.Percentile(50),
        p90Ms = result.Latency.Percentile(90),
        p99Ms = result.Latency.Percentile(99),
        p999Ms = result.Latency.Percentile(99.9),
        maxMs = result.Latency.Max,
        cpuCores = result.CpuSeconds / result.Seconds,
    }));
    return 0;
}

IModelRunner LoadModel(int maxBatch)
{
    var path = Opt("model");
    if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
    {
        var sessions = Opt("sessions", "shared");
        if (sessions is not ("shared" or "per-worker")) throw new ArgumentException("--sessions is shared or per-worker");
        var row = Reference.Load(Opt("input")).FirstRow();
        return new OnnxRunner(path, row, maxBatch, sessions == "per-worker", IntOpt("intra", 1), Opt("spin", "1") == "1");
    }
    return new AutoMLRunner(path, File.ReadAllText(Opt("records")), maxBatch);
}

int Check()
{
    var path = Opt("model");
    if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
    {
        var reference = Reference.Load(Opt("reference"));
        var tolerance = DoubleOpt("tolerance", 1e-4);
        using var options = OnnxRunner.Options(1, spin: false);
        using var session = new InferenceSession(path, options);
        var input = session.InputMetadata.Keys.Single();
        using var value = OrtValue.CreateTensorValueFromMemory(reference.Input, reference.InputShape);
        using var run = new RunOptions();
        using var outputs = session.Run(run, [input], [value], [reference.OutputName]);
        var actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var diff = actual.Length == reference.Output.Length
            ? actual.Zip(reference.Output, (a, b) => Math.Abs(a - b)).Max()
            : double.PositiveInfinity;
        Console.WriteLine(JsonSerializer.Serialize(new { model = Path.GetFileName(path), outputs = actual.Length, maxAbsDiff = diff, tolerance, ok = diff <= tolerance }));
        return diff <= tolerance ? 0 : 1;
    }
    using var body = JsonDocument.Parse(File.ReadAllText(Opt("records")));
    using var stream = File.OpenRead(path);
    var trained = TrainedModel.Load(stream);
    var predictions = trained.Predict(trained.RowsFromJson(body.RootElement.GetProperty("records"), 1000));
    Console.WriteLine(JsonSerializer.Serialize(new { model = Path.GetFileName(path), trainer = trained.Trainer, predictions },
        new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
    return 0;
}

async Task<int> TrainAsync()
{
    var ct = CancellationToken.None;
    var data = Opt("data");
    var training = new TrainingOptions
    {
        Target = Opt("target"),
        BudgetSeconds = IntOpt("budget", 30),
        Seed = IntOpt("seed", 1),
    };
    DatasetAnalysis analysis;
    await using (var s = File.OpenRead(data))
    {
        analysis = await DatasetReader.AnalyzeAsync(s, new ReadOptions(), ct);
    }
    var plan = TrainingPlan.Create(analysis.Schema, analysis.Profile, training);
    await using var rows = File.OpenRead(data);
    var loaded = await TrainingData.LoadAsync(plan, DatasetReader.ReadRowsAsync(rows, analysis.Format, analysis.Schema, ct), null, ct);
    var outcome = await AutoML.RunAsync(plan, training, loaded, [], 0, new TrainingCallbacks(), ct);
    var output = Opt("out");
    var temporary = output + ".tmp";
    await using (var file = File.Create(temporary))
    {
        outcome.Model.Save(file);
    }
    File.Move(temporary, output, overwrite: true);
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        model = output,
        trainer = outcome.Model.Trainer,
        columns = analysis.Schema.Columns.Select(c => c.Name),
        test = outcome.Report.TestMetrics,
        trials = outcome.Report.Trials,
    }));
    return 0;
}

/// <summary>A model as the benchmark drives it: one worker per thread, each running batches of 1..maxBatch rows.</summary>
internal interface IModelRunner : IDisposable
{
    string Description { get; }
    IBatchWorker CreateWorker();
}

internal interface IBatchWorker : IDisposable
{
    /// <summary>Runs one batch of <paramref name="rows"/> copies of the request's row.</summary>
    void Run(int rows);
}

/// <summary>A model's <c>NAME.reference.json</c> (see ../shared/testdata/models/make_models.py).</summary>
internal sealed record Reference(float[] Input, long[] InputShape, string OutputName, float[] Output)
{
    public static Reference Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        return new Reference(
            [.. root.GetProperty("input").EnumerateArray().Select(e => e.GetSingle())],
            [.. root.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt64())],
            root.GetProperty("output_name").GetString()!,
            [.. root.GetProperty("output").EnumerateArray().Select(e => e.GetSingle())]);
    }

    public float[] FirstRow() => Input[..(int)(Input.Length / InputShape[0])];
}

/// <summary>
/// ONNX Runtime with everything a server could pre-arrange: per worker, the input and output buffers for every batch
/// size are allocated once and bound as <see cref="OrtValue"/>s over slices of one max-size buffer, so a call copies
/// nothing and allocates nothing.
/// </summary>
internal sealed class OnnxRunner : IModelRunner
{
    private readonly string _path;
    private readonly float[] _row;
    private readonly int _maxBatch;
    private readonly bool _perWorker;
    private readonly int _intra;
    private readonly bool _spin;
    private readonly InferenceSession? _shared;
    private readonly List<IDisposable> _owned = [];

    public OnnxRunner(string path, float[] row, int maxBatch, bool perWorker, int intra, bool spin)
    {
        (_path, _row, _maxBatch, _perWorker, _intra, _spin) = (path, row, maxBatch, perWorker, intra, spin);
        if (!perWorker) _shared = NewSession();
    }

    public string Description => $"onnxruntime {OrtEnv.Instance().GetVersionString()}, graph optimization all, " +
        $"{(_perWorker ? "one session per worker" : "one session shared by the workers")}, intra-op threads {_intra}" +
        (_intra > 1 ? $", spinning {(_spin ? "on" : "off")}" : "");

    public static SessionOptions Options(int intra, bool spin)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = intra,
            InterOpNumThreads = 1,
        };
        if (!spin) options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    private InferenceSession NewSession()
    {
        var options = Options(_intra, _spin);
        _owned.Add(options);
        var session = new InferenceSession(_path, options);
        _owned.Add(session);
        return session;
    }

    public IBatchWorker CreateWorker()
    {
        lock (_owned)
        {
            return new Worker(_shared ?? NewSession(), _row, _maxBatch);
        }
    }

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
    }

    private sealed class Worker : IBatchWorker
    {
        private readonly InferenceSession _session;
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;
        private readonly OrtValue[][] _inputs;
        private readonly OrtValue[][] _outputs;
        private readonly RunOptions _run = new();

        public Worker(InferenceSession session, float[] row, int maxBatch)
        {
            _session = session;
            var input = session.InputMetadata.Single();
            if (input.Value.ElementDataType != TensorElementType.Float) throw new ArgumentException($"input '{input.Key}' is not float32");
            _inputNames = [input.Key];
            _outputNames = [.. session.OutputMetadata.Keys];
            var inputShape = RowShape(input.Value, row.Length);
            var buffer = new float[maxBatch * row.Length];
            for (var r = 0; r < maxBatch; r++) row.CopyTo(buffer, r * row.Length);
            var outputShapes = _outputNames.Select(n => RowShape(session.OutputMetadata[n], null)).ToArray();
            var outputBuffers = outputShapes.Select(s => new float[maxBatch * Product(s)]).ToArray();
            _inputs = new OrtValue[maxBatch + 1][];
            _outputs = new OrtValue[maxBatch + 1][];
            for (var k = 1; k <= maxBatch; k++)
            {
                _inputs[k] = [OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(0, k * row.Length), [k, .. inputShape])];
                _outputs[k] = [.. outputShapes.Select((s, o) => OrtValue.CreateTensorValueFromMemory(
                    OrtMemoryInfo.DefaultInstance, outputBuffers[o].AsMemory(0, k * Product(s)), [k, .. s]))];
            }
        }

        /// <summary>The dimensions after the batch one; a dynamic one is only allowed where the row length decides it.</summary>
        private static long[] RowShape(NodeMetadata node, int? rowLength)
        {
            var dims = node.Dimensions.Skip(1).Select(d => (long)d).ToArray();
            if (dims.Any(d => d < 0)) throw new ArgumentException("only the batch dimension may be dynamic");
            if (rowLength is { } n && Product(dims) != n) throw new ArgumentException($"the input row has {n} values, the model wants [{string.Join(",", dims)}]");
            return dims;
        }

        private static int Product(long[] dims) => (int)dims.Aggregate(1L, (a, b) => a * b);

        public void Run(int rows) => _session.Run(_run, _inputNames, _inputs[rows], _outputNames, _outputs[rows]);

        public void Dispose()
        {
            foreach (var v in _inputs.Concat(_outputs).Where(a => a is not null).SelectMany(a => a)) v.Dispose();
            _run.Dispose();
        }
    }
}

/// <summary>A Gureum AutoML model (ML.NET pipelines behind <see cref="TrainedModel.Predict"/>), shared by the workers.</summary>
internal sealed class AutoMLRunner : IModelRunner
{
    private readonly TrainedModel _model;
    private readonly IReadOnlyList<IReadOnlyDictionary<string, object?>>[] _batches;

    public AutoMLRunner(string path, string body, int maxBatch)
    {
        using (var stream = File.OpenRead(path))
        {
            _model = TrainedModel.Load(stream);
        }
        using var doc = JsonDocument.Parse(body);
        var row = _model.RowsFromJson(doc.RootElement.GetProperty("records"), 1)[0];
        _batches = new IReadOnlyList<IReadOnlyDictionary<string, object?>>[maxBatch + 1];
        for (var k = 1; k <= maxBatch; k++) _batches[k] = Enumerable.Repeat(row, k).ToArray();
    }

    public string Description => $"Gureum AutoML model ({_model.Trainer}), TrainedModel.Predict on typed rows (JSON parsed once)";

    public IBatchWorker CreateWorker() => new Worker(this);

    public void Dispose()
    {
    }

    private sealed class Worker(AutoMLRunner runner) : IBatchWorker
    {
        public void Run(int rows)
        {
            var predictions = runner._model.Predict(runner._batches[rows]);
            if (predictions.Count != rows) throw new InvalidOperationException("wrong number of predictions");
        }

        public void Dispose()
        {
        }
    }
}

internal sealed record LoopResult(double Seconds, long Requests, long Batches, Histogram Latency, double CpuSeconds);

/// <summary>Closed-loop clients in front of workers that batch whatever is waiting (see the top of the file).</summary>
internal static class ClosedLoop
{
    public static LoopResult Measure(IModelRunner model, int clients, int workerCount, int maxBatch, bool spread, double warmup, double duration)
    {
        var queue = new Queue<int>(clients);
        var queuedAt = new long[clients];
        var now = Stopwatch.GetTimestamp();
        for (var c = 0; c < clients; c++)
        {
            queuedAt[c] = now;
            queue.Enqueue(c);
        }
        var measuring = false;
        var stop = false;
        var busy = 0; // workers running a batch (guarded by the queue's lock)
        var histograms = new Histogram[workerCount];
        var batches = new long[workerCount];
        Exception? failure = null;
        var threads = new Thread[workerCount];
        for (var w = 0; w < workerCount; w++)
        {
            var index = w;
            var histogram = histograms[w] = new Histogram();
            var worker = model.CreateWorker();
            worker.Run(maxBatch); // first call outside the clock: ORT allocates its arena on it
            threads[w] = new Thread(() =>
            {
                var taken = new int[maxBatch];
                var started = new long[maxBatch];
                try
                {
                    while (true)
                    {
                        int k;
                        lock (queue)
                        {
                            while (queue.Count == 0 && !Volatile.Read(ref stop)) Monitor.Wait(queue);
                            if (Volatile.Read(ref stop)) break;
                            // spread: share what is waiting among the idle workers (this one included), so that 16
                            // requests keep two workers busy with 8 each rather than one with 16 while the other idles.
                            k = spread ? Math.Min((queue.Count + (workerCount - busy) - 1) / (workerCount - busy), maxBatch)
                                : Math.Min(queue.Count, maxBatch);
                            busy++;
                            for (var i = 0; i < k; i++)
                            {
                                taken[i] = queue.Dequeue();
                                started[i] = queuedAt[taken[i]];
                            }
                        }
                        worker.Run(k);
                        var done = Stopwatch.GetTimestamp();
                        if (Volatile.Read(ref measuring))
                        {
                            for (var i = 0; i < k; i++) histogram.Record(done - started[i]);
                            batches[index]++;
                        }
                        lock (queue)
                        {
                            busy--;
                            for (var i = 0; i < k; i++)
                            {
                                queuedAt[taken[i]] = done;
                                queue.Enqueue(taken[i]);
                            }
                            Monitor.PulseAll(queue);
                        }
                    }
                }
                catch (Exception e)
                {
                    failure = e;
                    Volatile.Write(ref stop, true);
                }
                finally
                {
                    worker.Dispose();
                }
            })
            { IsBackground = true, Name = $"worker-{w}" };
        }
        foreach (var t in threads) t.Start();
        Thread.Sleep(TimeSpan.FromSeconds(warmup));
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        var t0 = Stopwatch.GetTimestamp();
        Volatile.Write(ref measuring, true);
        Thread.Sleep(TimeSpan.FromSeconds(duration));
        Volatile.Write(ref measuring, false);
        var t1 = Stopwatch.GetTimestamp();
        process.Refresh();
        var cpu1 = process.TotalProcessorTime;
        lock (queue)
        {
            Volatile.Write(ref stop, true);
            Monitor.PulseAll(queue);
        }
        foreach (var t in threads) t.Join();
        if (failure is not null) throw new InvalidOperationException("a worker failed: " + failure.Message, failure);
        var total = new Histogram();
        foreach (var h in histograms) total.Add(h);
        return new LoopResult(Stopwatch.GetElapsedTime(t0, t1).TotalSeconds, total.Count, batches.Sum(), total, (cpu1 - cpu0).TotalSeconds);
    }
}

/// <summary>Latencies in Stopwatch ticks, log-linear buckets (128 per power of two: under 0.8% error), read in ms.</summary>
internal sealed class Histogram
{
    private const int SubBits = 7;
    private const int Sub = 1 << SubBits;
    private readonly long[] _counts = new long[Sub * 2 + Sub * 57];
    private long _max;

    public long Count { get; private set; }

    public void Record(long ticks)
    {
        if (ticks < 0) ticks = 0;
        _counts[Index(ticks)]++;
        Count++;
        if (ticks > _max) _max = ticks;
    }

    public void Add(Histogram other)
    {
        for (var i = 0; i < _counts.Length; i++) _counts[i] += other._counts[i];
        Count += other.Count;
        _max = Math.Max(_max, other._max);
    }

    private static int Index(long v)
    {
        if (v < 2 * Sub) return (int)v;
        var shift = 63 - (int)long.LeadingZeroCount(v) - SubBits; // v >> shift is in [Sub, 2 Sub)
        return Sub * 2 + (shift - 1) * Sub + (int)((v >> shift) - Sub);
    }

    private static double Middle(int index)
    {
        if (index < 2 * Sub) return index;
        var shift = (index - 2 * Sub) / Sub + 1;
        var mantissa = (index - 2 * Sub) % Sub + Sub;
        return (mantissa + 0.5) * Math.Pow(2, shift);
    }

    private static double Ms(double ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    public double Max => Ms(_max);

    public double Percentile(double p)
    {
        if (Count == 0) return double.NaN;
        var rank = (long)Math.Ceiling(p / 100 * Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return Math.Min(Ms(Middle(i)), Max);
        }
        return Max;
    }
}
