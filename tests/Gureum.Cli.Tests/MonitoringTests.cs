using System.Text.Json;
using Xunit;

namespace Gureum.Cli.Tests;

/// <summary>drift, alerts, approvals and retraining-runs against an AutoML endpoint on iris.</summary>
public sealed class MonitoringTests(GureumServer server)
{
    private static string Iris()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Gureum.slnx"))) directory = directory.Parent;
        return Path.GetFullPath(Path.Combine(directory!.FullName, "..", "shared", "testdata", "datasets", "iris.csv"));
    }

    [Fact]
    public async Task Nodes_ListsThisNodeAlive_AndNeedAnAdminKey()
    {
        var run = await server.RunAsync("nodes");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("yes", run.Out);
        var json = await server.RunAsync("--json", "nodes");
        var node = Assert.Single(JsonDocument.Parse(json.Out).RootElement.EnumerateArray());
        Assert.True(node.GetProperty("alive").GetBoolean());
        Assert.True(node.GetProperty("cores").GetInt32() >= 1);
        var project = GureumServer.UniqueName("p");
        Assert.Equal(0, (await server.RunAsync("projects", "create", project)).ExitCode);
        var key = await server.RunAsync("--json", "keys", "create", project, "reader", "--scope", "project:read");
        var secret = JsonDocument.Parse(key.Out).RootElement.GetProperty("secret").GetString()!;
        Assert.Equal(3, (await server.RunWithKeyAsync(secret, "nodes")).ExitCode);
    }

    [Fact]
    public async Task Drift_PrintsEachFeatureWithItsSeverity_AndTheInboxAndAlertsSayWhenEmpty()
    {
        var project = GureumServer.UniqueName("p");
        Assert.Equal(0, (await server.RunAsync("projects", "create", project)).ExitCode);
        Assert.Equal(0, (await server.RunAsync("datasets", "upload", project, "iris", Iris(), "--create")).ExitCode);
        var trained = await server.RunAsync("train", project, "iris", "--target", "species", "--budget", "3");
        Assert.True(trained.ExitCode == 0, trained.ToString());
        var id = trained.Out.Split('\n').First(l => l.StartsWith("Training ", StringComparison.Ordinal)).Split(' ')[1].TrimEnd(':');
        var registered = await server.RunAsync("models", "register", project, "iris", "--training-job", id, "--create");
        Assert.True(registered.ExitCode == 0, registered.ToString());
        var deployed = await server.RunAsync("deploy", project, "iris:1", "--name", "iris", "--sample-rate", "1");
        Assert.True(deployed.ExitCode == 0, deployed.ToString());

        // Petal lengths far beyond anything in training; the other columns as they were.
        var records = File.ReadLines(Iris()).Skip(1).Select(l => l.Split(',')).Select(v => new Dictionary<string, object>
        {
            ["sepal_length"] = double.Parse(v[0], System.Globalization.CultureInfo.InvariantCulture), ["sepal_width"] = double.Parse(v[1], System.Globalization.CultureInfo.InvariantCulture),
            ["petal_length"] = double.Parse(v[2], System.Globalization.CultureInfo.InvariantCulture) + 20, ["petal_width"] = double.Parse(v[3], System.Globalization.CultureInfo.InvariantCulture),
        }).ToList();
        var file = Path.Combine(Path.GetTempPath(), GureumServer.UniqueName("rows") + ".json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new { records }));
        try
        {
            Assert.Equal(0, (await server.RunAsync("predict", project, "iris", "--file", file)).ExitCode);
        }
        finally
        {
            File.Delete(file);
        }
        CliRun drift;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Task.Delay(300);
            drift = await server.RunAsync("drift", project, "iris", "--window", "1h");
            Assert.True(drift.ExitCode == 0, drift.ToString());
        } while (!drift.Out.Contains("150 live rows", StringComparison.Ordinal) && DateTime.UtcNow < deadline);
        Assert.Contains("150 live rows", drift.Out);
        var petal = drift.Out.Split('\n').First(l => l.Contains("petal_length", StringComparison.Ordinal));
        Assert.Contains("high", petal);
        var sepal = drift.Out.Split('\n').First(l => l.Contains("sepal_width", StringComparison.Ordinal));
        Assert.Contains("none", sepal);

        Assert.Equal(6, (await server.RunAsync("drift", project, "iris", "--window", "forever")).ExitCode);
        var inbox = await server.RunAsync("approvals", "list", project);
        Assert.True(inbox.ExitCode == 0, inbox.ToString());
        Assert.Contains("Nothing waits for approval", inbox.Out);
        Assert.Equal(4, (await server.RunAsync("approvals", "approve", project, "01jnotarun0000000000000000")).ExitCode);
        var alerts = await server.RunAsync("--json", "alerts", project, "iris");
        Assert.True(alerts.ExitCode == 0, alerts.ToString());
        Assert.Empty(JsonDocument.Parse(alerts.Out).RootElement.GetProperty("items").EnumerateArray());

        // Alert rules: added, listed, refused with the field named, deleted.
        var added = await server.RunAsync("--json", "alert-rules", "add", project, "iris", "--kind", "drift", "--severity", "high", "--window", "1d");
        Assert.True(added.ExitCode == 0, added.ToString());
        var ruleId = JsonDocument.Parse(added.Out).RootElement.GetProperty("id").GetString()!;
        var rules = await server.RunAsync("alert-rules", "list", project, "iris");
        Assert.Contains(ruleId, rules.Out);
        Assert.Contains("high", rules.Out);
        Assert.Equal(2, (await server.RunAsync("alert-rules", "add", project, "iris", "--kind", "vibes")).ExitCode);
        var noThreshold = await server.RunAsync("alert-rules", "add", project, "iris", "--kind", "latency-p99");
        Assert.Equal(6, noThreshold.ExitCode);
        Assert.Contains("threshold", noThreshold.Err);
        Assert.Equal(0, (await server.RunAsync("alert-rules", "delete", project, "iris", ruleId)).ExitCode);
        Assert.Contains("No alert rules", (await server.RunAsync("alert-rules", "list", project, "iris")).Out);

        // A retraining policy from a file: a misspelt field is named before anything is sent; the saved policy reads back.
        var policy = Path.Combine(Path.GetTempPath(), GureumServer.UniqueName("policy") + ".json");
        try
        {
            await File.WriteAllTextAsync(policy, """{"training": {"budgetSecs": 3}}""");
            var misspelt = await server.RunAsync("retraining-policy", "set", project, "iris", "--file", policy);
            Assert.Equal(2, misspelt.ExitCode);
            Assert.Contains("budgetSecs", misspelt.Err);
            await File.WriteAllTextAsync(policy, """
                // comments are allowed
                {"triggers": {"alerts": ["drift"]}, "training": {"budgetSeconds": 3}, "promotion": {"margin": 0.5},
                 "smokeTest": {"samples": 0}, "requireApproval": true}
                """);
            var saved = await server.RunAsync("retraining-policy", "set", project, "iris", "--file", policy);
            Assert.True(saved.ExitCode == 0, saved.ToString());
        }
        finally
        {
            File.Delete(policy);
        }
        var read = await server.RunAsync("--json", "retraining-policy", "get", project, "iris");
        Assert.Equal(3, JsonDocument.Parse(read.Out).RootElement.GetProperty("spec").GetProperty("training").GetProperty("budgetSeconds").GetInt32());
        var started = await server.RunAsync("--json", "retraining-policy", "run", project, "iris");
        Assert.True(started.ExitCode == 0, started.ToString());
        var runId = JsonDocument.Parse(started.Out).RootElement.GetProperty("id").GetString()!;
        // A margin of 0.5 cannot be beaten: the run ends not-better and the champion stays.
        var runDeadline = DateTime.UtcNow.AddSeconds(90);
        string status;
        do
        {
            await Task.Delay(500);
            status = JsonDocument.Parse((await server.RunAsync("--json", "retraining-runs", "get", project, runId)).Out).RootElement.GetProperty("status").GetString()!;
        } while (status is "queued" or "training" or "evaluating" && DateTime.UtcNow < runDeadline);
        Assert.Equal("not-better", status);
        var runs = await server.RunAsync("retraining-runs", "list", project, "iris");
        Assert.Contains(runId, runs.Out);
        Assert.Contains("not-better", runs.Out);
        Assert.Equal(0, (await server.RunAsync("retraining-policy", "delete", project, "iris")).ExitCode);
        Assert.Equal(4, (await server.RunAsync("retraining-policy", "get", project, "iris")).ExitCode);
    }
}
