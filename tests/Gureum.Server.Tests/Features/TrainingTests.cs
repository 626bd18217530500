using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Features;

public sealed class TrainingTests(GureumApp app) : IClassFixture<GureumApp>
{
    private async Task<(string Project, string Dataset)> UploadAsync(string csv, string name = "data")
    {
        var project = await app.CreateProjectAsync();
        (await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/datasets", new { name })).Dispose();
        using var content = new StringContent(csv, Encoding.UTF8, "text/csv");
        using var response = await app.Admin().PostAsync($"/v1/projects/{project}/datasets/{name}/versions", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (project, name);
    }

    private Task<(string Project, string Dataset)> UploadFileAsync(string file) =>
        UploadAsync(File.ReadAllText(Path.Combine(Repository.Datasets, file)));

    private async Task<JsonElement> WaitAsync(string project, string id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var state = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{id}");
            if (state.GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled") return state;
            Assert.True(DateTime.UtcNow < deadline, $"training did not finish: {state}");
            await Task.Delay(200);
        }
    }

    private async Task<HttpResponseMessage> SubmitAsync(string project, object request) =>
        await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs", request);

    [Fact]
    public async Task Titanic_TrainsWithinTheBudget_ReportsLeaderboardMetricsAndExplainsRawRows()
    {
        var (project, dataset) = await UploadFileAsync("titanic.csv");
        using var submitted = await SubmitAsync(project, new { dataset, target = "survived", budgetSeconds = 8, ignoreColumns = new[] { "alive" } });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var accepted = await submitted.Content.ReadFromJsonAsync<JsonElement>();
        var id = accepted.GetProperty("id").GetString()!;
        Assert.EndsWith($"/training-jobs/{id}", submitted.Headers.Location!.ToString());
        Assert.Equal("binary", accepted.GetProperty("task").GetString());
        Assert.Equal("auc", accepted.GetProperty("metric").GetString());

        var done = await WaitAsync(project, id, TimeSpan.FromSeconds(90));
        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        var report = done.GetProperty("report");
        Assert.True(report.GetProperty("testMetrics").GetProperty("auc").GetDouble() > 0.78, report.GetProperty("testMetrics").ToString());
        // The search stops itself at the budget; the slack only absorbs a loaded machine (no runaway search).
        Assert.True(report.GetProperty("durationSeconds").GetDouble() < 8 + 30, report.GetProperty("durationSeconds").ToString());
        Assert.Equal(2, report.GetProperty("confusionMatrix").GetProperty("counts").GetArrayLength());
        Assert.True(report.GetProperty("roc").GetArrayLength() > 5);
        Assert.Contains(report.GetProperty("featureImportance").EnumerateArray(), f => f.GetProperty("column").GetString() == "sex");
        Assert.DoesNotContain(report.GetProperty("signature").GetProperty("inputs").EnumerateArray(), i => i.GetProperty("name").GetString() is "alive" or "survived");
        // The final model is the best trial, or an ensemble of trials that validated better.
        var ensemble = report.GetProperty("ensemble");
        Assert.Equal(ensemble.ValueKind == JsonValueKind.Null ? report.GetProperty("best").GetProperty("trainer").GetString() : "ensemble",
            done.GetProperty("bestTrainer").GetString());

        // The leaderboard: every trial recorded, best first; its count matches the report.
        var board = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{id}/trials");
        var trials = board.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(report.GetProperty("trials").GetInt32(), trials.Count);
        Assert.True(trials.Count >= 2, board.ToString()); // how many fit in 8 s depends on the machine
        var scores = trials.Where(t => t.GetProperty("status").GetString() == "succeeded").Select(t => t.GetProperty("score").GetDouble()).ToList();
        Assert.Equal(scores.OrderDescending(), scores);
        Assert.Equal(report.GetProperty("best").GetProperty("score").GetDouble(), scores[0]);

        // Training is billed once, in core-seconds: the search's seconds × this machine's cores.
        var usage = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/usage?groupBy=service");
        var billed = usage.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("service").GetString() == "training");
        Assert.Equal("core-seconds", billed.GetProperty("meter").GetString());
        Assert.InRange(billed.GetProperty("quantity").GetDouble(), 1.0 * Environment.ProcessorCount, 60.0 * Environment.ProcessorCount);

        // The job's event stream carried the trials as they finished.
        var job = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs/{id}");
        Assert.Equal("training", job.GetProperty("kind").GetString());

        // The model file: a zip with the manifest and the ML.NET pipeline(s).
        using (var model = await app.Admin().GetAsync($"/v1/projects/{project}/training-jobs/{id}/model"))
        {
            Assert.Equal(HttpStatusCode.OK, model.StatusCode);
            Assert.Equal("application/zip", model.Content.Headers.ContentType!.MediaType);
            using var zip = new ZipArchive(await model.Content.ReadAsStreamAsync());
            Assert.NotNull(zip.GetEntry("manifest.json"));
            Assert.NotNull(zip.GetEntry("model-0.zip")); // one pipeline per member (one unless an ensemble)
        }

        // Explain raw rows, as in the dataset.
        using var explained = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs/{id}/explain", new
        {
            records = new object[]
            {
                new { pclass = 1, sex = "female", age = 30, fare = 100.0, who = "woman", adult_male = false, @class = "First" },
                new { pclass = 3, sex = "male", age = 35, fare = 7.25, who = "man", adult_male = true, @class = "Third" },
            },
        });
        Assert.Equal(HttpStatusCode.OK, explained.StatusCode);
        var predictions = (await explained.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions");
        Assert.Equal("1", predictions[0].GetProperty("label").GetString());
        Assert.Equal("0", predictions[1].GetProperty("label").GetString());
    }

    [Fact]
    public async Task Explain_RefusesUnknownColumnsAndBadValues_NamingTheField()
    {
        var (project, dataset) = await UploadFileAsync("iris.csv");
        using var submitted = await SubmitAsync(project, new { dataset, target = "species", trainer = "lightGbm", budgetSeconds = 30 });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal("succeeded", (await WaitAsync(project, id, TimeSpan.FromSeconds(60))).GetProperty("status").GetString());
        using var unknown = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs/{id}/explain",
            new { records = new[] { new { sepal_lenght = 5.1 } } });
        await Problems.AssertFieldErrorAsync(unknown, "records[0].sepal_lenght");
        using var text = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs/{id}/explain",
            new { records = new[] { new { sepal_length = "long" } } });
        await Problems.AssertFieldErrorAsync(text, "records[0].sepal_length");
        using var notArray = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs/{id}/explain", new { records = new { } });
        await Problems.AssertFieldErrorAsync(notArray, "records");
    }

    public static TheoryData<string, string, string> BadRequests => new()
    {
        // csv, request JSON (dataset "data"), the field the 400 names
        { "a,b\n1,x\n2,y\n3,x\n", """{"dataset":"data","target":"b","budgetSeconds":10}""", "target" },
        { Rows(40, i => $"{i % 7},same"), """{"dataset":"data","target":"b"}""", "target" },
        { Rows(400, i => $"{i % 5},class{i % 300}"), """{"dataset":"data","target":"b","task":"multiclass"}""", "target" },
        { Rows(40, i => $"{i % 5},{(i % 2 == 0 ? "yes" : "no")}"), """{"dataset":"data","target":"b","task":"regression"}""", "task" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","budgetSeconds":0}""", "budgetSeconds" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","budgetSeconds":10000000}""", "budgetSeconds" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","ignoreColumns":["a"]}""", "ignoreColumns" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","ignoreColumns":["nope"]}""", "ignoreColumns" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"nope"}""", "target" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","task":"clustering"}""", "task" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","metric":"rmse"}""", "metric" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","trainer":"deepNet"}""", "trainer" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","trainer":"lightGbm","hyperparameters":{"numberOfLeaves":100000}}""", "hyperparameters.numberOfLeaves" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","trainer":"lightGbm","hyperparameters":{"depth":3}}""", "hyperparameters.depth" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","hyperparameters":{"numberOfLeaves":8}}""", "hyperparameters" },
        { Rows(40, i => $"{i % 5},{i % 2}"), """{"dataset":"data","target":"b","version":7}""", "version" },
        // A text-only dataset whose 'target' is free text, unique per row.
        { "review,b\n" + string.Join("\n", Enumerable.Range(0, 40).Select(i => $"this is review number {i} of many,free text {i} words")), """{"dataset":"data","target":"b"}""", "target" },
    };

    private static string Rows(int n, Func<int, string> row) => "a,b\n" + string.Join("\n", Enumerable.Range(0, n).Select(row)) + "\n";

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequests_Answer400NamingTheField_AndQueueNoJob(string csv, string request, string field)
    {
        var (project, _) = await UploadAsync(csv);
        using var content = new StringContent(request, Encoding.UTF8, "application/json");
        using var response = await app.Admin().PostAsync($"/v1/projects/{project}/training-jobs", content);
        await Problems.AssertFieldErrorAsync(response, field);
        var jobs = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs");
        Assert.Equal(0, jobs.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task WritableFields_ProjectIdInTheBody_Is400_AndNothingIsQueued()
    {
        var (project, _) = await UploadAsync(Rows(40, i => $"{i % 5},{i % 2}"));
        using var content = new StringContent("""{"dataset":"data","target":"b","projectId":"someone-else"}""", Encoding.UTF8, "application/json");
        using var response = await app.Admin().PostAsync($"/v1/projects/{project}/training-jobs", content);
        var problem = await Problems.AssertProblemAsync(response, HttpStatusCode.BadRequest, "malformed-request");
        Assert.Contains("projectId", problem.ToString());
        var jobs = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/jobs");
        Assert.Equal(0, jobs.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task IdempotencyKeys_ARetriedSubmitReturnsTheSameTrainingJob()
    {
        var (project, dataset) = await UploadFileAsync("iris.csv");
        async Task<JsonElement> Submit()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/training-jobs")
            {
                Content = JsonContent.Create(new { dataset, target = "species", trainer = "lbfgs" }),
            };
            request.Headers.Add("Idempotency-Key", "train-iris-once");
            using var response = await app.Admin().SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }
        var first = await Submit();
        var second = await Submit();
        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        var list = await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs");
        Assert.Equal(1, list.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Requests_ExplainIsCappedAtAThousandRecords()
    {
        var (project, dataset) = await UploadFileAsync("iris.csv");
        using var submitted = await SubmitAsync(project, new { dataset, target = "species", trainer = "lbfgs" });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await WaitAsync(project, id, TimeSpan.FromSeconds(60));
        using var response = await app.Admin().PostAsJsonAsync($"/v1/projects/{project}/training-jobs/{id}/explain",
            new { records = Enumerable.Range(0, 1001).Select(_ => new { sepal_length = 5.0 }).ToArray() });
        await Problems.AssertFieldErrorAsync(response, "records");
    }

    [Fact]
    public async Task UnknownDataset_Is404()
    {
        var project = await app.CreateProjectAsync();
        using var response = await SubmitAsync(project, new { dataset = "missing", target = "x" });
        await Problems.AssertProblemAsync(response, HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task AVersionThatTrainedAModel_CannotBeDeleted_UntilItsTrainingJobIs()
    {
        var (project, dataset) = await UploadFileAsync("iris.csv");
        using var submitted = await SubmitAsync(project, new { dataset, target = "species", trainer = "lbfgs" });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var done = await WaitAsync(project, id, TimeSpan.FromSeconds(60));
        var modelSha = done.GetProperty("model").GetProperty("sha256").GetString()!;
        var modelPath = Path.Combine(app.DataDirectory, "artifacts", "sha256", modelSha[..2], modelSha);
        Assert.True(File.Exists(modelPath));

        using (var refused = await app.Admin().DeleteAsync($"/v1/projects/{project}/datasets/{dataset}/versions/1"))
        {
            var problem = await Problems.AssertProblemAsync(refused, HttpStatusCode.Conflict, "conflict");
            Assert.Contains(id, problem.GetProperty("detail").GetString());
        }
        using (var refused = await app.Admin().DeleteAsync($"/v1/projects/{project}/datasets/{dataset}"))
        {
            await Problems.AssertProblemAsync(refused, HttpStatusCode.Conflict, "conflict");
        }
        using (var deleted = await app.Admin().DeleteAsync($"/v1/projects/{project}/training-jobs/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        Assert.False(File.Exists(modelPath));
        using (var gone = await app.Admin().GetAsync($"/v1/projects/{project}/training-jobs/{id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        using var allowed = await app.Admin().DeleteAsync($"/v1/projects/{project}/datasets/{dataset}/versions/1");
        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
    }

    [Fact]
    public async Task Cancel_StopsTheSearch_AndTheModelIsNotAvailable()
    {
        var (project, dataset) = await UploadFileAsync("titanic.csv");
        using var submitted = await SubmitAsync(project, new { dataset, target = "survived", budgetSeconds = 600 });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await app.Admin().GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/training-jobs/{id}/trials")).GetProperty("trials").GetArrayLength() == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "no trial finished");
            await Task.Delay(100);
        }
        using (var cancel = await app.Admin().PostAsync($"/v1/projects/{project}/training-jobs/{id}/cancel", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }
        var done = await WaitAsync(project, id, TimeSpan.FromSeconds(60));
        Assert.Equal("cancelled", done.GetProperty("status").GetString());
        using var model = await app.Admin().GetAsync($"/v1/projects/{project}/training-jobs/{id}/model");
        await Problems.AssertProblemAsync(model, HttpStatusCode.Conflict, "conflict");
        using var again = await app.Admin().PostAsync($"/v1/projects/{project}/training-jobs/{id}/cancel", null);
        await Problems.AssertProblemAsync(again, HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task AnotherProjectsKey_CannotSeeOrUseATrainingJob()
    {
        var (project, dataset) = await UploadFileAsync("iris.csv");
        using var submitted = await SubmitAsync(project, new { dataset, target = "species", trainer = "lbfgs" });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var other = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(other, "project:write");
        using var get = await app.Client(key).GetAsync($"/v1/projects/{other}/training-jobs/{id}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        using var explain = await app.Client(key).PostAsJsonAsync($"/v1/projects/{other}/training-jobs/{id}/explain", new { records = new[] { new { } } });
        Assert.Equal(HttpStatusCode.NotFound, explain.StatusCode);
        using var direct = await app.Client(key).GetAsync($"/v1/projects/{project}/training-jobs/{id}");
        Assert.Equal(HttpStatusCode.NotFound, direct.StatusCode);
    }
}
