using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

/// <summary>
/// The soak of bench/ai/run.sh: N mixed calls through the real server from C clients, the server's resident memory
/// sampled every K calls. A 5xx answer, a good input not answered 200, or a bad input not answered 4xx ends the run
/// at once (exit 1) with the call, its status and its body.
/// </summary>
/// <remarks>
///   AiLimit soak --url http://127.0.0.1:PORT/v1/projects/P/ai --key KEY --inputs DIR --pid SERVER_PID
///                [--calls 10000] [--every 500] [--clients 2]
/// The calls cycle through <see cref="Cycle"/> (40 calls: every API, both OCR images, and five bad inputs). Memory:
/// VmRSS of the server from /proc/PID/status, and of the server with all its descendants (the Apertium stages are
/// child processes), in kB, before the first call and after every K calls. One JSON line on stdout.
/// </remarks>
internal static class Soak
{
    private sealed record Call(string Name, string Path, string File, string ContentType, bool Bad);

    // Per 40 calls: the cheap APIs often, the slow ones (STT, the paragraph) rarely, so 10 000 calls take minutes.
    private static readonly (Call Call, int Times)[] Mix =
    [
        (new("ocr-line", "ocr", "line.png", "image/png", false), 8),
        (new("ocr-para", "ocr", "para.png", "image/png", false), 1),
        (new("tts", "tts", "tts.json", "application/json", false), 10),
        (new("stt", "stt", "speech.wav", "audio/wav", false), 2),
        (new("translate", "translate", "translate.json", "application/json", false), 10),
        (new("faces", "faces", "face.jpg", "image/jpeg", false), 4),
        (new("bad-notimage-ocr", "ocr", "bad-notimage.bin", "image/png", true), 2),
        (new("bad-bomb-faces", "faces", "bad-bomb.png", "image/png", true), 1),
        (new("bad-bomb-ocr", "ocr", "bad-bomb.png", "image/png", true), 1),
        (new("bad-lying-wav-stt", "stt", "bad-lying.wav", "audio/wav", true), 1),
    ];

    /// <summary>The mix spread out (round-robin over the kinds) so that every window of calls holds most kinds.</summary>
    private static readonly Call[] Cycle = Spread();

    public static async Task<int> RunAsync(Func<string, string?, string> opt, Func<string, int, int> intOpt)
    {
        var url = opt("url", null).TrimEnd('/');
        var key = opt("key", null);
        var dir = opt("inputs", null);
        var pid = intOpt("pid", 0);
        var calls = intOpt("calls", 10_000);
        var every = intOpt("every", 500);
        var clients = intOpt("clients", 2);
        var bodies = Cycle.Select(c => c.File).Distinct().ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(dir, f)));

        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        { Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

        var samples = new List<object> { Sample(pid, 0) };
        var statuses = new Dictionary<string, Dictionary<int, int>>();
        var latencies = new Dictionary<string, List<double>>();
        var gate = new Lock();
        var next = -1;
        var done = 0;
        string? failure = null;
        var clock = Stopwatch.StartNew();

        async Task Client()
        {
            while (Volatile.Read(ref failure) is null)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= calls) return;
                var call = Cycle[i % Cycle.Length];
                using var content = new ByteArrayContent(bodies[call.File]);
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(call.ContentType);
                var t0 = clock.Elapsed;
                using var response = await http.PostAsync($"{url}/{call.Path}", content);
                var body = await response.Content.ReadAsByteArrayAsync();
                var ms = (clock.Elapsed - t0).TotalMilliseconds;
                var status = (int)response.StatusCode;
                var wrong = status >= 500 ? "a server error"
                    : call.Bad && status is < 400 or >= 500 ? "a bad input not refused with 4xx"
                    : !call.Bad && status != 200 ? "a good input not answered 200"
                    : null;
                lock (gate)
                {
                    if (wrong is not null && failure is null)
                    {
                        var text = System.Text.Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 600)));
                        failure = $"call {i + 1} ({call.Name}, POST {call.Path}) answered {status}: {wrong}. Body: {text}";
                    }
                    var byStatus = statuses.TryGetValue(call.Name, out var s) ? s : statuses[call.Name] = [];
                    byStatus[status] = byStatus.GetValueOrDefault(status) + 1;
                    (latencies.TryGetValue(call.Name, out var l) ? l : latencies[call.Name] = []).Add(ms);
                    done++;
                    // Sampled under the lock, at exact multiples: the other client waits a moment, which is fine.
                    if (done % every == 0) samples.Add(Sample(pid, done));
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(Client)));
        var report = new
        {
            calls = done,
            seconds = clock.Elapsed.TotalSeconds,
            clients,
            every,
            failure,
            samples,
            calls_by_kind = statuses.ToDictionary(kv => kv.Key, kv => new
            {
                statuses = kv.Value.ToDictionary(s => s.Key.ToString(CultureInfo.InvariantCulture), s => s.Value),
                p50Ms = Percentile(latencies[kv.Key], 0.50),
                p99Ms = Percentile(latencies[kv.Key], 0.99),
            }),
            cycle = Cycle.Select(c => c.Name),
        };
        Console.WriteLine(JsonSerializer.Serialize(report));
        if (failure is not null)
        {
            Console.Error.WriteLine($"AiLimit soak: FAILED at {failure}");
            return 1;
        }
        return 0;
    }

    private static Call[] Spread()
    {
        var left = Mix.Select(m => (m.Call, m.Times)).ToList();
        var cycle = new List<Call>();
        while (left.Count > 0)
        {
            for (var i = 0; i < left.Count; i++)
            {
                cycle.Add(left[i].Call);
                left[i] = (left[i].Call, left[i].Times - 1);
            }
            left.RemoveAll(m => m.Times == 0);
        }
        return [.. cycle];
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static object Sample(int pid, int calls) => new { calls, rssKb = RssKb(pid), treeRssKb = TreeRssKb(pid) };

    /// <summary>VmRSS of one process in kB (0 if it is gone).</summary>
    private static long RssKb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>VmRSS of the process and all its descendants, in kB (shared pages count once per process).</summary>
    private static long TreeRssKb(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText($"{dir}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }
        var mine = new HashSet<int> { root };
        bool grew;
        do
        {
            grew = false;
            foreach (var (pid, parent) in parents)
                if (!mine.Contains(pid) && mine.Contains(parent)) grew = mine.Add(pid) || grew;
        }
        while (grew);
        return mine.Sum(RssKb);
    }
}
