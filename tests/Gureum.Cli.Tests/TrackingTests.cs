using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit;

namespace Gureum.Cli.Tests;

/// <summary>The experiments and runs commands against runs logged through the server's MLflow API, as an MLflow client logs them.</summary>
public sealed class TrackingTests(GureumServer server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<string> CreateProjectAsync()
    {
        var name = GureumServer.UniqueName("p");
        var run = await server.RunAsync("projects", "create", name);
        Assert.True(run.ExitCode == 0, run.ToString());
        return name;
    }

    private async Task<string> CreateExperimentAsync(string project, string name)
    {
        var created = await server.RunAsync("--json", "experiments", "create", project, name);
        Assert.True(created.ExitCode == 0, created.ToString());
        using var body = JsonDocument.Parse(created.Out);
        return body.RootElement.GetProperty("id").GetString()!;
    }

    private async Task<JsonElement> MlflowAsync(string project, string method, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/mlflow/api/2.0/mlflow/{method}") { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminKey);
        using var response = await server.Http.SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, $"{method}: {(int)response.StatusCode} {text}");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>A finished run with <paramref name="parameters"/> and one point per step of each metric series.</summary>
    private async Task<string> LogRunAsync(string project, string experiment, string name, Dictionary<string, string> parameters, Dictionary<string, double[]> series)
    {
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var created = await MlflowAsync(project, "runs/create", new { experiment_id = experiment, run_name = name, start_time = start });
        var run = created.GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;
        await MlflowAsync(project, "runs/log-batch", new
        {
            run_id = run,
            metrics = series.SelectMany(s => s.Value.Select((value, step) => new { key = s.Key, value, timestamp = start + step, step })).ToList(),
            @params = parameters.Select(p => new { key = p.Key, value = p.Value }).ToList(),
            tags = new[] { new { key = "team", value = "vision" } },
        });
        await MlflowAsync(project, "runs/update", new { run_id = run, status = "FINISHED", end_time = start + 1500 });
        return run;
    }

    private async Task PutArtifactAsync(string project, string run, string path, byte[] bytes)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/projects/{project}/runs/{run}/artifacts/{path}") { Content = new ByteArrayContent(bytes) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminKey);
        using var response = await server.Http.SendAsync(request, Ct);
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
    }

    private static string TempPath(string name) => Path.Combine(Path.GetTempPath(), GureumServer.UniqueName("gureum-cli") + "-" + name);

    [Fact]
    public async Task Experiments_CreateListGet_RoundTripsWithTheDescription()
    {
        var project = await CreateProjectAsync();

        var created = await server.RunAsync("experiments", "create", project, "churn", "--description", "weekly churn model", "--tag", "owner=ml-team");
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Contains("Created experiment churn (id 1)", created.Out);

        var listed = await server.RunAsync("experiments", "list", project);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("Default", listed.Out);
        Assert.Contains("churn", listed.Out);
        Assert.Contains("weekly churn model", listed.Out);

        var fetched = await server.RunAsync("--json", "experiments", "get", project, "1");
        Assert.True(fetched.ExitCode == 0, fetched.ToString());
        using var body = JsonDocument.Parse(fetched.Out);
        Assert.Equal("churn", body.RootElement.GetProperty("name").GetString());
        Assert.Equal("weekly churn model", body.RootElement.GetProperty("tags").GetProperty("mlflow.note.content").GetString());
        Assert.Equal("ml-team", body.RootElement.GetProperty("tags").GetProperty("owner").GetString());

        var shown = await server.RunAsync("experiments", "get", project, "1");
        Assert.Contains("tag owner", shown.Out);

        var again = await server.RunAsync("experiments", "create", project, "churn");
        Assert.Equal(5, again.ExitCode);
        Assert.Contains("already exists", again.Err);

        var missing = await server.RunAsync("experiments", "get", project, "42");
        Assert.Equal(4, missing.ExitCode);
        Assert.Contains("'42' does not exist", missing.Err);

        var badTag = await server.RunAsync("experiments", "create", project, "other", "--tag", "no-equals-sign");
        Assert.Equal(2, badTag.ExitCode);
        Assert.Contains("key=value", badTag.Err);
    }

    [Fact]
    public async Task Runs_SearchCompareMetricsArtifactsAndDownload_OverLoggedRuns()
    {
        var project = await CreateProjectAsync();
        var experiment = await CreateExperimentAsync(project, "sweep");
        var fast = await LogRunAsync(project, experiment, "fast-lr", new() { ["lr"] = "0.1", ["layers"] = "2" },
            new() { ["acc"] = [0.5, 0.7, 0.8, 0.9, 0.93], ["loss"] = [1.0, 0.6, 0.4, 0.3, 0.25] });
        var slow = await LogRunAsync(project, experiment, "slow-lr", new() { ["lr"] = "0.01", ["layers"] = "2" },
            new() { ["acc"] = [0.5, 0.6, 0.7, 0.8, 0.85], ["loss"] = [1.0, 0.8, 0.6, 0.5, 0.45] });
        var bad = await LogRunAsync(project, experiment, "diverged", new() { ["lr"] = "1.0", ["layers"] = "2" },
            new() { ["acc"] = [0.5, 0.3, 0.2], ["loss"] = [1.0, 3.0, 9.0] });
        var weights = System.Security.Cryptography.RandomNumberGenerator.GetBytes(200_000);
        await PutArtifactAsync(project, fast, "model/weights.bin", weights);
        await PutArtifactAsync(project, fast, "notes.txt", "hello"u8.ToArray());

        var searched = await server.RunAsync("--json", "runs", "search", project, "--experiment", experiment,
            "--filter", "metrics.acc > 0.8", "--order-by", "metrics.acc DESC");
        Assert.True(searched.ExitCode == 0, searched.ToString());
        using (var page = JsonDocument.Parse(searched.Out))
        {
            var ids = page.RootElement.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
            Assert.Equal([fast, slow], ids);
        }
        var table = await server.RunAsync("runs", "search", project, "--filter", "params.lr = '1.0'");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("diverged", table.Out);
        Assert.Contains(bad, table.Out);
        Assert.DoesNotContain("fast-lr", table.Out);
        var paged = await server.RunAsync("runs", "search", project, "--experiment", experiment, "--limit", "2", "--order-by", "metrics.acc DESC");
        Assert.Contains("More: repeat with --after", paged.Out);

        var run = await server.RunAsync("runs", "get", project, fast);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("fast-lr", run.Out);
        Assert.Contains("finished", run.Out);
        Assert.Contains("0.93", run.Out); // the latest acc
        Assert.Contains("team", run.Out);

        var compared = await server.RunAsync("runs", "compare", project, fast, slow, bad);
        Assert.True(compared.ExitCode == 0, compared.ToString());
        Assert.Contains("lr", compared.Out);
        Assert.Contains("0.01", compared.Out);
        Assert.DoesNotContain("layers", compared.Out); // equal in every run: hidden
        Assert.Contains("1 param(s) equal in every run are hidden", compared.Out);
        Assert.Contains("0.93", compared.Out);
        Assert.Contains("0.85", compared.Out);
        Assert.Contains("█", compared.Out); // each run's trend
        var all = await server.RunAsync("runs", "compare", project, fast, slow, "--all");
        Assert.Contains("layers", all.Out);
        var one = await server.RunAsync("runs", "compare", project, fast);
        Assert.Equal(2, one.ExitCode);

        var history = await server.RunAsync("runs", "metrics", project, fast, "acc");
        Assert.True(history.ExitCode == 0, history.ToString());
        Assert.Contains("▁▄▆██", history.Out); // 0.5, 0.7, 0.8, 0.9, 0.93 in eight levels from the lowest to the highest
        Assert.Contains("5 point(s), min 0.5, max 0.93, last 0.93 at step 4", history.Out);
        var historyJson = await server.RunAsync("--json", "runs", "metrics", project, bad, "loss");
        using (var series = JsonDocument.Parse(historyJson.Out))
        {
            Assert.Equal([1.0, 3.0, 9.0], series.RootElement.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("value").GetDouble()));
        }

        var root = await server.RunAsync("runs", "artifacts", project, fast);
        Assert.True(root.ExitCode == 0, root.ToString());
        Assert.Contains("model/", root.Out);
        Assert.Contains("notes.txt", root.Out);
        var inside = await server.RunAsync("runs", "artifacts", project, fast, "--path", "model");
        Assert.Contains("model/weights.bin", inside.Out);
        Assert.Contains("195 KiB", inside.Out);

        var file = TempPath("weights.bin");
        try
        {
            var downloaded = await server.RunAsync("runs", "download", project, fast, "model/weights.bin", "--output", file);
            Assert.True(downloaded.ExitCode == 0, downloaded.ToString());
            Assert.Equal(weights, await File.ReadAllBytesAsync(file, Ct));

            await File.WriteAllTextAsync(file, "keep me", Ct);
            var refused = await server.RunAsync("runs", "download", project, fast, "model/weights.bin", "--output", file);
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("already exists", refused.Err);
            Assert.Contains("--force", refused.Err);
            Assert.Equal("keep me", await File.ReadAllTextAsync(file, Ct));

            var forced = await server.RunAsync("runs", "download", project, fast, "model/weights.bin", "--output", file, "--force");
            Assert.True(forced.ExitCode == 0, forced.ToString());
            Assert.Equal(weights, await File.ReadAllBytesAsync(file, Ct));

            var absent = await server.RunAsync("runs", "download", project, fast, "model/nothing.bin", "--output", file, "--force");
            Assert.Equal(4, absent.ExitCode);
            Assert.Contains("no artifact 'model/nothing.bin'", absent.Err);
            Assert.Equal(weights, await File.ReadAllBytesAsync(file, Ct)); // a failed download leaves the file alone
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(file)!, "." + Path.GetFileName(file) + ".*.part"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task RunsSearch_WithABadFilter_ExitsSixNamingTheFilter()
    {
        var project = await CreateProjectAsync();

        var run = await server.RunAsync("runs", "search", project, "--filter", "metrics.acc > 'high'");

        Assert.Equal(6, run.ExitCode);
        Assert.Contains("filter", run.Err);
        Assert.Contains("acc", run.Err);
    }

    [Fact]
    public async Task RunsGet_WithAnUnknownRun_ExitsFourNamingIt()
    {
        var project = await CreateProjectAsync();
        var id = new string('e', 32);

        var run = await server.RunAsync("runs", "get", project, id);

        Assert.Equal(4, run.ExitCode);
        Assert.Contains($"Run '{id}' does not exist", run.Err);
    }

    [Theory]
    [InlineData(new[] { 1.0, 2, 3, 4, 5, 6, 7, 8 }, 60, "▁▂▃▄▅▆▇█")]
    [InlineData(new[] { 3.0, 3, 3 }, 60, "▄▄▄")]
    [InlineData(new[] { 8.0, 1 }, 60, "█▁")]
    [InlineData(new[] { 1.0, double.NaN, 2 }, 60, "▁ █")]
    [InlineData(new[] { 1.0, 1, 2, 2, 3, 3 }, 3, "▁▅█")]
    public void Sparkline_DrawsTheSeriesFromLowestToHighest(double[] values, int width, string expected)
    {
        Assert.Equal(expected, Views.Sparkline(values, width));
    }
}
