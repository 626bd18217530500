// The AI benchmark's limit and CLI peer, run by bench/ai/run.sh. See bench/README.md.
//
//   AiLimit limit --api ocr|tts|stt|translate|faces --input FILE --clients C [--workers W] [--duration S] [--warmup S]
//   AiLimit cli   --api ocr|tts|stt|translate|faces --input FILE --clients C [--duration S] [--warmup S] [--faces-script PY]
//   AiLimit soak  --url URL --key KEY --inputs DIR --pid PID ...   (the soak through the server: see Soak.cs)
//   (--check 1 with limit or cli: one call, print its answer, no timing)
//
// Both run C closed-loop clients (what wrk -cC does): each sends its next request as soon as the last one is answered.
// `limit` calls the engine of src/Gureum.AI in-process, as the server's pool does minus HTTP, JSON, auth and metering:
// W engine instances (default min(C, the server's pool default on this machine)), each used by one call at a time; a
// client waits for a free one. A call is what the server's endpoint hands its pool: OCR probes the header and
// recognises the page (Leptonica decode, Tesseract, words and boxes); TTS synthesises with eSpeak NG (voice en-us)
// into one buffer; STT reads the WAV, makes it 16 kHz mono and decodes it; translate sends the text through a
// long-lived Apertium eng-spa pipeline; faces probes and detects (OpenCV, minFaceSize 24).
// `cli` spawns the engine's own command-line tool per request, as a quick wrapper would, and drains its output:
//   ocr        tesseract FILE stdout --psm 6
//   tts        espeak-ng -v en-us --stdout "TEXT"            (FILE holds the text)
//   stt        pocketsphinx_continuous -infile FILE
//   translate  apertium eng-spa, the text on stdin          (FILE holds the text)
//   faces      /usr/bin/python3 PY FILE                      (a one-shot OpenCV script: OpenCV has no face CLI)
// A request counts if it ends within the measured window (after the warm-up, for the duration): completions per
// second, unbiased for slow calls too. Latency is from the moment the client wants the engine (or spawns the tool)
// to the answer. Any failed call ends the run with exit code 1.
// Prints one JSON line: requests, seconds, requestsPerSec, p50Ms, p99Ms, cpuCores (this process and its children
// over the measured window) and a sample answer so that run.sh can check every side reads the same thing.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gureum.AI.Faces;
using Gureum.AI.Imaging;
using Gureum.AI.Ocr;
using Gureum.AI.Speech;
using Gureum.AI.Translation;

if (args.Length == 0 || args[0] is not ("limit" or "cli" or "soak"))
{
    Console.Error.WriteLine("usage: AiLimit limit|cli|soak --option value ...  (see the top of Program.cs and Soak.cs)");
    return 2;
}
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
string Opt(string name, string? fallback = null) =>
    options.TryGetValue(name, out var v) ? v : fallback ?? throw new ArgumentException($"--{name} is required");
int IntOpt(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
double DoubleOpt(string name, double fallback) => options.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
if (args[0] == "soak") return await Soak.RunAsync(Opt, IntOpt);

var side = args[0];
var api = Opt("api");
var input = File.ReadAllBytes(Opt("input"));
var clients = IntOpt("clients", 1);
var duration = DoubleOpt("duration", 10);
var warmup = DoubleOpt("warmup", 3);
// The server's pool defaults (AiOptions): OCR and faces one per core (at most 4), TTS 1, STT 2, translate 1 per pair.
var poolDefault = api switch
{
    "ocr" or "faces" => Math.Clamp(Environment.ProcessorCount, 1, 4),
    "tts" or "translate" => 1,
    "stt" => 2,
    _ => throw new ArgumentException($"--api is ocr, tts, stt, translate or faces, not '{api}'"),
};
var workers = side == "cli" ? clients : Math.Min(clients, IntOpt("workers", poolDefault));
if (clients < 1 || workers < 1 || duration <= 0 || warmup < 0) throw new ArgumentException("--clients and --workers must be at least 1, --duration positive");

// One call of the side under test: returns a short description of the answer (the sample).
Func<object, string> call;
Func<object> create;
if (side == "limit")
{
    var text = Encoding.UTF8.GetString(input).Trim();
    var imageLimits = new ImageLimits();
    (create, call) = api switch
    {
        "ocr" => ((Func<object>)(() => new TesseractEngine("eng") { Limits = imageLimits }), (Func<object, string>)(e =>
        {
            ImageProbe.Probe(input, imageLimits);
            return ((TesseractEngine)e).Recognize(input, "eng", 1, CancellationToken.None).Text;
        })),
        "tts" => (() => new SpeechSynthesizer(), e =>
        {
            // As the endpoint does for text up to 2 000 characters: the whole audio in one buffer, then a WAV.
            var samples = new List<short>();
            ((SpeechSynthesizer)e).Synthesize(text, new TtsOptions("en-us"), chunk => samples.AddRange(chunk), CancellationToken.None);
            var pcm = System.Runtime.InteropServices.MemoryMarshal.AsBytes(samples.ToArray().AsSpan()).ToArray();
            var wav = Wav.Header(22050, 1, (uint)pcm.Length).Length + pcm.Length;
            return $"{wav} bytes";
        }),
        "stt" => (() => new SpeechRecognizer(), e =>
        {
            var clip = Wav.Read(input, new AudioLimits());
            return ((SpeechRecognizer)e).Recognize(Wav.ToMono(clip, SpeechRecognizer.SampleRate), CancellationToken.None).Text;
        }),
        "translate" => (() => new ApertiumPipeline(ApertiumPipeline.Resolve("eng", "spa")),
            e => ((ApertiumPipeline)e).Translate(text, TimeSpan.FromSeconds(30))),
        "faces" => (() => new FaceDetector(), e =>
        {
            ImageProbe.Probe(input, imageLimits);
            return FacesSample(((FaceDetector)e).Detect(input, 24).Select(f => (f.Box.X, f.Box.Y, f.Box.Width, f.Box.Height)));
        }),
        _ => throw new InvalidOperationException(),
    };
}
else
{
    var inputPath = Path.GetFullPath(Opt("input"));
    var text = Encoding.UTF8.GetString(input).Trim();
    var facesScript = api == "faces" ? Path.GetFullPath(Opt("faces-script")) : "";
    var (file, argv, stdin) = api switch
    {
        "ocr" => ("tesseract", new[] { inputPath, "stdout", "--psm", "6" }, (byte[]?)null),
        "tts" => ("espeak-ng", ["-v", "en-us", "--stdout", text], null),
        "stt" => ("pocketsphinx_continuous", ["-infile", inputPath], null),
        "translate" => ("apertium", ["eng-spa"], Encoding.UTF8.GetBytes(text + "\n")),
        "faces" => ("/usr/bin/python3", [facesScript, inputPath], null),
        _ => throw new InvalidOperationException(),
    };
    create = () => new object();
    call = _ => Spawn(file, argv, stdin, binaryOutput: api == "tts");
}

// Engines are created (and warmed by the first calls) before the clock starts, as the server loads them at start-up.
var engines = new BlockingCollection<object>();
for (var i = 0; i < workers; i++) engines.Add(create());
var first = engines.Take();
string sample;
try
{
    sample = call(first);
}
finally
{
    engines.Add(first);
}
// --check 1: only the answer, for run.sh to compare the sides before timing anything.
if (IntOpt("check", 0) == 1)
{
    Console.WriteLine(JsonSerializer.Serialize(new { side, api, sample }));
    return 0;
}

var clock = Stopwatch.StartNew();
var measureFrom = TimeSpan.FromSeconds(warmup);
var measureTo = measureFrom + TimeSpan.FromSeconds(duration);
var latencies = new ConcurrentBag<double[]>();
Exception? failure = null;
(double Own, double Children) cpuAtStart = default;
var started = new ManualResetEventSlim();
var threads = Enumerable.Range(0, clients).Select(c => new Thread(() =>
{
    var mine = new List<double>();
    try
    {
        while (Volatile.Read(ref failure) is null)
        {
            var t0 = clock.Elapsed;
            if (t0 >= measureTo) break;
            var engine = engines.Take();
            try
            {
                var answer = call(engine);
                if (answer.Length == 0) throw new InvalidDataException($"{side} {api}: an empty answer");
            }
            finally
            {
                engines.Add(engine);
            }
            var t1 = clock.Elapsed;
            if (t1 >= measureFrom && t1 <= measureTo) mine.Add((t1 - t0).TotalMilliseconds);
        }
    }
    catch (Exception e)
    {
        Interlocked.CompareExchange(ref failure, e, null);
    }
    latencies.Add([.. mine]);
}) { IsBackground = true, Name = $"client-{c}" }).ToList();
threads.ForEach(t => t.Start());
// CPU over the measured window only.
var toStart = measureFrom - clock.Elapsed;
if (toStart > TimeSpan.Zero) Thread.Sleep(toStart);
cpuAtStart = CpuSeconds();
threads.ForEach(t => t.Join());
var cpuAtEnd = CpuSeconds();
if (failure is not null)
{
    Console.Error.WriteLine($"AiLimit {side} {api}: {failure.GetType().Name}: {failure.Message}");
    return 1;
}

var all = latencies.SelectMany(l => l).Order().ToArray();
if (all.Length == 0)
{
    Console.Error.WriteLine($"AiLimit {side} {api}: no request completed within the measured {duration} s");
    return 1;
}
double Percentile(double p) => all[Math.Clamp((int)Math.Ceiling(p * all.Length) - 1, 0, all.Length - 1)];
var cpu = (cpuAtEnd.Own - cpuAtStart.Own) + (cpuAtEnd.Children - cpuAtStart.Children);
Console.WriteLine(JsonSerializer.Serialize(new
{
    side,
    api,
    clients,
    workers,
    requests = all.Length,
    seconds = duration,
    requestsPerSec = all.Length / duration,
    p50Ms = Percentile(0.50),
    p99Ms = Percentile(0.99),
    meanMs = all.Average(),
    cpuCores = cpu / duration,
    sample = sample.Length > 400 ? sample[..400] : sample,
}));
return 0;

static string FacesSample(IEnumerable<(int X, int Y, int W, int H)> boxes) =>
    "[" + string.Join(",", boxes.Select(b => $"[{b.X},{b.Y},{b.W},{b.H}]")) + "]";

// Spawns one tool, feeds its stdin, drains stdout and stderr (a tool blocks when a pipe fills), and returns its
// stdout (or its length, for audio). A non-zero exit or a run over 60 s is a failure.
static string Spawn(string file, string[] argv, byte[]? stdin, bool binaryOutput)
{
    var start = new ProcessStartInfo(file)
    {
        RedirectStandardInput = stdin is not null,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        UseShellExecute = false,
    };
    foreach (var a in argv) start.ArgumentList.Add(a);
    using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
    var stdout = new MemoryStream();
    var readOut = process.StandardOutput.BaseStream.CopyToAsync(stdout);
    var readErr = process.StandardError.BaseStream.CopyToAsync(Stream.Null);
    if (stdin is not null)
    {
        process.StandardInput.BaseStream.Write(stdin);
        process.StandardInput.Close();
    }
    if (!process.WaitForExit(60_000))
    {
        process.Kill(entireProcessTree: true);
        throw new TimeoutException($"{file} ran over 60 s");
    }
    Task.WaitAll(readOut, readErr);
    if (process.ExitCode != 0) throw new InvalidOperationException($"{file} exited with {process.ExitCode}");
    return binaryOutput ? $"{stdout.Length} bytes" : Encoding.UTF8.GetString(stdout.ToArray()).Trim();
}

// CPU seconds (utime + stime) of this process, and of its children: those reaped (the spawned tools, from
// /proc/self/stat) plus those still running (the Apertium stages of the limit's pipelines live for the whole run).
static (double Own, double Children) CpuSeconds()
{
    var self = Environment.ProcessId;
    var stats = new Dictionary<int, string[]>();
    foreach (var dir in Directory.EnumerateDirectories("/proc"))
    {
        if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
        try
        {
            var stat = File.ReadAllText($"{dir}/stat");
            stats[pid] = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            // The process ended while we looked.
        }
    }
    // After the ")": state is field 3 of the man page, so ppid (4) is index 1, utime (14) index 11, cutime (16) index 13.
    static double Seconds(string[] f, int i) => long.Parse(f[i], CultureInfo.InvariantCulture) / 100.0;
    var mine = new HashSet<int> { self };
    bool grew;
    do
    {
        grew = false;
        foreach (var (pid, f) in stats)
            if (!mine.Contains(pid) && mine.Contains(int.Parse(f[1], CultureInfo.InvariantCulture))) grew = mine.Add(pid) || grew;
    }
    while (grew);
    var own = stats[self];
    var live = mine.Where(p => p != self && stats.ContainsKey(p)).Sum(p => Seconds(stats[p], 11) + Seconds(stats[p], 12));
    return (Seconds(own, 11) + Seconds(own, 12), Seconds(own, 13) + Seconds(own, 14) + live);
}
