// The drift benchmark's .NET side. Each command prints one JSON line on stdout.
//   DriftBench generate DIR [--rows N] [--per-request K] [--baseline-rows B] [--seed S]
//       DIR/gureum.db: a Gureum SQLite database (the server's own migrations) holding a project, a dataset version
//       profiled by DatasetReader from a generated baseline CSV (DIR/baseline.csv: 20 numeric + 10 categorical
//       columns), an AutoML-kind model version trained on it (signature and training report, no model file), an
//       endpoint serving it, and N logged rows as prediction samples of K records each (the server's own sample shape:
//       the request body {"records": [...]} and its answer {"predictions": [{"label", "probability"}]}). Four columns
//       drift on purpose. Deterministic for a seed.
//   DriftBench gureum DIR [--runs R] [--report FILE]
//       Drift.ComputeAsync over the endpoint's samples, R times in one process: the first is cold (JIT), the rest warm.
//   DriftBench raw DIR [--runs R]
//       The limit: the same samples read from the same database newest first, as UTF-8 bytes, on one thread, and every
//       JSON token of every input and output read by Utf8JsonReader on the same worker threads, counting nothing.
//   DriftBench read DIR [--runs R]
//       The database read alone (the same rows and bytes, no JSON).
// "seconds" are timed in-process (runtime start-up excluded); "rss0_kb" is the resident set before the first run,
// "hwm_kb" the process's peak resident set (VmHWM) after the last.
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Gureum.ML.Data;
using Gureum.ML.Models;
using Gureum.ML.Training;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Monitoring;
using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Registry;
using Gureum.Server.Features.Serving;
using Gureum.Server.Features.Training;
using Gureum.Server.Infrastructure.Db;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: DriftBench generate|gureum|raw|read DIR [options]");
    return 2;
}
var command = args[0];
var dir = args[1];
string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
var runs = int.Parse(Option("--runs", "3"), CultureInfo.InvariantCulture);
var dbPath = Path.Combine(dir, "gureum.db");

switch (command)
{
    case "generate":
        await Bench.GenerateAsync(dir, dbPath, long.Parse(Option("--rows", "1000000"), CultureInfo.InvariantCulture),
            int.Parse(Option("--per-request", "100"), CultureInfo.InvariantCulture), int.Parse(Option("--baseline-rows", "100000"), CultureInfo.InvariantCulture),
            int.Parse(Option("--seed", "1"), CultureInfo.InvariantCulture));
        return 0;
    case "gureum":
        await Bench.GureumAsync(dbPath, runs, Option("--report", ""), int.Parse(Option("--workers", "0"), CultureInfo.InvariantCulture));
        return 0;
    case "raw":
    case "read":
        await Bench.RawAsync(dbPath, runs, parse: command == "raw");
        return 0;
    default:
        Console.Error.WriteLine($"unknown command '{command}'");
        return 2;
}

internal static class Bench
{
    public const int Numeric = 20;
    public const int Categorical = 10;
    public static readonly DateTimeOffset Epoch = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly JsonSerializerOptions SignatureJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private static string Name(int column) => column < Numeric ? $"n{column + 1:D2}" : $"c{column - Numeric + 1:D2}";

    private static SqliteGureumDb Open(string dbPath) =>
        new(new DbContextOptionsBuilder<SqliteGureumDb>().UseSqlite(new SqliteConnectionStringBuilder { DataSource = dbPath, Pooling = true }.ToString()).Options);

    /// <summary>
    /// One row of the generated data: numeric columns of several shapes (normal, log-normal, whole numbers, bimodal), some
    /// with missing values; categorical columns of 2 to 20 values (all among the profile's top values) with skewed (1/rank) frequencies. <paramref name="live"/>
    /// shifts n01 by half a standard deviation, widens n02 by half, turns c01's frequencies around and makes n05 missing
    /// 12% of the time instead of 2%: four columns that drift, 26 that do not.
    /// </summary>
    private static void Row(Random random, bool live, object?[] row)
    {
        for (var i = 0; i < Numeric; i++)
        {
            double? value = (i % 4) switch
            {
                0 => 10 * (i + 1) + (1 + i) * Normal(random),
                1 => Math.Round(Math.Exp(1 + 0.5 * Normal(random)), 2),
                2 => random.Next(0, 101),
                _ => random.NextDouble() < 0.3 ? -2 + 0.5 * Normal(random) : 3 + Normal(random),
            };
            if (live && i == 0) value += 0.5;
            if (live && i == 1) value = Math.Round(Math.Exp(1 + 0.75 * Normal(random)), 2);
            var missing = i % 5 == 4 ? (live && i == 4 ? 0.12 : 0.02) : 0;
            row[i] = random.NextDouble() < missing ? null : Math.Round(value!.Value, 3);
        }
        for (var j = 0; j < Categorical; j++)
        {
            var k = 2 + 2 * j;
            var rank = Zipf(random, k);
            if (live && j == 0) rank = k - 1 - rank;
            row[Numeric + j] = j % 3 == 2 && random.NextDouble() < 0.01 ? null : $"c{j + 1}v{rank}";
        }
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static int Zipf(Random random, int k)
    {
        var total = 0.0;
        for (var v = 0; v < k; v++) total += 1.0 / (v + 1);
        var u = random.NextDouble() * total;
        for (var v = 0; v < k; v++)
        {
            u -= 1.0 / (v + 1);
            if (u <= 0) return v;
        }
        return k - 1;
    }

    /// <summary>The model's answer: "yes" with a probability that rises with n01 (so n01's drift moves the predictions).</summary>
    private static double Probability(object?[] row) => row[0] is double x ? 1 / (1 + Math.Exp(-(x - 10.5) * 1.5)) : 0.3;

    public static async Task GenerateAsync(string dir, string dbPath, long rows, int perRequest, int baselineRows, int seed)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(dir, "gureum.db*")) File.Delete(file);
        var random = new Random(seed);
        var row = new object?[Numeric + Categorical];

        // The training data: a CSV profiled by the same reader as an upload; a fifth of it stands for the test split.
        var csv = Path.Combine(dir, "baseline.csv");
        long[,] confusion = new long[2, 2];
        await using (var writer = new StreamWriter(csv, false, new UTF8Encoding(false), 1 << 20))
        {
            await writer.WriteLineAsync(string.Join(',', Enumerable.Range(0, Numeric + Categorical).Select(Name)));
            for (var r = 0; r < baselineRows; r++)
            {
                Row(random, live: false, row);
                await writer.WriteLineAsync(string.Join(',', row.Select(v => v switch
                {
                    null => "",
                    double d => d.ToString("R", CultureInfo.InvariantCulture),
                    _ => v.ToString(),
                })));
                if (r % 5 == 0)
                {
                    var p = Probability(row);
                    var actual = random.NextDouble() < p ? 1 : 0;
                    confusion[actual, p >= 0.5 ? 1 : 0]++;
                }
            }
        }
        DatasetAnalysis analysis;
        await using (var stream = File.OpenRead(csv))
        {
            analysis = await DatasetReader.AnalyzeAsync(stream, new ReadOptions(), CancellationToken.None);
        }

        await using var db = Open(dbPath);
        await db.Database.MigrateAsync();
        var now = Epoch;
        var project = new Project { Id = Ulid.NewUlid().ToString(), Name = "bench", CreatedAt = now };
        var dataset = new Dataset { Id = Ulid.NewUlid().ToString(), ProjectId = project.Id, Name = "bench", CreatedAt = now };
        var version = new DatasetVersion
        {
            Id = Ulid.NewUlid().ToString(), DatasetId = dataset.Id, ProjectId = project.Id, Number = 1, Sha256 = new string('0', 64), SizeBytes = new FileInfo(csv).Length,
            RowCount = analysis.Profile.RowCount, Source = "upload", Format = JsonSerializer.Serialize(analysis.Format, DatasetIngest.StoredJson),
            Schema = JsonSerializer.Serialize(analysis.Schema, DatasetIngest.StoredJson), Profile = JsonSerializer.Serialize(analysis.Profile, DatasetIngest.StoredJson),
            Errors = "[]", CreatedAt = now,
        };
        var inputs = analysis.Schema.Columns.Select(c => new ModelInput(c.Name, c.Type, "auto")).ToList();
        var report = new TrainingReport
        {
            Task = TrainingTask.Binary, Metric = "auc", HigherIsBetter = true, Validation = "holdout",
            Best = new TrialResult(1, "bench", new Dictionary<string, double>(), new Dictionary<string, double>(), 0.9, 1, "succeeded", null, "search"),
            Trials = 1, StopReason = "budget", TrainRows = baselineRows * 4 / 5, TestRows = baselineRows / 5, TestMetrics = new Dictionary<string, double> { ["auc"] = 0.9 },
            ValidationScore = 0.9,
            ConfusionMatrix = new ConfusionMatrixReport(["no", "yes"], [[confusion[0, 0], confusion[0, 1]], [confusion[1, 0], confusion[1, 1]]], []),
            FeatureImportance = [], Signature = new ModelSignature(inputs, [new ModelOutput("label", "string", "the predicted class")], ["no", "yes"]),
            DroppedColumns = [], DurationSeconds = 1,
        };
        var job = new TrainingJob
        {
            Id = Ulid.NewUlid().ToString(), ProjectId = project.Id, DatasetId = dataset.Id, DatasetVersionId = version.Id, VersionNumber = 1, Target = "label",
            Task = "binary", Metric = "auc", Request = "{}", Report = JsonSerializer.Serialize(report, DatasetIngest.StoredJson), CreatedAt = now,
        };
        var model = new RegisteredModel { Id = Ulid.NewUlid().ToString(), ProjectId = project.Id, Name = "bench", CreatedAt = now, UpdatedAt = now };
        var signature = new ModelFileSignature(ModelFormat.MlNet, [.. inputs.Select(i => new ModelField(i.Name, i.Type.ToString().ToLowerInvariant(), null))],
            [new ModelField("label", "string", null)], new Dictionary<string, string> { ["gureum.kind"] = "automl" });
        var modelVersion = new ModelVersion
        {
            Id = Ulid.NewUlid().ToString(), ModelId = model.Id, ProjectId = project.Id, Version = 1, Format = "mlnet", Sha256 = new string('0', 64),
            Signature = JsonSerializer.Serialize(signature, SignatureJson), Source = $"training-jobs/{job.Id}", TrainingJobId = job.Id, DatasetVersionId = version.Id,
            CreatedAt = now, UpdatedAt = now,
        };
        var endpoint = new InferenceEndpoint
        {
            Id = Ulid.NewUlid().ToString(), ProjectId = project.Id, Name = "bench", CreatedAt = now, UpdatedAt = now,
            Spec = JsonSerializer.Serialize(new EndpointSpec([new DeploymentSpec("bench", 1)], SampleRate: 1.0), Gureum.Server.Infrastructure.JsonDefaults.Web),
        };
        db.AddRange(project, dataset, version, job, model, modelVersion, endpoint);
        await db.SaveChangesAsync();
        db.ChangeTracker.Clear();

        // The live samples, as the server logs them: one row per request, newest last.
        var requests = (rows + perRequest - 1) / perRequest;
        var input = new ArrayBufferWriter<byte>(64 * 1024);
        var output = new ArrayBufferWriter<byte>(16 * 1024);
        long written = 0, inputBytes = 0, outputBytes = 0;
        var batch = new List<PredictionSample>(500);
        for (long q = 0; q < requests; q++)
        {
            input.ResetWrittenCount();
            output.ResetWrittenCount();
            var n = (int)Math.Min(perRequest, rows - written);
            await using (var records = new Utf8JsonWriter(input))
            await using (var answers = new Utf8JsonWriter(output))
            {
                records.WriteStartObject();
                records.WriteStartArray("records");
                answers.WriteStartObject();
                answers.WriteString("model", "bench");
                answers.WriteNumber("version", 1);
                answers.WriteString("requestId", $"req-{q}");
                answers.WriteBoolean("contributionsSupported", true);
                answers.WriteStartArray("predictions");
                for (var r = 0; r < n; r++)
                {
                    Row(random, live: true, row);
                    records.WriteStartObject();
                    for (var c = 0; c < row.Length; c++)
                    {
                        switch (row[c])
                        {
                            case null: records.WriteNull(Name(c)); break;
                            case double d: records.WriteNumber(Name(c), d); break;
                            case int i: records.WriteNumber(Name(c), i); break;
                            default: records.WriteString(Name(c), (string)row[c]!); break;
                        }
                    }
                    records.WriteEndObject();
                    var p = Probability(row);
                    answers.WriteStartObject();
                    answers.WriteString("label", p >= 0.5 ? "yes" : "no");
                    answers.WriteNumber("probability", Math.Round(p, 6));
                    answers.WriteEndObject();
                }
                records.WriteEndArray();
                records.WriteEndObject();
                answers.WriteEndArray();
                answers.WriteEndObject();
            }
            if (input.WrittenCount > PredictionLog.MaxSampleBytes) throw new InvalidOperationException($"a sample of {input.WrittenCount} bytes would be cut by the server; use fewer records per request");
            written += n;
            inputBytes += input.WrittenCount;
            outputBytes += output.WrittenCount;
            batch.Add(new PredictionSample
            {
                ProjectId = project.Id, EndpointId = endpoint.Id, Model = "bench", Version = 1, RequestId = $"req-{q}", At = Epoch.AddMilliseconds(q * 10),
                Status = 200, LatencyMs = 1, Input = Encoding.UTF8.GetString(input.WrittenSpan), Output = Encoding.UTF8.GetString(output.WrittenSpan),
            });
            if (batch.Count == 500 || q == requests - 1)
            {
                db.AddRange(batch);
                await db.SaveChangesAsync();
                db.ChangeTracker.Clear();
                batch.Clear();
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"rows\":{written},\"requests\":{requests},\"features\":{Numeric + Categorical},\"input_bytes\":{inputBytes},\"output_bytes\":{outputBytes},\"baseline_rows\":{analysis.Profile.RowCount},\"seconds\":{clock.Elapsed.TotalSeconds:F1}}}"));
    }

    public static async Task GureumAsync(string dbPath, int runs, string reportPath, int workers)
    {
        var rss0 = Status("VmRSS");
        var seconds = new List<double>();
        DriftReport? report = null;
        var options = new DriftOptions { Workers = workers };
        for (var run = 0; run < runs; run++)
        {
            await using var db = Open(dbPath);
            var endpoint = await db.Set<InferenceEndpoint>().AsNoTracking().SingleAsync();
            var clock = Stopwatch.StartNew();
            report = await Drift.ComputeAsync(db, endpoint, Epoch.AddHours(-1), Epoch.AddDays(30), options, CancellationToken.None);
            seconds.Add(clock.Elapsed.TotalSeconds);
        }
        if (reportPath.Length > 0) await File.WriteAllTextAsync(reportPath, JsonSerializer.Serialize(report, Gureum.Server.Infrastructure.JsonDefaults.Web));
        Print("gureum", report!.LiveRows, report.SampledRequests, report.Features.Count, seconds, rss0,
            $",\"flagged\":\"{string.Join(' ', report.Features.Where(f => f.Severity != "none").Select(f => $"{f.Name}:{f.Severity}"))}\",\"prediction_psi\":{report.Prediction?.Psi.ToString(CultureInfo.InvariantCulture) ?? "null"}");
    }

    /// <summary>The limit: the same rows and bytes, newest first, and every JSON token read on the same number of worker threads, nothing counted.</summary>
    public static async Task RawAsync(string dbPath, int runs, bool parse)
    {
        var rss0 = Status("VmRSS");
        var seconds = new List<double>();
        long rows = 0, samples = 0, tokens = 0;
        var workers = Math.Clamp(Environment.ProcessorCount, 1, 4);
        for (var run = 0; run < runs; run++)
        {
            var clock = Stopwatch.StartNew();
            await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath }.ToString());
            await connection.OpenAsync();
            string endpointId;
            await using (var find = connection.CreateCommand())
            {
                find.CommandText = "SELECT \"Id\" FROM endpoints";
                endpointId = (string)(await find.ExecuteScalarAsync())!;
            }
            await using var select = connection.CreateCommand();
            select.CommandText = "SELECT \"Input\", \"Output\" FROM prediction_samples WHERE \"EndpointId\" = $e AND NOT \"Shadow\" AND \"Status\" = 200 ORDER BY \"At\" DESC, \"Id\" DESC";
            select.Parameters.AddWithValue("$e", endpointId);
            var channel = Channel.CreateBounded<List<byte[]>>(2);
            long runTokens = 0, runRows = 0, runSamples = 0;
            var consumer = Task.Run(async () =>
            {
                await foreach (var batch in channel.Reader.ReadAllAsync())
                {
                    if (!parse) continue;
                    Parallel.For(0, batch.Count, new ParallelOptions { MaxDegreeOfParallelism = workers }, () => (0L, 0L), (i, _, local) =>
                    {
                        var reader = new Utf8JsonReader(batch[i]);
                        long n = 0, records = 0;
                        while (reader.Read())
                        {
                            n++;
                            if (reader.TokenType == JsonTokenType.StartObject && reader.CurrentDepth == 2 && i % 2 == 0) records++;
                        }
                        return (local.Item1 + n, local.Item2 + records);
                    }, local =>
                    {
                        Interlocked.Add(ref runTokens, local.Item1);
                        Interlocked.Add(ref runRows, local.Item2);
                    });
                }
            });
            await using (var reader = await select.ExecuteReaderAsync())
            {
                var batch = new List<byte[]>(512);
                long bytes = 0;
                while (await reader.ReadAsync())
                {
                    runSamples++;
                    var inputBytes = reader.GetFieldValue<byte[]>(0);
                    var outputBytes = reader.GetFieldValue<byte[]>(1);
                    batch.Add(inputBytes);
                    batch.Add(outputBytes);
                    bytes += inputBytes.Length + outputBytes.Length;
                    if (batch.Count >= 512 || bytes >= 2 << 20)
                    {
                        await channel.Writer.WriteAsync(batch);
                        batch = new List<byte[]>(512);
                        bytes = 0;
                    }
                }
                if (batch.Count > 0) await channel.Writer.WriteAsync(batch);
            }
            channel.Writer.Complete();
            await consumer;
            seconds.Add(clock.Elapsed.TotalSeconds);
            (rows, samples, tokens) = (runRows, runSamples, runTokens);
        }
        Print(parse ? "raw" : "read", rows, samples, Numeric + Categorical, seconds, rss0, $",\"tokens\":{tokens}");
    }

    private static void Print(string side, long rows, long samples, int features, List<double> seconds, long rss0, string extra)
    {
        var warm = seconds.Skip(1).Order().ToList();
        var median = warm.Count == 0 ? seconds[0] : warm.Count % 2 == 1 ? warm[warm.Count / 2] : (warm[warm.Count / 2 - 1] + warm[warm.Count / 2]) / 2;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"side\":\"{side}\",\"rows\":{rows},\"requests\":{samples},\"features\":{features},\"cold_seconds\":{seconds[0]:F4},\"warm_seconds\":{median:F4},\"runs\":\"{string.Join(' ', seconds.Select(s => s.ToString("F4", CultureInfo.InvariantCulture)))}\",\"rows_per_s\":{rows / median:F0},\"rss0_kb\":{rss0},\"hwm_kb\":{Status("VmHWM")}{extra}}}"));
    }

    private static long Status(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }
}
