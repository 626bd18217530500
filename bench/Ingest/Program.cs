// The dataset ingest benchmark's .NET side. One run, one file, one JSON line on stdout:
//   Ingest gureum FILE       as in the server: DatasetReader.WarmUpAsync first (the server runs it once after
//                            start, in the background), then DatasetReader.AnalyzeAsync on FILE: detect format,
//                            infer schema, profile every column (the peer; the first analysis of FILE is reported);
//                            then again in the same process, up to 10 times while under 2 s in all, and the last of
//                            those is reported as "warm_*"
//   Ingest gureum-cold FILE  the first analysis in a fresh process with no warm-up (the JIT compiles as it goes)
//   Ingest raw FILE          the same bytes read with the same 1 MB buffer and split into lines and fields with a
//                            vectorized IndexOfAny (no quotes, no decoding, no types): the limit
// "seconds" is measured in-process from opening the file to the result (runtime start-up and the warm-up are not
// included; JIT of the code under test is). MB is 10^6 bytes. "rss0_kb" is the resident set just before the file
// is opened, so the caller can subtract it from the peak that /usr/bin/time reports.
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gureum.ML.Data;

if (args.Length != 2 || args[0] is not ("gureum" or "gureum-cold" or "raw"))
{
    Console.Error.WriteLine("usage: Ingest gureum|gureum-cold|raw FILE");
    return 2;
}
var mode = args[0];
var path = args[1];
const int BufferSize = 1 << 20;

static FileStream Open(string path) =>
    new(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);

var bytes = new FileInfo(path).Length;
var warmUp = Stopwatch.StartNew();
if (mode == "gureum") await DatasetReader.WarmUpAsync(CancellationToken.None);
warmUp.Stop();
var rss0 = CurrentRssKb();
var clock = Stopwatch.StartNew();
long rows;
int columns;
string extra;

if (mode is "gureum" or "gureum-cold")
{
    var analysis = await AnalyzeAsync(path);
    clock.Stop();
    rows = analysis.Profile.RowCount;
    columns = analysis.Schema.Columns.Count;
    var types = string.Join(",", analysis.Schema.Columns.Select(c => $"{c.Name}:{c.Type}"));
    extra = string.Create(CultureInfo.InvariantCulture, $",\"skipped\":{analysis.SkippedRows},\"types\":\"{types}\"");
    if (mode == "gureum")
    {
        var repeats = Stopwatch.StartNew();
        var warm = new Stopwatch();
        for (var i = 0; i < 10 && (i == 0 || repeats.Elapsed.TotalSeconds < 2); i++)
        {
            warm.Restart();
            await AnalyzeAsync(path);
            warm.Stop();
        }
        extra += string.Create(CultureInfo.InvariantCulture,
            $",\"warmup_seconds\":{warmUp.Elapsed.TotalSeconds:F3},\"warm_seconds\":{warm.Elapsed.TotalSeconds:F4},\"warm_mbps\":{bytes / 1e6 / warm.Elapsed.TotalSeconds:F2}");
    }
}
else
{
    // Delimiter: the most frequent of , ; \t | in the first line (what a CSV reader has to find out too).
    await using var stream = Open(path);
    var buffer = new byte[BufferSize];
    var delimiter = (byte)',';
    long newlines = 0, fields = 0, fieldBytes = 0;
    var firstLineFields = -1;
    var sinceBoundary = 0L;
    var lastByte = (byte)'\n';
    SearchValues<byte>? stops = null;
    int n;
    var first = true;
    while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
    {
        var span = buffer.AsSpan(0, n);
        if (first)
        {
            first = false;
            var lineEnd = span.IndexOf((byte)'\n');
            var line = lineEnd < 0 ? span : span[..lineEnd];
            var best = 0;
            foreach (var c in ",;\t|"u8)
            {
                var count = line.Count(c);
                if (count > best) { best = count; delimiter = c; }
            }
            stops = SearchValues.Create([delimiter, (byte)'\n']);
        }
        // Split: visit every field boundary (a delimiter or a line end), as any reader must.
        var rest = span;
        while (true)
        {
            var i = rest.IndexOfAny(stops!);
            if (i < 0) { sinceBoundary += rest.Length; break; }
            fieldBytes += sinceBoundary + i;
            sinceBoundary = 0;
            fields++;
            if (rest[i] == (byte)'\n')
            {
                newlines++;
                if (firstLineFields < 0) firstLineFields = (int)fields;
            }
            rest = rest[(i + 1)..];
        }
        lastByte = span[^1];
    }
    clock.Stop();
    var lines = newlines + (lastByte != (byte)'\n' ? 1 : 0);
    rows = Math.Max(0, lines - 1); // the header
    columns = Math.Max(firstLineFields, 0);
    extra = $",\"fields\":{fields},\"field_bytes\":{fieldBytes}";
}

var seconds = clock.Elapsed.TotalSeconds;
var json = new StringBuilder()
    .Append(CultureInfo.InvariantCulture, $"{{\"side\":\"{mode}\",\"rows\":{rows},\"columns\":{columns},\"bytes\":{bytes},")
    .Append(CultureInfo.InvariantCulture, $"\"seconds\":{seconds:F4},\"mbps\":{bytes / 1e6 / seconds:F2},\"rss0_kb\":{rss0}")
    .Append(extra)
    .Append('}');
Console.WriteLine(json.ToString());
return 0;

static async Task<DatasetAnalysis> AnalyzeAsync(string path)
{
    await using var stream = Open(path);
    return await DatasetReader.AnalyzeAsync(stream, new ReadOptions(), CancellationToken.None);
}

static long CurrentRssKb()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
    {
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
    }
    return 0;
}
