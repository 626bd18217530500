using System.Text.Json.Nodes;
using Gureum.Server.Tests.Infrastructure;

namespace Gureum.Server.Tests.Mlflow;

/// <summary>
/// MLflow's documented REST API, replayed example by example (documented-examples.json) against a fresh project: at
/// the root with the project's own key, and under the project URI (what MLFLOW_TRACKING_URI points at) with the admin key.
/// </summary>
public sealed class DocumentedExamplesTests(GureumApp app) : IClassFixture<GureumApp>
{
    [Fact]
    public async Task DocumentedExamples_AtTheRoot_WithAProjectKey_BehaveAsMlflowDocuments()
    {
        var project = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(project, "project:read", "project:write");
        await ReplayAsync(app.Client(key), prefix: "");
    }

    [Fact]
    public async Task DocumentedExamples_UnderTheProjectUri_WithTheAdminKey_BehaveAsMlflowDocuments()
    {
        var project = await app.CreateProjectAsync();
        await ReplayAsync(app.Admin(), prefix: $"/v1/projects/{project}/mlflow");
    }

    private static async Task ReplayAsync(HttpClient client, string prefix)
    {
        client.Timeout = TimeSpan.FromMinutes(5);
        var failures = await new MlflowReplay().ReplayAsync(client, prefix, MlflowReplay.LoadExamples());
        Assert.True(failures.Count == 0,
            $"{failures.Count} mismatch(es) with MLflow's documented behaviour (prefix '{prefix}'):\n" + string.Join("\n", failures));
    }
}

/// <summary>The examples file and the matcher the replay relies on; these run without an MLflow server.</summary>
public sealed class MlflowReplaySelfTests
{
    [Fact]
    public void ExamplesFile_IsValidJson_AndEveryExampleIsWellFormed()
    {
        var examples = MlflowReplay.LoadExamples();
        Assert.True(examples.Count > 100, $"only {examples.Count} examples");
        var problems = MlflowReplay.Lint(examples);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void ExamplesFile_CoversEveryEndpointOfIssue5()
    {
        var used = MlflowReplay.LoadExamples()
            .Select(e => $"{e!["request"]!["method"]} {e["request"]!["path"]!.GetValue<string>().Split('{')[0].TrimEnd('/')}")
            .ToHashSet();
        string[] endpoints =
        [
            "POST /api/2.0/mlflow/experiments/create", "GET /api/2.0/mlflow/experiments/get", "GET /api/2.0/mlflow/experiments/get-by-name",
            "POST /api/2.0/mlflow/experiments/search", "POST /api/2.0/mlflow/experiments/update", "POST /api/2.0/mlflow/experiments/delete",
            "POST /api/2.0/mlflow/experiments/restore", "POST /api/2.0/mlflow/experiments/set-experiment-tag",
            "POST /api/2.0/mlflow/runs/create", "GET /api/2.0/mlflow/runs/get", "POST /api/2.0/mlflow/runs/update", "POST /api/2.0/mlflow/runs/delete",
            "POST /api/2.0/mlflow/runs/restore", "POST /api/2.0/mlflow/runs/search", "POST /api/2.0/mlflow/runs/log-metric",
            "POST /api/2.0/mlflow/runs/log-parameter", "POST /api/2.0/mlflow/runs/set-tag", "POST /api/2.0/mlflow/runs/delete-tag",
            "POST /api/2.0/mlflow/runs/log-batch", "GET /api/2.0/mlflow/metrics/get-history",
            "POST /api/2.0/mlflow/registered-models/create", "GET /api/2.0/mlflow/registered-models/get", "PATCH /api/2.0/mlflow/registered-models/update",
            "POST /api/2.0/mlflow/registered-models/rename", "DELETE /api/2.0/mlflow/registered-models/delete", "GET /api/2.0/mlflow/registered-models/search",
            "POST /api/2.0/mlflow/registered-models/get-latest-versions", "POST /api/2.0/mlflow/registered-models/set-tag",
            "DELETE /api/2.0/mlflow/registered-models/delete-tag", "POST /api/2.0/mlflow/registered-models/alias",
            "DELETE /api/2.0/mlflow/registered-models/alias", "GET /api/2.0/mlflow/registered-models/alias",
            "POST /api/2.0/mlflow/model-versions/create", "GET /api/2.0/mlflow/model-versions/get", "PATCH /api/2.0/mlflow/model-versions/update",
            "DELETE /api/2.0/mlflow/model-versions/delete", "GET /api/2.0/mlflow/model-versions/search", "POST /api/2.0/mlflow/model-versions/set-tag",
            "DELETE /api/2.0/mlflow/model-versions/delete-tag",
            "PUT /api/2.0/mlflow-artifacts/artifacts", "GET /api/2.0/mlflow-artifacts/artifacts", "DELETE /api/2.0/mlflow-artifacts/artifacts",
        ];
        var missing = endpoints.Where(e => !used.Contains(e)).ToList();
        Assert.True(missing.Count == 0, "no example for: " + string.Join(", ", missing));
    }

    [Fact]
    public void Matcher_ObjectsArePartial_UnlessExact()
    {
        Assert.Empty(Match("""{"a": 1}""", """{"a": 1.0, "b": 2}"""));
        Assert.NotEmpty(Match("""{"$exact": true, "a": 1}""", """{"a": 1, "b": 2}"""));
        Assert.Empty(Match("""{"$exact": true}""", "{}"));
        Assert.NotEmpty(Match("""{"a": "1"}""", """{"a": 1}""")); // a string is not a number
        Assert.NotEmpty(Match("""{"a": {"b": "x"}}""", """{"a": {}}"""));
    }

    [Fact]
    public void Matcher_Arrays_InOrder_Unordered_Contains_NotContains_Length()
    {
        Assert.Empty(Match("""[{"k": "a"}, {"k": "b"}]""", """[{"k": "a", "v": 1}, {"k": "b"}]"""));
        Assert.NotEmpty(Match("""[{"k": "a"}, {"k": "b"}]""", """[{"k": "b"}, {"k": "a"}]"""));
        Assert.Empty(Match("""{"$unordered": [{"k": "a"}, {"k": "b"}]}""", """[{"k": "b"}, {"k": "a"}]"""));
        Assert.NotEmpty(Match("""{"$unordered": [{"k": "a"}]}""", """[{"k": "b"}, {"k": "a"}]"""));
        Assert.Empty(Match("""{"$contains": [{"k": "a"}]}""", """[{"k": "b"}, {"k": "a"}]"""));
        Assert.NotEmpty(Match("""{"$contains": [{"k": "a"}, {"k": "a"}]}""", """[{"k": "a"}]""")); // each item needs its own match
        Assert.Empty(Match("""{"x": {"$not-contains": [{"k": "c"}]}}""", """{"x": [{"k": "a"}]}"""));
        Assert.Empty(Match("""{"x": {"$not-contains": [{"k": "c"}]}}""", "{}"));
        Assert.NotEmpty(Match("""{"x": {"$not-contains": [{"k": "a"}]}}""", """{"x": [{"k": "a"}]}"""));
        Assert.Empty(Match("""{"$length": 2}""", "[1, 2]"));
        Assert.NotEmpty(Match("""{"$length": 2}""", "[1]"));
    }

    [Fact]
    public void Matcher_Checks()
    {
        Assert.Empty(Match("""{"t": "{{$timestamp}}"}""", """{"t": 1700000000000}"""));
        Assert.NotEmpty(Match("""{"t": "{{$timestamp}}"}""", """{"t": "1700000000000"}""")); // int64 must be a JSON number
        Assert.NotEmpty(Match("""{"t": "{{$timestamp}}"}""", """{"t": 1700000000}""")); // seconds, not ms
        Assert.Empty(Match("""{"id": "{{$hex32}}"}""", """{"id": "0123456789abcdef0123456789abcdef"}"""));
        Assert.NotEmpty(Match("""{"id": "{{$hex32}}"}""", """{"id": "0123456789ABCDEF0123456789ABCDEF"}"""));
        Assert.Empty(Match("""{"n": "{{$numeric-string}}"}""", """{"n": "12"}"""));
        Assert.NotEmpty(Match("""{"n": "{{$numeric-string}}"}""", """{"n": 12}"""));
        Assert.Empty(Match("""{"s": "{{$any-string}}", "n": "{{$any-number}}", "a": "{{$any}}"}""", """{"s": "x", "n": 1.5, "a": false}"""));
        Assert.NotEmpty(Match("""{"a": "{{$any}}"}""", "{}"));
        Assert.Empty(Match("""{"m": "{{$contains:NAME}}"}""", """{"m": "Missing value for required parameter 'name'."}"""));
        Assert.NotEmpty(Match("""{"m": "{{$contains:name}}"}""", """{"m": "bad request"}"""));
        foreach (var empty in new[] { "{}", """{"p": null}""", """{"p": ""}""", """{"p": []}""", """{"p": {}}""" })
        {
            Assert.Empty(Match("""{"p": "{{$absent}}"}""", empty));
        }
        Assert.NotEmpty(Match("""{"p": "{{$absent}}"}""", """{"p": "token"}"""));
    }

    [Fact]
    public void Matcher_CapturesOnce_ThenCompares_AndPatternsCaptureInsideStrings()
    {
        var vars = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        Assert.Empty(Match("""{"id": "{{run:$hex32}}", "same": "{{run}}"}""", """{"id": "0123456789abcdef0123456789abcdef", "same": "0123456789abcdef0123456789abcdef"}""", vars));
        Assert.Equal("0123456789abcdef0123456789abcdef", vars["run"].GetValue<string>());
        Assert.NotEmpty(Match("""{"same": "{{run}}"}""", """{"same": "ffffffffffffffffffffffffffffffff"}""", vars));

        Assert.Empty(Match("""{"uri": "mlflow-artifacts:/{{exp}}/{{run}}/artifacts"}""", """{"uri": "mlflow-artifacts:/7/0123456789abcdef0123456789abcdef/artifacts"}""", vars));
        Assert.Equal("7", vars["exp"].GetValue<string>());
        Assert.NotEmpty(Match("""{"uri": "mlflow-artifacts:/{{exp}}/{{run}}/artifacts"}""", """{"uri": "mlflow-artifacts:/8/0123456789abcdef0123456789abcdef/artifacts"}""", vars));
        Assert.NotEmpty(Match("""{"uri": "mlflow-artifacts:/{{exp}}/{{run}}/artifacts"}""", """{"uri": "s3://bucket/7/0123456789abcdef0123456789abcdef/artifacts"}""", vars));
    }

    [Fact]
    public void Matcher_ContainsBacktracksCapturesOfItemsThatDidNotMatch()
    {
        var vars = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        Assert.Empty(Match("""{"$contains": [{"k": "b", "v": "{{v}}"}]}""", """[{"k": "a", "v": "1"}, {"k": "b", "v": "2"}]""", vars));
        Assert.Equal("2", vars["v"].GetValue<string>());
    }

    [Fact]
    public void Requests_AreFilledFromCaptures_AndGenerators()
    {
        var replay = new MlflowReplay();
        replay.Variables["run_id"] = JsonValue.Create("abc")!;
        replay.Variables["n"] = JsonValue.Create(3)!;
        var body = replay.Substitute(JsonNode.Parse("""
            {"run_id": "{{run_id}}", "n": "{{n}}", "uri": "runs:/{{run_id}}/model", "long": "{{$repeat:5:x}}", "t": "{{$now}}",
             "metrics": {"$generate": 3, "item": {"key": "m{{$i}}", "step": "{{$i}}"}}}
            """))!;
        Assert.Equal("abc", body["run_id"]!.GetValue<string>());
        Assert.Equal(3, body["n"]!.GetValue<int>());
        Assert.Equal("runs:/abc/model", body["uri"]!.GetValue<string>());
        Assert.Equal("xxxxx", body["long"]!.GetValue<string>());
        Assert.True(body["t"]!.GetValue<long>() > 1_600_000_000_000L);
        Assert.Equal(3, body["metrics"]!.AsArray().Count);
        Assert.Equal("m2", body["metrics"]![2]!["key"]!.GetValue<string>());
        Assert.Equal(2, body["metrics"]![2]!["step"]!.GetValue<int>());

        using var request = replay.BuildRequest(JsonNode.Parse("""
            {"method": "GET", "path": "/api/2.0/mlflow/runs/get", "query": {"run_id": "{{run_id}}", "filter": "name = 'a b'"}}
            """)!.AsObject(), "/v1/projects/p1/mlflow/");
        Assert.Equal("/v1/projects/p1/mlflow/api/2.0/mlflow/runs/get?run_id=abc&filter=name%20%3D%20%27a%20b%27", request.RequestUri!.OriginalString);
        Assert.ThrowsAny<InvalidOperationException>(() => new MlflowReplay().Substitute(JsonValue.Create("{{never}}")));
    }

    private static List<string> Match(string expected, string actual, Dictionary<string, JsonNode>? vars = null)
    {
        var errors = new List<string>();
        MlflowReplay.Match(JsonNode.Parse(expected), JsonNode.Parse(actual), present: true, "$", errors, vars ?? new(StringComparer.Ordinal));
        return errors;
    }
}
