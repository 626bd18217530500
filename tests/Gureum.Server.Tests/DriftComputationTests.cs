using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gureum.ML.Data;
using Gureum.ML.Training;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Monitoring;
using Gureum.Server.Features.Registry;
using Gureum.Server.Features.Serving;
using Gureum.Server.Features.Training;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Gureum.Server.Tests;

/// <summary>
/// The drift computation itself: the streaming count gives exactly what parsing every sample into a document gave
/// (the reference below is the earlier implementation, kept as the oracle) on awkward inputs; the row cap takes the
/// newest whole requests; and the prediction's drift against the training baseline, by hand on a known report and
/// end to end on a trained, served titanic model.
/// </summary>
public sealed class DriftComputationTests(DriftComputationTests.App app) : IClassFixture<DriftComputationTests.App>
{
    /// <summary>Endpoints refresh every 200 ms here, so a deployment is ready quickly.</summary>
    public sealed class App() : GureumApp(new Dictionary<string, string?> { ["Gureum:Serving:RefreshInterval"] = "00:00:00.200" });

    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] TitanicInputs =
        ["pclass", "sex", "age", "sibsp", "parch", "fare", "embarked", "class", "who", "adult_male", "deck", "embark_town", "alone"];

    [Fact]
    public async Task ComputeAsync_CountsAwkwardSamples_ExactlyAsParsingEachIntoADocumentDid()
    {
        var (project, version, profile) = await TitanicVersionAsync();
        await using var db = app.Services.GetRequiredService<GureumDbFactory>().Create();
        var (endpoint, _) = await FakeAutoMlEndpointAsync(db, project, version, trainingJobId: null);
        var random = new Random(7);
        var rows = File.ReadAllLines(Path.Combine(Repository.Datasets, "titanic.csv"));
        var header = rows[0].Split(',');
        var inputs = new List<string>();
        for (var i = 0; i < 400; i++)
        {
            inputs.Add(AwkwardSample(random, header, rows, profile));
        }
        var samples = inputs.Select((input, i) => Sample(project, endpoint.Id, input, "{}", T0.AddSeconds(i))).ToList();
        // Outside the window, a shadow's and a failed request's: counted by neither.
        samples.Add(Sample(project, endpoint.Id, inputs[0], "{}", T0.AddDays(-1)));
        samples.Add(Sample(project, endpoint.Id, inputs[1], "{}", T0.AddSeconds(5), shadow: true));
        samples.Add(Sample(project, endpoint.Id, inputs[2], "{}", T0.AddSeconds(6), status: 500));
        await SaveAsync(db, samples);

        var report = await Drift.ComputeAsync(db, endpoint, T0, T0.AddHours(1), new DriftOptions(), CancellationToken.None);
        var expected = Reference.Compute(profile, TitanicInputs, inputs, new DriftOptions());

        Assert.Equal(expected.LiveRows, report.LiveRows);
        Assert.Equal(inputs.Count, report.SampledRequests);
        Assert.True(report.LiveRows > 1000, "too few rows survived to test anything: " + report.LiveRows);
        Assert.Equal(JsonSerializer.Serialize(expected.Features), JsonSerializer.Serialize(report.Features));
        Assert.Null(report.Prediction);
    }

    [Fact]
    public async Task ComputeAsync_WithARowCap_ReadsTheNewestWholeRequests()
    {
        var (project, version, profile) = await TitanicVersionAsync();
        await using var db = app.Services.GetRequiredService<GureumDbFactory>().Create();
        var (endpoint, _) = await FakeAutoMlEndpointAsync(db, project, version, trainingJobId: null);
        var lines = File.ReadAllLines(Path.Combine(Repository.Datasets, "titanic.csv"));
        var header = lines[0].Split(',');
        // Request i holds i % 7 + 1 records; the newest (highest time) come first.
        var inputs = Enumerable.Range(0, 60).Select(i => Records(header, lines.Skip(1 + i * 7).Take(i % 7 + 1))).ToList();
        await SaveAsync(db, inputs.Select((input, i) => Sample(project, endpoint.Id, input, "{}", T0.AddSeconds(i))).ToList());

        var newestFirst = Enumerable.Range(0, 60).Reverse().ToList();
        var cap = 50;
        var taken = new List<int>();
        long seen = 0;
        foreach (var i in newestFirst)
        {
            if (seen >= cap) break;
            taken.Add(i);
            seen += i % 7 + 1;
        }
        var report = await Drift.ComputeAsync(db, endpoint, T0, T0.AddHours(1), new DriftOptions { MaxRows = cap }, CancellationToken.None);
        Assert.Equal(seen, report.LiveRows);
        Assert.Equal(taken.Count, report.SampledRequests);
        var expected = Reference.Compute(profile, TitanicInputs, taken.Select(i => inputs[i]), new DriftOptions());
        Assert.Equal(JsonSerializer.Serialize(expected.Features), JsonSerializer.Serialize(report.Features));
    }

    [Fact]
    public async Task ComputeAsync_ComparesPredictedClasses_WithTheTestSplitsPredictedShares()
    {
        var (project, version, _) = await TitanicVersionAsync();
        await using var db = app.Services.GetRequiredService<GureumDbFactory>().Create();
        // On the test split: 60 predicted "0", 40 predicted "1" (columns of the confusion matrix).
        var job = await TrainingJobAsync(db, project, version, new ConfusionMatrixReport(["0", "1"], [[50, 10], [10, 30]], []), residuals: null);
        var (endpoint, model) = await FakeAutoMlEndpointAsync(db, project, version, job.Id);
        var input = Records(File.ReadAllLines(Path.Combine(Repository.Datasets, "titanic.csv"))[0].Split(','), File.ReadAllLines(Path.Combine(Repository.Datasets, "titanic.csv")).Skip(1).Take(1));
        static string Answer(params string[] labels) =>
            JsonSerializer.Serialize(new { model = "m", version = 1, requestId = "r", contributionsSupported = true, predictions = labels.Select(l => new { label = l, probability = 0.5 }) });
        var samples = new List<PredictionSample>
        {
            Sample(project, endpoint.Id, input, Answer("0", "0", "1"), T0.AddSeconds(1), model),
            Sample(project, endpoint.Id, input, Answer("1", "1", "1", "1", "0", "0", "0"), T0.AddSeconds(2), model),
            // Another version's answers and an answer cut at its size bound: not counted.
            Sample(project, endpoint.Id, input, Answer("0", "0"), T0.AddSeconds(3), model, version: 2),
            Sample(project, endpoint.Id, input, Answer("1", "1")[..40] + "…", T0.AddSeconds(4), model),
        };
        await SaveAsync(db, samples);

        var report = await Drift.ComputeAsync(db, endpoint, T0, T0.AddHours(1), new DriftOptions(), CancellationToken.None);
        var prediction = report.Prediction!;
        Assert.Equal("test-split-predictions", report.PredictionBaseline);
        Assert.Equal("(prediction)", prediction.Name);
        Assert.Equal(10, prediction.LiveValues);
        Assert.Equal(["0", "1"], prediction.Bins.Select(b => b.Label));
        Assert.Equal([0.6, 0.4], prediction.Bins.Select(b => b.Baseline));
        Assert.Equal([0.5, 0.5], prediction.Bins.Select(b => b.Live));
        var psi = (0.5 - 0.6) * Math.Log(0.5 / 0.6) + (0.5 - 0.4) * Math.Log(0.5 / 0.4);
        Assert.Equal(Math.Round(psi, 6), prediction.Psi);
        Assert.Equal(Math.Round(Math.Pow(5 - 6, 2) / 6 + Math.Pow(5 - 4, 2) / 4, 4), prediction.ChiSquare);
        Assert.Equal(0, prediction.UnseenShare);
        Assert.Equal("none", prediction.Severity);
        Assert.Equal(4, report.SampledRequests);

        // A class the model never predicted on the test split gets an "(other)" bin and is unseen.
        await SaveAsync(db, [Sample(project, endpoint.Id, input, Answer("2", "2", "2", "2", "2", "2", "2", "2", "2", "2"), T0.AddSeconds(5), model)]);
        prediction = (await Drift.ComputeAsync(db, endpoint, T0, T0.AddHours(1), new DriftOptions(), CancellationToken.None)).Prediction!;
        Assert.Equal(["0", "1", "(other)"], prediction.Bins.Select(b => b.Label));
        Assert.Equal(0.5, prediction.UnseenShare);
        Assert.Equal("high", prediction.Severity);
    }

    [Fact]
    public async Task ComputeAsync_ComparesPredictedNumbers_WithTheTestSplitsPredictions_InBinsOfEqualFrequency()
    {
        var (project, version, _) = await TitanicVersionAsync();
        await using var db = app.Services.GetRequiredService<GureumDbFactory>().Create();
        // The test split's predictions 0..99: ten bins of ten, ends 10, 20, ... 90 and the maximum.
        var residuals = new ResidualSummary(0, 1, 1, new Dictionary<string, double>(), [],
            Enumerable.Range(0, 100).Select(i => new CurvePoint(i, i, 0)).ToList());
        var job = await TrainingJobAsync(db, project, version, null, residuals);
        var (endpoint, model) = await FakeAutoMlEndpointAsync(db, project, version, job.Id);
        var lines = File.ReadAllLines(Path.Combine(Repository.Datasets, "titanic.csv"));
        var input = Records(lines[0].Split(','), lines.Skip(1).Take(1));
        // Live: everything at 95 and above, half of it missing a score.
        var scores = Enumerable.Range(0, 20).Select(i => i % 2 == 0 ? (double?)95 + i / 10.0 : null).ToList();
        var answer = JsonSerializer.Serialize(new { predictions = scores.Select(s => s is null ? (object)new { } : new { score = s }) });
        await SaveAsync(db, [Sample(project, endpoint.Id, input, answer, T0.AddSeconds(1), model)]);

        var report = await Drift.ComputeAsync(db, endpoint, T0, T0.AddHours(1), new DriftOptions(), CancellationToken.None);
        var prediction = report.Prediction!;
        Assert.Equal("float", prediction.Type);
        Assert.Equal(10, prediction.Bins.Count);
        Assert.All(prediction.Bins, b => Assert.Equal(0.1, b.Baseline));
        Assert.Equal(1.0, prediction.Bins[^1].Live);
        Assert.Equal(0.9, prediction.Ks);
        Assert.Equal(10, prediction.LiveValues);
        Assert.Equal(0.5, prediction.MissingLive);
        Assert.Equal("high", prediction.Severity);
    }

    [Fact]
    public async Task PredictionDrift_OfAServedTitanicModel_IsSmallForTheTrainingPassengers_AndHighForAShiftedCrowd()
    {
        var project = await app.CreateProjectAsync();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "titanic" })).Dispose();
        var csv = File.ReadAllLines(Path.Combine(Repository.Datasets, "titanic.csv"));
        using (var content = new StringContent(string.Join('\n', csv), Encoding.UTF8, "text/csv"))
        {
            (await app.Admin().PostAsync($"/v1/projects/{project}/datasets/titanic/versions", content)).EnsureSuccessStatusCode();
        }
        using var submitted = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs",
            new { dataset = "titanic", target = "survived", budgetSeconds = 3, ignoreColumns = new[] { "alive" } });
        var jobId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        JsonElement job;
        do
        {
            await Task.Delay(300);
            job = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{jobId}");
        } while (job.GetProperty("status").GetString() is "queued" or "running" && DateTime.UtcNow < deadline);
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models", new { name = "titanic" })).EnsureSuccessStatusCode();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/models/titanic/versions", new { trainingJob = jobId })).EnsureSuccessStatusCode();
        foreach (var name in new[] { "same", "shifted" })
        {
            using var created = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/endpoints",
                new { name, deployments = new[] { new { model = "titanic", version = 1 } }, sampleRate = 1.0 });
            Assert.True(created.StatusCode == HttpStatusCode.Accepted, await created.Content.ReadAsStringAsync());
            await WaitReadyAsync(project, name);
        }

        // The training passengers as they were, and the same passengers all as women in first class.
        var header = csv[0].Split(',');
        var same = csv[1..].Select(line => Record(header, line)).ToList();
        var shifted = same.Select(r => new Dictionary<string, object?>(r) { ["sex"] = "female", ["pclass"] = 1.0, ["class"] = "First", ["who"] = "woman", ["adult_male"] = false }).ToList();
        foreach (var (name, records) in new[] { ("same", same), ("shifted", shifted) })
        {
            foreach (var chunk in records.Chunk(100))
            {
                using var predicted = await app.Admin().PostAsync($"/v1/projects/{project}/endpoints/{name}/predict",
                    new StringContent(JsonSerializer.Serialize(new { records = chunk }), Encoding.UTF8, "application/json"));
                Assert.True(predicted.StatusCode == HttpStatusCode.OK, await predicted.Content.ReadAsStringAsync());
            }
        }
        var drift = new Dictionary<string, JsonElement>();
        foreach (var name in new[] { "same", "shifted" })
        {
            var samplesDeadline = DateTime.UtcNow.AddSeconds(20);
            while ((drift[name] = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/{name}/drift?window=1h"))
                .GetProperty("prediction").GetProperty("liveValues").GetInt64() < same.Count)
            {
                Assert.True(DateTime.UtcNow < samplesDeadline, "the samples did not arrive: " + drift[name]);
                await Task.Delay(200);
            }
        }

        var calm = drift["same"].GetProperty("prediction");
        var moved = drift["shifted"].GetProperty("prediction");
        Assert.Equal("test-split-predictions", drift["same"].GetProperty("predictionBaseline").GetString());
        Assert.Equal("(prediction)", calm.GetProperty("name").GetString());
        Assert.Equal(["0", "1"], calm.GetProperty("bins").EnumerateArray().Select(b => b.GetProperty("label").GetString()));
        Assert.Equal(1.0, calm.GetProperty("bins").EnumerateArray().Sum(b => b.GetProperty("baseline").GetDouble()), 5);
        Assert.Equal(same.Count, calm.GetProperty("liveValues").GetInt64());
        Assert.True(calm.GetProperty("psi").GetDouble() < 0.1, "the training passengers' predictions drifted: " + calm);
        Assert.Equal("none", calm.GetProperty("severity").GetString());
        Assert.Equal("high", moved.GetProperty("severity").GetString());
        var survivors = moved.GetProperty("bins").EnumerateArray().Single(b => b.GetProperty("label").GetString() == "1");
        Assert.True(survivors.GetProperty("live").GetDouble() > survivors.GetProperty("baseline").GetDouble() + 0.3, "women in first class should mostly survive: " + moved);
        // The inputs moved too, and are flagged as they were before there was a prediction entry.
        var features = drift["shifted"].GetProperty("features").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("severity").GetString());
        Assert.Equal("high", features["sex"]);
        Assert.Equal("none", features["age"]);
    }

    // ------------------------------------------------------------------------------------------------ set-up

    private async Task<(string Project, DatasetVersion Version, DatasetProfile Profile)> TitanicVersionAsync()
    {
        var project = await app.CreateProjectAsync();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name = "titanic" })).Dispose();
        using (var content = new StringContent(await File.ReadAllTextAsync(Path.Combine(Repository.Datasets, "titanic.csv")), Encoding.UTF8, "text/csv"))
        {
            (await app.Admin().PostAsync($"/v1/projects/{project}/datasets/titanic/versions", content)).EnsureSuccessStatusCode();
        }
        await using var db = app.Services.GetRequiredService<GureumDbFactory>().Create();
        var version = await db.DatasetVersions.AsNoTracking().SingleAsync(v => v.ProjectId == project);
        return (project, version, version.ReadProfile());
    }

    /// <summary>A registered AutoML-kind version of the titanic columns (signature only: drift never loads the model) and an endpoint row serving it.</summary>
    private static async Task<(InferenceEndpoint Endpoint, string Model)> FakeAutoMlEndpointAsync(GureumDb db, string project, DatasetVersion dataset, string? trainingJobId)
    {
        var now = DateTimeOffset.UtcNow;
        var model = new RegisteredModel { Id = Ids.New(), ProjectId = project, Name = "m", CreatedAt = now, UpdatedAt = now };
        var signature = JsonSerializer.Serialize(new
        {
            format = "mlNet", inputs = TitanicInputs.Select(i => new { name = i, type = "string", shape = (long[]?)null }),
            outputs = Array.Empty<object>(), metadata = new Dictionary<string, string> { ["gureum.kind"] = "automl" },
        });
        db.AddRange(model, new ModelVersion
        {
            Id = Ids.New(), ModelId = model.Id, ProjectId = project, Version = 1, Format = "mlnet", Sha256 = new string('0', 64), Signature = signature,
            Source = "test", TrainingJobId = trainingJobId, DatasetVersionId = dataset.Id, CreatedAt = now, UpdatedAt = now,
        });
        await db.SaveChangesAsync();
        // Not saved: an endpoint row would make every node try to load the model, and drift needs only what is here.
        var endpoint = new InferenceEndpoint
        {
            Id = Ids.New(), ProjectId = project, Name = "e", CreatedAt = now, UpdatedAt = now,
            Spec = JsonSerializer.Serialize(new EndpointSpec([new DeploymentSpec("m", 1)]), JsonDefaults.Web),
        };
        return (endpoint, model.Name);
    }

    private static async Task<TrainingJob> TrainingJobAsync(GureumDb db, string project, DatasetVersion dataset, ConfusionMatrixReport? confusion, ResidualSummary? residuals)
    {
        var report = new TrainingReport
        {
            Task = confusion is null ? TrainingTask.Regression : TrainingTask.Binary, Metric = "m", HigherIsBetter = true, Validation = "holdout",
            Best = new TrialResult(1, "t", new Dictionary<string, double>(), new Dictionary<string, double>(), 1, 1, "succeeded", null, "search"),
            Trials = 1, StopReason = "budget", TrainRows = 1, TestRows = 1, TestMetrics = new Dictionary<string, double>(), ValidationScore = 1,
            ConfusionMatrix = confusion, Residuals = residuals, FeatureImportance = [], Signature = new ModelSignature([], [], null), DroppedColumns = [], DurationSeconds = 1,
        };
        var job = new TrainingJob
        {
            Id = Ids.New(), ProjectId = project, DatasetId = dataset.DatasetId, DatasetVersionId = dataset.Id, VersionNumber = 1, Target = "survived",
            Task = "binary", Metric = "m", Request = "{}", Report = JsonSerializer.Serialize(report, DatasetIngest.StoredJson), CreatedAt = DateTimeOffset.UtcNow,
        };
        db.Add(job);
        await db.SaveChangesAsync();
        return job;
    }

    private static PredictionSample Sample(string project, string endpoint, string input, string output, DateTimeOffset at, string model = "m",
        int version = 1, bool shadow = false, int status = 200) => new()
    {
        ProjectId = project, EndpointId = endpoint, Model = model, Version = version, Shadow = shadow, RequestId = Ids.New(), At = at, Status = status, LatencyMs = 1,
        Input = input, Output = output,
    };

    private static async Task SaveAsync(GureumDb db, List<PredictionSample> samples)
    {
        db.AddRange(samples);
        await db.SaveChangesAsync();
        db.ChangeTracker.Clear();
    }

    private async Task WaitReadyAsync(string project, string name)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var endpoint = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/endpoints/{name}");
            var status = endpoint.GetProperty("status").GetString();
            Assert.NotEqual("failed", status);
            if (status == "ready" && endpoint.GetProperty("update").ValueKind == JsonValueKind.Null) return;
            Assert.True(DateTime.UtcNow < deadline, "endpoint not ready in time: " + endpoint);
            await Task.Delay(100);
        }
    }

    // ------------------------------------------------------------------------------------------------ samples

    private static readonly HashSet<string> Numbers = ["pclass", "age", "sibsp", "parch", "fare"];

    private static Dictionary<string, object?> Record(string[] header, string line)
    {
        var values = line.Split(',');
        var record = new Dictionary<string, object?>();
        for (var i = 0; i < header.Length; i++)
        {
            if (header[i] is "survived" or "alive") continue;
            var value = values[i];
            record[header[i]] = value.Length == 0 ? null
                : header[i] is "adult_male" or "alone" ? value == "True"
                : Numbers.Contains(header[i]) ? double.Parse(value, CultureInfo.InvariantCulture)
                : value;
        }
        return record;
    }

    private static string Records(string[] header, IEnumerable<string> lines) =>
        JsonSerializer.Serialize(new { records = lines.Select(l => Record(header, l)) });

    /// <summary>
    /// A request body built by hand, mostly real passengers, with what a client may really send: numbers as strings
    /// (with spaces, exponents, "NaN", "Infinity", text), booleans, nulls, empty strings, objects and arrays where a
    /// value goes, values on bin edges and beyond the double range, escaped names and values, repeated properties
    /// (the last wins), unknown properties, a repeated "records", and bodies that are not valid JSON (cut at the
    /// sample bound, or with something after the root), not an array of records, or without records.
    /// </summary>
    private static string AwkwardSample(Random random, string[] header, string[] lines, DatasetProfile profile)
    {
        var edges = profile.Columns.Where(c => c.Histogram is { Count: > 0 }).ToDictionary(c => c.Name, c => c.Histogram!.SelectMany(b => new[] { b.Start, b.End }).ToArray());
        var top = profile.Columns.Where(c => c.TopValues is { Count: > 0 }).ToDictionary(c => c.Name, c => c.TopValues!.Select(t => t.Value).ToArray());
        string Value(string column, string raw)
        {
            var roll = random.Next(40);
            if (Numbers.Contains(column) && edges.TryGetValue(column, out var e) && roll < 4) return e[random.Next(e.Length)].ToString("R", CultureInfo.InvariantCulture);
            if (top.TryGetValue(column, out var t) && roll < 3) return JsonSerializer.Serialize(t[random.Next(t.Length)]);
            return roll switch
            {
                4 => "null",
                5 => "\"\"",
                6 => JsonSerializer.Serialize(raw),
                7 => $"\" {raw} \"",
                8 => new[] { "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1e3\"", "\"abc\"", "\"1,5\"", "\"+4\"", "\"0x10\"" }[random.Next(8)],
                9 => new[] { "true", "false" }[random.Next(2)],
                10 => new[] { "{}", "{\"a\": [1, 2]}", "[]", "[1,  \"x\"]" }[random.Next(4)],
                11 => new[] { "1e400", "-1e400", "-0", "1.5E+2", "123456789012345678901", "0.1000000000000000055511151231257827", "4.9e-324", "3", "3.0" }[random.Next(9)],
                12 => "\"\\u0053\\u0065\\u0061\"",
                13 => "\"서울\"",
                _ => raw.Length == 0 ? "null"
                    : column is "adult_male" or "alone" ? (raw == "True" ? "true" : "false")
                    : Numbers.Contains(column) ? raw
                    : JsonSerializer.Serialize(raw),
            };
        }
        string RecordJson()
        {
            var values = lines[1 + random.Next(lines.Length - 1)].Split(',');
            var parts = new List<string>();
            for (var i = 0; i < header.Length; i++)
            {
                if (header[i] is "survived" or "alive") continue;
                var roll = random.Next(60);
                if (roll == 0) continue; // missing property
                var name = roll == 1 ? string.Concat(header[i].Select(c => $"\\u{(int)c:x4}")) : header[i];
                parts.Add($"\"{name}\": {Value(header[i], values[i])}");
                if (roll == 2) parts.Add($"\"{header[i]}\": {Value(header[i], values[i])}"); // repeated: the last wins
                if (roll == 3) parts.Add($"\"{header[i]}\": null");
                if (roll == 4) parts.Add("\"unknown\": {\"nested\": [1, {\"age\": 99}]}");
            }
            if (random.Next(10) == 0) parts.Reverse();
            return "{" + string.Join(random.Next(5) == 0 ? ",\n  " : ",", parts) + "}";
        }
        string Cut(string json) => json[..random.Next(1, json.Length)] + "…";
        string RecordsJson(int n) => "[" + string.Join(",", Enumerable.Range(0, n).Select(_ => RecordJson())) + "]";
        var count = random.Next(1, 30);
        return random.Next(40) switch
        {
            0 => Cut("{\"records\": " + RecordsJson(count) + "}"),
            1 => "{\"records\": " + RecordsJson(count) + "} x",
            2 => "{\"records\": {\"age\": 3}}",
            3 => "{\"inputs\": [1, 2]}",
            4 => "{\"records\": " + RecordsJson(2) + ", \"records\": " + RecordsJson(count) + "}",
            5 => "{\"records\": " + RecordsJson(count) + ", \"records\": 3}",
            6 => "{\"id\": \"x\", \"parameters\": {\"records\": [1]}, \"records\": " + RecordsJson(count) + "}",
            7 => "{\"records\": []}",
            8 => " \n{ \"records\" : " + RecordsJson(count) + " }\n ",
            _ => "{\"records\": " + RecordsJson(count) + "}",
        };
    }

    // ------------------------------------------------------------------------------------------------ the oracle

    /// <summary>The earlier implementation of the per-feature comparison: each sample parsed into a document, every value cloned, bins by linear scan.</summary>
    private static class Reference
    {
        private const double Epsilon = 1e-4;

        public static (long LiveRows, List<FeatureDrift> Features) Compute(DatasetProfile profile, IEnumerable<string> inputs, IEnumerable<string> samples, DriftOptions options)
        {
            var live = inputs.ToDictionary(i => i, _ => new List<JsonElement>());
            long liveRows = 0;
            foreach (var input in samples)
            {
                try
                {
                    using var document = JsonDocument.Parse(input);
                    if (!document.RootElement.TryGetProperty("records", out var records) || records.ValueKind != JsonValueKind.Array) continue;
                    foreach (var record in records.EnumerateArray())
                    {
                        liveRows++;
                        foreach (var feature in live.Keys)
                        {
                            live[feature].Add(record.TryGetProperty(feature, out var v) ? v.Clone() : default);
                        }
                    }
                }
                catch (JsonException)
                {
                }
            }
            var features = profile.Columns.Where(c => live.ContainsKey(c.Name))
                .Select(c => Compare(c, live[c.Name], profile.RowCount, options))
                .OrderByDescending(f => Rank(f.Severity)).ThenByDescending(f => f.Psi)
                .ToList();
            return (liveRows, features);
        }

        private static int Rank(string severity) => severity switch { "high" => 3, "moderate" => 2, "none" => 1, _ => 0 };

        private static FeatureDrift Compare(ColumnProfile column, List<JsonElement> values, long baselineRows, DriftOptions options)
        {
            var missingBaseline = baselineRows == 0 ? 0 : (double)column.Missing / baselineRows;
            var present = values.Where(v => v.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null)
                && !(v.ValueKind == JsonValueKind.String && v.GetString()!.Length == 0)).ToList();
            var missingLive = values.Count == 0 ? 0 : 1 - (double)present.Count / values.Count;
            if (values.Count == 0)
            {
                return new FeatureDrift(column.Name, column.Type.ToString().ToLowerInvariant(), "no-data", 0, null, null, null, missingBaseline, 0, 0, []);
            }
            var numeric = column.Histogram is { Count: > 0 };
            double psi;
            double? ks = null, chi = null, unseen = null;
            var bins = new List<DriftBin>();
            if (numeric)
            {
                var histogram = column.Histogram!;
                var total = Math.Max(1, histogram.Sum(b => b.Count));
                var counts = new long[histogram.Count];
                foreach (var v in present)
                {
                    if (!TryNumber(v, out var x)) continue;
                    var i = histogram.Count - 1;
                    for (var b = 0; b < histogram.Count; b++)
                    {
                        if (x < histogram[b].End || b == histogram.Count - 1) { i = b; break; }
                    }
                    counts[i]++;
                }
                var liveTotal = Math.Max(1, counts.Sum());
                double cumBase = 0, cumLive = 0, maxGap = 0;
                for (var b = 0; b < histogram.Count; b++)
                {
                    var e = (double)histogram[b].Count / total;
                    var a = (double)counts[b] / liveTotal;
                    cumBase += e;
                    cumLive += a;
                    maxGap = Math.Max(maxGap, Math.Abs(cumBase - cumLive));
                    bins.Add(new DriftBin(string.Create(CultureInfo.InvariantCulture, $"{histogram[b].Start:G4}–{histogram[b].End:G4}"), histogram[b].Start, histogram[b].End, Math.Round(e, 6), Math.Round(a, 6)));
                }
                psi = Psi(bins);
                ks = Math.Round(maxGap, 6);
            }
            else
            {
                var top = column.TopValues ?? [];
                var known = top.ToDictionary(t => t.Value, t => t.Count, StringComparer.Ordinal);
                var baseTotal = Math.Max(1, column.Count - column.Missing);
                var other = Math.Max(0, baseTotal - top.Sum(t => t.Count));
                var liveCounts = new Dictionary<string, long>(StringComparer.Ordinal);
                long liveOther = 0;
                foreach (var v in present)
                {
                    var text = v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();
                    if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) text = v.GetBoolean() ? "true" : "false";
                    if (known.ContainsKey(text)) liveCounts[text] = liveCounts.GetValueOrDefault(text) + 1;
                    else liveOther++;
                }
                var liveTotal = Math.Max(1, present.Count);
                foreach (var t in top)
                {
                    bins.Add(new DriftBin(t.Value, null, null, Math.Round((double)t.Count / baseTotal, 6), Math.Round((double)liveCounts.GetValueOrDefault(t.Value) / liveTotal, 6)));
                }
                bins.Add(new DriftBin("(other)", null, null, Math.Round((double)other / baseTotal, 6), Math.Round((double)liveOther / liveTotal, 6)));
                psi = Psi(bins);
                chi = Math.Round(bins.Sum(b => Math.Pow(b.Live * liveTotal - Math.Max(b.Baseline, Epsilon) * liveTotal, 2) / (Math.Max(b.Baseline, Epsilon) * liveTotal)), 4);
                unseen = Math.Round((double)liveOther / liveTotal, 6);
            }
            var severity = Severity(psi, unseen, Math.Abs(missingLive - missingBaseline), options);
            return new FeatureDrift(column.Name, column.Type.ToString().ToLowerInvariant(), severity, Math.Round(psi, 6), ks, chi, unseen,
                Math.Round(missingBaseline, 6), Math.Round(missingLive, 6), present.Count, bins);
        }

        private static double Psi(IEnumerable<DriftBin> bins) =>
            bins.Sum(b => (Math.Max(b.Live, Epsilon) - Math.Max(b.Baseline, Epsilon)) * Math.Log(Math.Max(b.Live, Epsilon) / Math.Max(b.Baseline, Epsilon)));

        private static string Severity(double psi, double? unseen, double missingChange, DriftOptions o)
        {
            if (psi >= o.PsiHigh || unseen >= o.UnseenHigh || missingChange >= o.MissingHigh) return "high";
            if (psi >= o.PsiModerate || unseen >= o.UnseenModerate || missingChange >= o.MissingModerate) return "moderate";
            return "none";
        }

        private static bool TryNumber(JsonElement v, out double x)
        {
            x = 0;
            return v.ValueKind switch
            {
                JsonValueKind.Number => v.TryGetDouble(out x),
                JsonValueKind.String => double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out x),
                JsonValueKind.True => (x = 1) == 1,
                JsonValueKind.False => true,
                _ => false,
            };
        }
    }
}
