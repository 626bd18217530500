using Xunit;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gureum.Cli.Tests;

public sealed partial class CliTests(GureumServer server)
{
    [GeneratedRegex("gur_[a-z2-7]{12}_[A-Za-z0-9_-]{43}")]
    private static partial Regex KeyPattern();

    private async Task<string> CreateProjectAsync()
    {
        var name = GureumServer.UniqueName("p");
        var run = await server.RunAsync("projects", "create", name);
        Assert.True(run.ExitCode == 0, run.ToString());
        return name;
    }

    [Fact]
    public async Task Projects_CreateListGetDelete_RoundTrips()
    {
        var name = GureumServer.UniqueName("p");

        var created = await server.RunAsync("--json", "projects", "create", name, "--description", "made by the CLI");
        Assert.True(created.ExitCode == 0, created.ToString());
        using var project = JsonDocument.Parse(created.Out);
        var id = project.RootElement.GetProperty("id").GetString()!;
        Assert.Equal(name, project.RootElement.GetProperty("name").GetString());
        Assert.Equal("made by the CLI", project.RootElement.GetProperty("description").GetString());

        var listed = await server.RunAsync("projects", "list", "--limit", "200");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains(name, listed.Out);
        Assert.Contains(id, listed.Out);

        var fetched = await server.RunAsync("projects", "get", name);
        Assert.True(fetched.ExitCode == 0, fetched.ToString());
        Assert.Contains(id, fetched.Out);
        Assert.Contains("made by the CLI", fetched.Out);

        var deleted = await server.RunAsync("projects", "delete", id);
        Assert.True(deleted.ExitCode == 0, deleted.ToString());

        var gone = await server.RunAsync("projects", "get", name);
        Assert.Equal(4, gone.ExitCode);
    }

    [Fact]
    public async Task KeysCreate_PrintsTheSecretOnceAndItWorks()
    {
        var project = await CreateProjectAsync();

        var created = await server.RunAsync("keys", "create", project, "ci", "--scope", "project:write");
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Contains("shown only once", created.Out);
        var secret = KeyPattern().Match(created.Out).Value;
        Assert.NotEqual("", secret);

        var fetched = await server.RunWithKeyAsync(secret, "projects", "get", project);
        Assert.True(fetched.ExitCode == 0, fetched.ToString());
        Assert.Contains(project, fetched.Out);

        var listed = await server.RunWithKeyAsync(secret, "--json", "projects", "list");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        using var page = JsonDocument.Parse(listed.Out);
        var names = page.RootElement.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Equal([project], names);

        var keys = await server.RunAsync("keys", "list", project);
        Assert.True(keys.ExitCode == 0, keys.ToString());
        Assert.Contains("ci", keys.Out);
        Assert.DoesNotContain(secret, keys.Out);
    }

    [Fact]
    public async Task KeysRevoke_MakesTheKeyFailWithExitThree()
    {
        var project = await CreateProjectAsync();
        var created = await server.RunAsync("--json", "keys", "create", project, "short-lived");
        Assert.True(created.ExitCode == 0, created.ToString());
        using var body = JsonDocument.Parse(created.Out);
        var secret = body.RootElement.GetProperty("secret").GetString()!;
        var keyId = body.RootElement.GetProperty("key").GetProperty("id").GetString()!;

        var revoked = await server.RunAsync("keys", "revoke", project, keyId);
        Assert.True(revoked.ExitCode == 0, revoked.ToString());

        var refused = await server.RunWithKeyAsync(secret, "projects", "get", project);
        Assert.Equal(3, refused.ExitCode);
        Assert.Contains("revoked", refused.Err);
    }

    [Fact]
    public async Task AdminKeys_CreateListRevoke_RoundTrips()
    {
        var name = GureumServer.UniqueName("admin");

        var created = await server.RunAsync("--json", "admin", "keys", "create", name);
        Assert.True(created.ExitCode == 0, created.ToString());
        using var body = JsonDocument.Parse(created.Out);
        var secret = body.RootElement.GetProperty("secret").GetString()!;
        var keyId = body.RootElement.GetProperty("key").GetProperty("id").GetString()!;

        var listed = await server.RunWithKeyAsync(secret, "admin", "keys", "list", "--limit", "200");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains(name, listed.Out);

        var revoked = await server.RunAsync("admin", "keys", "revoke", keyId);
        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        var refused = await server.RunWithKeyAsync(secret, "admin", "keys", "list");
        Assert.Equal(3, refused.ExitCode);
    }

    [Fact]
    public async Task ProjectsList_WithBadKey_ExitsThreeAndPrintsTheProblemDetail()
    {
        var run = await server.RunWithKeyAsync("gur_aaaaaaaaaaaa_" + new string('x', 43), "projects", "list");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("An API key is required", run.Err);
        Assert.Contains("The API key is not valid", run.Err);
        Assert.Equal("", run.Out);
        Assert.DoesNotContain("   at ", run.Err);
    }

    [Fact]
    public async Task KeysCreate_WithProjectReadKey_ExitsThree()
    {
        var project = await CreateProjectAsync();
        var created = await server.RunAsync("--json", "keys", "create", project, "reader");
        using var body = JsonDocument.Parse(created.Out);
        var reader = body.RootElement.GetProperty("secret").GetString()!;

        var run = await server.RunWithKeyAsync(reader, "keys", "create", project, "escalation", "--scope", "project:write");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("project:write", run.Err);
    }

    [Fact]
    public async Task ProjectsGet_WithUnknownProject_ExitsFour()
    {
        var run = await server.RunAsync("projects", "get", GureumServer.UniqueName("missing"));

        Assert.Equal(4, run.ExitCode);
        Assert.Contains("Not found", run.Err);
        Assert.Contains("was not found", run.Err);
    }

    [Fact]
    public async Task ProjectsCreate_WithExistingName_ExitsFive()
    {
        var project = await CreateProjectAsync();

        var run = await server.RunAsync("projects", "create", project);

        Assert.Equal(5, run.ExitCode);
        Assert.Contains("already exists", run.Err);
    }

    [Fact]
    public async Task ProjectsCreate_WithInvalidName_ExitsSixAndNamesTheField()
    {
        var run = await server.RunAsync("projects", "create", "Not A Valid Name!");

        Assert.Equal(6, run.ExitCode);
        Assert.Contains("The request has invalid fields", run.Err);
        Assert.Contains("name: 'name' must be", run.Err);
    }

    [Fact]
    public async Task JobsSubmit_WithUnknownKind_ExitsSixAndNamesTheField()
    {
        var project = await CreateProjectAsync();

        var run = await server.RunAsync("jobs", "submit", project, "no.such.kind");

        Assert.Equal(6, run.ExitCode);
        Assert.Contains("kind:", run.Err);
    }

    [Fact]
    public async Task ProjectsList_WithServerUnreachable_ExitsSeven()
    {
        var url = $"http://127.0.0.1:{GureumServer.FreePort()}";

        var run = await GureumServer.RunCliAsync(null, "--url", url, "--key", server.AdminKey, "projects", "list");

        Assert.Equal(7, run.ExitCode);
        Assert.Contains("Cannot reach the Gureum server", run.Err);
        Assert.DoesNotContain("   at ", run.Err);
    }

    [Fact]
    public async Task JobsWatch_OfAWaitJob_ExitsZeroAndShowsHundredPercent()
    {
        var project = await CreateProjectAsync();
        var submitted = await server.RunAsync("--json", "jobs", "submit", project, "diagnostics.wait", "--input", """{"steps":3,"stepMilliseconds":100}""");
        Assert.True(submitted.ExitCode == 0, submitted.ToString());
        using var job = JsonDocument.Parse(submitted.Out);
        var jobId = job.RootElement.GetProperty("id").GetString()!;

        var watched = await server.RunAsync("jobs", "watch", project, jobId);

        Assert.True(watched.ExitCode == 0, watched.ToString());
        Assert.Contains("100%", watched.Out);
        Assert.Contains("succeeded", watched.Out);

        var fetched = await server.RunAsync("--json", "jobs", "get", project, jobId);
        using var final = JsonDocument.Parse(fetched.Out);
        Assert.Equal("succeeded", final.RootElement.GetProperty("status").GetString());
        Assert.Equal(3, final.RootElement.GetProperty("result").GetProperty("steps").GetInt32());
    }

    [Fact]
    public async Task JobsWatch_OfACancelledJob_ExitsEight()
    {
        var project = await CreateProjectAsync();
        var submitted = await server.RunAsync("--json", "jobs", "submit", project, "diagnostics.wait", "--input", """{"steps":600,"stepMilliseconds":100}""");
        using var job = JsonDocument.Parse(submitted.Out);
        var jobId = job.RootElement.GetProperty("id").GetString()!;

        var cancelled = await server.RunAsync("jobs", "cancel", project, jobId);
        Assert.True(cancelled.ExitCode == 0, cancelled.ToString());
        var watched = await server.RunAsync("jobs", "watch", project, jobId);

        Assert.Equal(8, watched.ExitCode);
        Assert.Contains("cancelled", watched.Err);
    }

    [Fact]
    public async Task JsonFlag_PrintsParseableJson()
    {
        var project = await CreateProjectAsync();
        var submitted = await server.RunAsync("--json", "jobs", "submit", project, "diagnostics.wait", "--input", """{"steps":1,"stepMilliseconds":0}""");
        using var job = JsonDocument.Parse(submitted.Out);
        var jobId = job.RootElement.GetProperty("id").GetString()!;

        var watched = await server.RunAsync("--json", "jobs", "watch", project, jobId);
        Assert.True(watched.ExitCode == 0, watched.ToString());
        var events = watched.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line)).ToList();
        Assert.Equal("succeeded", events[^1].RootElement.GetProperty("data").GetProperty("status").GetString());
        events.ForEach(e => e.Dispose());

        string[][] commands = [["projects", "list"], ["projects", "get", project], ["keys", "list", project], ["jobs", "list", project], ["jobs", "get", project, jobId], ["health"]];
        foreach (var args in commands)
        {
            var run = await server.RunAsync(["--json", .. args]);
            Assert.True(run.ExitCode == 0, string.Join(' ', args) + ": " + run);
            using var parsed = JsonDocument.Parse(run.Out);
            Assert.Equal(JsonValueKind.Object, parsed.RootElement.ValueKind);
        }
    }

    [Fact]
    public async Task UnknownCommand_ExitsTwo()
    {
        var run = await server.RunAsync("projects", "frobnicate");

        Assert.Equal(2, run.ExitCode);
        Assert.NotEqual("", run.Err);
    }

    [Fact]
    public async Task Serve_SaysToUseTheRepositoryScript()
    {
        var run = await GureumServer.RunCliAsync(null, "serve", "--data", "/tmp/x");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("./gureum serve", run.Err);
    }

    [Fact]
    public async Task Help_DocumentsTheExitCodes()
    {
        var run = await GureumServer.RunCliAsync(null, "--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Exit codes:", run.Out);
        Assert.Contains("server unreachable", run.Out);
    }
}
