using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>Serving: <c>deploy</c> (create or change an endpoint and wait for it), <c>predict</c>, and the <c>endpoints</c> commands.</summary>
internal sealed partial class Commands
{
    private Command Deploy()
    {
        var project = ProjectArgument();
        var targets = new Argument<string[]>("MODEL:VERSION")
        {
            Description = "What serves: a version number or an alias (the endpoint then follows the alias); several split the traffic, " +
                          "each MODEL:VERSION=WEIGHT (default weight 1)",
            Arity = ArgumentArity.OneOrMore,
        };
        var name = new Option<string>("--name") { Description = "The endpoint's name (created, or changed when it exists)", Required = true, HelpName = "NAME" };
        var shadows = new Option<string[]>("--shadow")
        {
            Description = "Also send a copy of every request to MODEL:VERSION, logging its answers only (repeatable)",
            HelpName = "MODEL:VERSION",
            AllowMultipleArgumentsPerToken = false,
        };
        var maxBatch = new Option<int?>("--max-batch-size") { Description = "ONNX: rows per batched run, 1-4096 (default 32; 1 turns batching off)", HelpName = "N" };
        var maxDelay = new Option<double?>("--max-delay-ms") { Description = "ONNX: how long a request waits for others to batch with, 0-1000 ms (default 1)", HelpName = "MS" };
        var maxQueue = new Option<int?>("--max-queue") { Description = "Requests waiting per version before 429s, 1-100000 (default 1024)", HelpName = "N" };
        var timeout = new Option<int?>("--timeout-ms") { Description = "Time limit of one prediction, 1-600000 ms (default 30000)", HelpName = "MS" };
        var sampleRate = new Option<double?>("--sample-rate") { Description = "Share of predictions logged as samples, 0-1 (default 0.01)", HelpName = "RATE" };
        var threads = new Option<int?>("--intra-op-threads") { Description = "ONNX Runtime threads per run, 0-256 (default 1; 0: runtime's choice)", HelpName = "N" };
        var device = new Option<string?>("--device") { Description = "ONNX Runtime device (default cpu)", HelpName = "cpu|cuda|auto" };
        device.AcceptOnlyFromAmong("cpu", "cuda", "auto");
        var noWait = new Option<bool>("--no-wait") { Description = "Return once the server accepted it, without waiting for the models to load" };
        var waitSeconds = new Option<int>("--wait-timeout")
        {
            Description = "Give up waiting after this many seconds (exit code 7; the endpoint goes on loading)",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => 600,
        };
        var deploy = new Command("deploy", """
            Serve registered model versions under an endpoint name, then wait until they serve (status on stderr).
            When the endpoint exists, its whole spec is replaced with no downtime: the new versions load and warm up beside
            those serving, then traffic moves; settings not given keep the endpoint's current values. Exit code 8 with the
            server's reason when the models fail to load (after a failed change the previous versions keep serving).
              gureum deploy PROJECT iris:3 --name iris
              gureum deploy PROJECT iris:champion=9 iris:challenger=1 --shadow iris:5 --name iris
            """)
        {
            project, targets, name, shadows, maxBatch, maxDelay, maxQueue, timeout, sampleRate, threads, device, noWait, waitSeconds,
        };
        Set(deploy, async (s, p, ct) =>
        {
            var (projectName, endpoint) = (p.GetValue(project)!, p.GetValue(name)!);
            List<Deployment> deployments =
            [
                .. (p.GetValue(targets) ?? []).Select(t => ServingViews.ParseTarget(t, shadow: false)),
                .. (p.GetValue(shadows) ?? []).Select(t => ServingViews.ParseTarget(t, shadow: true)),
            ];
            if (p.GetValue(waitSeconds) < 1)
            {
                throw new UsageException("--wait-timeout must be 1 second or more.");
            }
            ServingEndpoint? before = null;
            try
            {
                before = await s.Client.GetEndpointAsync(projectName, endpoint, ct);
            }
            catch (GureumApiException e) when (e.Status == 404)
            {
                // A new endpoint (a missing project is reported by the create below).
            }
            // A change replaces the whole spec: what is not given here keeps the endpoint's current value.
            var current = before?.Spec;
            var b = current?.Batching ?? new BatchingSettings();
            var batching = b with { MaxBatchSize = p.GetValue(maxBatch) ?? b.MaxBatchSize, MaxDelayMs = p.GetValue(maxDelay) ?? b.MaxDelayMs, MaxQueue = p.GetValue(maxQueue) ?? b.MaxQueue };
            var r = current?.Runtime ?? new RuntimeSettings();
            var runtime = r with { IntraOpThreads = p.GetValue(threads) ?? r.IntraOpThreads, Device = p.GetValue(device) ?? r.Device };
            var spec = new EndpointSpec(deployments, batching == new BatchingSettings() ? null : batching, runtime == new RuntimeSettings() ? null : runtime,
                p.GetValue(timeout) ?? current?.TimeoutMs, current?.MaxRowsPerRequest, current?.MaxBodyBytes, p.GetValue(sampleRate) ?? current?.SampleRate);

            ServingEndpoint accepted;
            if (before is null)
            {
                try
                {
                    var key = Guid.NewGuid().ToString();
                    accepted = await IdempotentRetry.RunAsync(s, "Create", () => s.Client.CreateEndpointAsync(projectName, endpoint, spec, key, ct), ct);
                }
                catch (GureumApiException e) when (e.Type == "urn:gureum:problem:conflict")
                {
                    // Created by someone else since we looked: change it instead.
                    before = await s.Client.GetEndpointAsync(projectName, endpoint, ct);
                    accepted = await s.Client.UpdateEndpointAsync(projectName, endpoint, spec, ct);
                }
            }
            else
            {
                accepted = await s.Client.UpdateEndpointAsync(projectName, endpoint, spec, ct);
            }
            if (!s.Json)
            {
                s.Out.MarkupLine(before is null
                    ? $"[green]Created endpoint[/] [bold]{Markup.Escape(accepted.Name)}[/] serving {Markup.Escape(ServingViews.Targets(spec))}"
                    : $"[green]Changing endpoint[/] [bold]{Markup.Escape(accepted.Name)}[/] (change {accepted.Generation}) to {Markup.Escape(ServingViews.Targets(spec))}; " +
                      "what serves now keeps serving until the new versions are ready");
            }
            if (p.GetValue(noWait))
            {
                if (s.Json) s.WriteJson(accepted);
                else s.Out.MarkupLine($"Follow it with: gureum endpoints get {Markup.Escape(projectName)} {Markup.Escape(accepted.Name)}");
                return ExitCodes.Ok;
            }
            var (final, code) = await EndpointWait.RunAsync(s, projectName, accepted, before, TimeSpan.FromSeconds(p.GetValue(waitSeconds)), ct);
            if (code != ExitCodes.Ok)
            {
                return code;
            }
            if (s.Json)
            {
                s.WriteJson(final);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]Endpoint[/] [bold]{Markup.Escape(final.Name)}[/] [green]is ready[/]; predict with: gureum predict {Markup.Escape(projectName)} {Markup.Escape(final.Name)} --file rows.json");
            ServingViews.WriteServing(s, final);
            return ExitCodes.Ok;
        });
        return deploy;
    }

    private Command Predict()
    {
        var project = ProjectArgument();
        var endpoint = EndpointArgument();
        var file = new Option<string>("--file", "-f")
        {
            Description = """The request as JSON ('-' reads stdin): {"inputs": {NAME: nested array}} for ONNX models, {"records": [...]} or a bare array of records for AutoML models""",
            HelpName = "FILE",
            Required = true,
        };
        var explain = new Option<bool>("--explain") { Description = "AutoML models: add each column's contribution to each prediction" };
        var predict = new Command("predict", """
            Ask an endpoint for predictions. AutoML predictions print as a table (label or score, probability, and the top
            contributions with --explain); ONNX outputs as compact JSON per output name. --json prints the server's answer.
            A request the model refuses exits with code 6, naming the field (e.g. inputs.x).
            """)
        {
            project, endpoint, file, explain,
        };
        Set(predict, async (s, p, ct) =>
        {
            var body = await ReadPredictBodyAsync(p.GetValue(file)!, ct);
            var answer = await s.Client.PredictAsync(p.GetValue(project)!, p.GetValue(endpoint)!, body, p.GetValue(explain), ct);
            if (s.Json) s.WriteJson(answer);
            else ServingViews.WriteAnswer(s, answer);
            return ExitCodes.Ok;
        });
        return predict;
    }

    /// <summary>The file (or stdin) as a predict body: an object as it is, a bare array of records wrapped as <c>{"records": [...]}</c>.</summary>
    private static async Task<JsonElement> ReadPredictBodyAsync(string path, CancellationToken ct)
    {
        string text;
        if (path == "-")
        {
            using var reader = new StreamReader(Console.OpenStandardInput());
            text = await reader.ReadToEndAsync(ct);
        }
        else
        {
            if (Directory.Exists(path))
            {
                throw new UsageException($"'{path}' is a directory; give the path of a JSON file.");
            }
            if (!File.Exists(path))
            {
                throw new UsageException(Path.IsPathFullyQualified(path)
                    ? $"The file '{path}' does not exist."
                    : $"The file '{path}' does not exist (looked for {Path.GetFullPath(path)}).");
            }
            text = await File.ReadAllTextAsync(path, ct);
        }
        var source = path == "-" ? "stdin" : $"'{path}'";
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(text);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new UsageException($"{source} is not valid JSON: {e.Message}");
        }
        return root.ValueKind switch
        {
            JsonValueKind.Object => root,
            JsonValueKind.Array => JsonSerializer.SerializeToElement(new { records = root }),
            _ => throw new UsageException(
                $"{source} must hold a JSON object ({{\"inputs\": ...}} or {{\"records\": [...]}}) or an array of records, not a {root.ValueKind.ToString().ToLowerInvariant()}."),
        };
    }

    private Command Endpoints()
    {
        var listProject = ProjectArgument();
        var list = new Command("list", "List a project's endpoints with their status and what serves") { listProject };
        Show(list, (s, p, ct) => s.Client.ListEndpointsAsync(p.GetValue(listProject)!, ct), (s, found) =>
        {
            var table = Views.Table("NAME", "STATUS", "SERVING", "CHANGES", "NOTE", "UPDATED");
            foreach (var e in found.Items)
            {
                table.AddRow(Views.Escape(e.Name), ServingViews.Status(e), Views.Escape(ServingViews.Targets(e.Spec)),
                    Views.Escape(e.Generation.ToString(CultureInfo.InvariantCulture)), Views.Escape(e.Reason ?? e.Update), Views.Escape(Views.Time(e.UpdatedAt)));
            }
            Views.WritePage(s, table, found.Items.Count, null, "");
        });

        var getProject = ProjectArgument();
        var getEndpoint = EndpointArgument();
        var get = new Command("get", "Show an endpoint: status, the latest change, its settings, and each version serving with its traffic share, counts, latency and memory")
        {
            getProject, getEndpoint,
        };
        Show(get, (s, p, ct) => s.Client.GetEndpointAsync(p.GetValue(getProject)!, p.GetValue(getEndpoint)!, ct), ServingViews.WriteEndpoint);

        var deleteProject = ProjectArgument();
        var deleteEndpoint = EndpointArgument();
        var delete = new Command("delete", "Delete an endpoint and unload its models") { deleteProject, deleteEndpoint };
        Set(delete, async (s, p, ct) =>
        {
            var endpoint = p.GetValue(deleteEndpoint)!;
            await s.Client.DeleteEndpointAsync(p.GetValue(deleteProject)!, endpoint, ct);
            if (s.Json) s.WriteJson(new { deleted = endpoint });
            else s.Out.MarkupLine($"[green]Deleted endpoint[/] [bold]{Markup.Escape(endpoint)}[/]");
            return ExitCodes.Ok;
        });

        var samplesProject = ProjectArgument();
        var samplesEndpoint = EndpointArgument();
        var limit = new Option<int?>("--limit") { Description = "How many, 1-200 (default 50)", HelpName = "N" };
        var samples = new Command("samples", "The latest sampled predictions, newest first, with their inputs and outputs (shadow answers too)")
        {
            samplesProject, samplesEndpoint, limit,
        };
        Show(samples, (s, p, ct) => s.Client.ListPredictionSamplesAsync(p.GetValue(samplesProject)!, p.GetValue(samplesEndpoint)!, p.GetValue(limit), ct), (s, found) =>
        {
            var table = Views.Table("AT", "VERSION", "STATUS", "LATENCY", "REQUEST", "INPUT", "OUTPUT");
            foreach (var sample in found)
            {
                table.AddRow(Views.Cells(Views.Time(sample.At), $"{sample.Model}:v{sample.Version}{(sample.Shadow ? " (shadow)" : "")}",
                    sample.Status.ToString(CultureInfo.InvariantCulture), ServingViews.Milliseconds(sample.LatencyMs), sample.RequestId,
                    ServingViews.Shorten(sample.Input, 60), ServingViews.Shorten(sample.Output, 60)));
            }
            Views.WritePage(s, table, found.Count, null, "");
        });

        return new Command("endpoints", "Serving endpoints: create or change them with 'gureum deploy', call them with 'gureum predict'")
        {
            list, get, delete, samples,
        };
    }

    private static Argument<string> EndpointArgument() => new("NAME") { Description = "Endpoint name" };
}

/// <summary>
/// Waits for a created or changed endpoint: until it serves the spec it was given (ready), its load fails, someone else
/// changes it, or the time is up. The state goes to stderr: a spinner on a terminal, a line per change otherwise.
/// </summary>
internal static class EndpointWait
{
    /// <summary>How long an endpoint that had failed before the change may still show that old failure before it counts.</summary>
    private static readonly TimeSpan StaleFailure = TimeSpan.FromSeconds(10);

    public static async Task<(ServingEndpoint Endpoint, int ExitCode)> RunAsync(
        Session s, string project, ServingEndpoint accepted, ServingEndpoint? before, TimeSpan timeout, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        var endpoint = accepted;
        string? shown = null;

        async Task<int?> Poll(Action<string> show)
        {
            while (true)
            {
                var state = Describe(endpoint);
                if (state != shown)
                {
                    show(state);
                    shown = state;
                }
                if (Outcome(endpoint) is { } outcome)
                {
                    return outcome;
                }
                if (DateTime.UtcNow - started > timeout)
                {
                    Actions.Problem(s.Err, $"Endpoint {endpoint.Name} is not ready after {timeout.TotalSeconds:0} seconds",
                        $"It is {state}. It goes on loading; follow it with: gureum endpoints get {project} {endpoint.Name}", null);
                    return ExitCodes.Unreachable;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
                endpoint = await s.Client.GetEndpointAsync(project, accepted.Name, ct);
            }
        }

        int? code;
        if (s.Err.Profile.Capabilities.Interactive)
        {
            code = await s.Err.Status().Spinner(Spinner.Known.Dots).StartAsync(Markup.Escape($"{accepted.Name}: loading"), context =>
                Poll(state => context.Status(Markup.Escape($"{accepted.Name}: {state}"))));
        }
        else
        {
            code = await Poll(state => s.Err.MarkupLine(Markup.Escape($"{accepted.Name}: {state}")));
        }
        return (endpoint, code ?? ExitCodes.Ok);

        // null: keep waiting.
        int? Outcome(ServingEndpoint e)
        {
            if (e.Generation != accepted.Generation)
            {
                Actions.Problem(s.Err, $"Endpoint {e.Name} was changed again by someone else while it loaded",
                    $"It is now at change {e.Generation} serving {ServingViews.Targets(e.Spec)}; see gureum endpoints get {project} {e.Name}", null);
                return ExitCodes.Conflict;
            }
            if (e.Update?.StartsWith("failed", StringComparison.Ordinal) == true)
            {
                Actions.Problem(s.Err, $"The change of endpoint {e.Name} failed", e.Update, null);
                return ExitCodes.JobNotSucceeded;
            }
            if (e.Status == "failed")
            {
                // An endpoint that had failed still shows that failure until the change's own load ends.
                var stale = before is { Status: "failed" } && before.Reason == e.Reason && DateTime.UtcNow - started < StaleFailure;
                if (stale)
                {
                    return null;
                }
                Actions.Problem(s.Err, $"Endpoint {e.Name} failed to load", e.Reason, null);
                return ExitCodes.JobNotSucceeded;
            }
            return e.IsReady && ServesSpec(e) ? ExitCodes.Ok : null;
        }
    }

    /// <summary>Every deployment of the spec serves with its weight (a ready state from before the change does not count).</summary>
    private static bool ServesSpec(ServingEndpoint e)
    {
        var wanted = e.Spec.Deployments
            .Select(d => (d.Model, d.Alias is null ? d.Version : null, d.Alias, d.Shadow, d.Shadow ? 0 : d.Weight ?? 1))
            .OrderBy(x => x.ToString(), StringComparer.Ordinal);
        var serving = e.Serving
            .Select(v => (v.Model, v.Alias is null ? (int?)v.Version : null, v.Alias, v.Shadow, v.Weight))
            .OrderBy(x => x.ToString(), StringComparer.Ordinal);
        return wanted.SequenceEqual(serving);
    }

    private static string Describe(ServingEndpoint e)
    {
        var text = e.Status == "failed" ? "failed" : e.Status;
        if (e.Update is { } update && !update.StartsWith("failed", StringComparison.Ordinal))
        {
            text += ", change " + update;
        }
        if (e.Serving.Count > 0)
        {
            text += "; serving " + string.Join(", ", e.Serving.Select(ServingViews.Served));
        }
        return text;
    }
}

/// <summary>How endpoints, what they serve and their answers look.</summary>
internal static class ServingViews
{
    /// <summary><c>MODEL:VERSION[=WEIGHT]</c>, VERSION a number or an alias; a shadow takes no weight.</summary>
    public static Deployment ParseTarget(string text, bool shadow)
    {
        var option = shadow ? "--shadow " : "";
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new UsageException($"{option}'{text}' must look like MODEL:VERSION, e.g. iris:3 or iris:champion{(shadow ? "" : ", with =WEIGHT to split traffic (iris:3=9)")}.");
        }
        var (model, rest) = (text[..colon], text[(colon + 1)..]);
        double? weight = null;
        if (rest.IndexOf('=', StringComparison.Ordinal) is var equals and >= 0)
        {
            if (shadow)
            {
                throw new UsageException($"--shadow '{text}': a shadow gets a copy of every request, so it takes no weight.");
            }
            if (!double.TryParse(rest[(equals + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var w) || !double.IsFinite(w) || w < 0)
            {
                throw new UsageException($"'{text}': the weight after '=' must be a number of 0 or more, e.g. iris:3=9.");
            }
            (rest, weight) = (rest[..equals], w);
        }
        if (rest.Length == 0)
        {
            throw new UsageException($"{option}'{text}' names no version: give a number or an alias after ':'.");
        }
        return int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? new Deployment(model, Version: number, Weight: weight, Shadow: shadow)
            : new Deployment(model, Alias: rest, Weight: weight, Shadow: shadow);
    }

    /// <summary>e.g. <c>iris:3 ×9, iris:champion ×1, iris:5 (shadow)</c>.</summary>
    public static string Targets(EndpointSpec spec)
    {
        var weighted = spec.Deployments.Count(d => !d.Shadow) > 1;
        return string.Join(", ", spec.Deployments.Select(d =>
            $"{d.Model}:{d.Alias ?? d.Version?.ToString(CultureInfo.InvariantCulture)}" +
            (d.Shadow ? " (shadow)" : weighted ? " ×" + Views.Number(d.Weight ?? 1) : "")));
    }

    /// <summary>e.g. <c>iris:v3</c>, <c>iris:v4 (champion)</c>, <c>iris:v5 (shadow)</c>.</summary>
    public static string Served(ServedVersion v) =>
        $"{v.Model}:v{v.Version}" + (v.Alias is null ? "" : $" ({v.Alias})") + (v.Shadow ? " (shadow)" : "");

    public static string Status(ServingEndpoint e) => e.Status switch
    {
        "ready" when e.Update?.StartsWith("failed", StringComparison.Ordinal) == true => "[yellow]ready, change failed[/]",
        "ready" when e.Update is not null => "[blue]ready, changing[/]",
        "ready" => "[green]ready[/]",
        "failed" => "[red]failed[/]",
        var other => Views.Escape(other),
    };

    public static string Milliseconds(double? ms) => ms is { } v ? v.ToString(v < 10 ? "0.##" : "0.#", CultureInfo.InvariantCulture) + " ms" : "";

    public static string Shorten(string text, int max)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= max ? line : line[..(max - 1)] + "…";
    }

    public static void WriteEndpoint(Session s, ServingEndpoint e)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        void Row(string name, string markup) => grid.AddRow($"[bold]{name}[/]", markup);
        Row("name", Views.Escape(e.Name));
        Row("id", Views.Escape(e.Id));
        Row("status", Status(e));
        if (e.Reason is not null)
        {
            Row("reason", $"[red]{Views.Escape(e.Reason)}[/]");
        }
        if (e.Update is not null)
        {
            Row("update", e.Update.StartsWith("failed", StringComparison.Ordinal) ? $"[yellow]{Views.Escape(e.Update)}[/]" : Views.Escape(e.Update));
        }
        Row("deployments", Views.Escape(Targets(e.Spec)));
        Row("changes", e.Generation.ToString(CultureInfo.InvariantCulture));
        Row("settings", Views.Escape(Settings(e.Spec)));
        Row("predict", Views.Escape("POST " + e.Predict));
        Row("infer (V2)", Views.Escape("POST " + e.Infer));
        if (e.DroppedSamples > 0)
        {
            Row("dropped samples", Views.Count(e.DroppedSamples));
        }
        Row("created", Views.Time(e.CreatedAt));
        Row("updated", Views.Time(e.UpdatedAt));
        s.Out.Write(grid);
        WriteServing(s, e);
    }

    public static void WriteServing(Session s, ServingEndpoint e)
    {
        if (e.Serving.Count == 0)
        {
            s.Out.MarkupLine("[grey]Nothing serves yet.[/]");
            return;
        }
        var total = e.Serving.Where(v => !v.Shadow).Sum(v => v.Weight);
        var table = Views.Table("MODEL", "VERSION", "WEIGHT", "REQUESTS", "ERRORS", "P50", "P99", "BATCH", "MEMORY", "DEVICE");
        foreach (var v in e.Serving)
        {
            var weight = v.Shadow ? "shadow" : total > 0 ? $"{Views.Number(v.Weight)} ({Views.Percent(v.Weight * 100 / total)})" : Views.Number(v.Weight);
            table.AddRow(Views.Cells(v.Model, Views.Version(v.Version) + (v.Alias is null ? "" : $" ({v.Alias})"), weight, Views.Count(v.Requests),
                Views.Count(v.Errors), Milliseconds(v.LatencyP50Ms), Milliseconds(v.LatencyP99Ms), v.MeanBatchSize is { } batch ? Views.Number(batch) : "",
                Views.Bytes(v.MemoryBytes), v.Device));
        }
        s.Out.Write(table);
    }

    private static string Settings(EndpointSpec spec)
    {
        var parts = new List<string>();
        if (spec.Batching is { } b)
        {
            parts.Add(b.MaxBatchSize == 1 ? "no batching" : $"batches of up to {b.MaxBatchSize} rows, waiting {Views.Number(b.MaxDelayMs)} ms");
            parts.Add($"queue {b.MaxQueue}");
        }
        else
        {
            parts.Add("default batching");
        }
        parts.Add(spec.Runtime is { } r ? $"{r.Device}, {r.IntraOpThreads} thread(s)" : "default runtime (cpu)");
        if (spec.TimeoutMs is { } timeout) parts.Add($"timeout {timeout} ms");
        if (spec.MaxRowsPerRequest is { } rows) parts.Add($"≤ {rows} rows per request");
        if (spec.SampleRate is { } rate) parts.Add($"samples {Views.Percent(rate * 100)}");
        return string.Join("; ", parts);
    }

    /// <summary>An answer of <c>/predict</c>: predictions as a table, or each output tensor as compact JSON; then who answered.</summary>
    public static void WriteAnswer(Session s, JsonElement answer)
    {
        if (answer.TryGetProperty("predictions", out var predictions) && predictions.ValueKind == JsonValueKind.Array)
        {
            WritePredictions(s, predictions);
        }
        else if (answer.TryGetProperty("outputs", out var outputs) && outputs.ValueKind == JsonValueKind.Object)
        {
            foreach (var output in outputs.EnumerateObject())
            {
                s.Out.MarkupLine($"[bold]{Markup.Escape(output.Name)}[/] {Markup.Escape(output.Value.GetRawText())}");
            }
        }
        else
        {
            s.Out.MarkupLine(Markup.Escape(answer.GetRawText()));
        }
        var model = Text(answer, "model");
        var version = answer.TryGetProperty("version", out var v) ? v.GetRawText() : "?";
        s.Out.MarkupLine($"[grey]Answered by[/] [bold]{Markup.Escape($"{model}:{version}")}[/] [grey](request {Markup.Escape(Text(answer, "requestId") ?? "?")})[/]");
    }

    private static void WritePredictions(Session s, JsonElement predictions)
    {
        var rows = predictions.EnumerateArray().ToList();
        bool Any(string property) => rows.Any(r => r.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null);
        var (label, score, probability, probabilities, contributions) = (Any("label"), Any("score"), Any("probability"), Any("probabilities"), Any("contributions"));
        var columns = new List<string> { "ROW" };
        if (label) columns.Add("LABEL");
        if (score) columns.Add("SCORE");
        if (probability || probabilities) columns.Add("PROBABILITY");
        if (contributions) columns.Add("TOP CONTRIBUTIONS");
        var table = Views.Table([.. columns]);
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var cells = new List<string?> { (i + 1).ToString(CultureInfo.InvariantCulture) };
            if (label) cells.Add(Text(row, "label"));
            if (score) cells.Add(Number(row, "score"));
            if (probability || probabilities) cells.Add(Probability(row));
            if (contributions) cells.Add(TopContributions(row, 3));
            table.AddRow(Views.Cells([.. cells]));
        }
        s.Out.Write(table);
    }

    /// <summary>Binary: the positive class's probability; multiclass: that of the predicted label.</summary>
    private static string? Probability(JsonElement row)
    {
        if (Number(row, "probability") is { } p)
        {
            return p;
        }
        if (!row.TryGetProperty("probabilities", out var all) || all.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        if (Text(row, "label") is { } l && all.TryGetProperty(l, out var mine) && mine.TryGetDouble(out var value))
        {
            return Views.Number(value);
        }
        var best = all.EnumerateObject().Where(c => c.Value.ValueKind == JsonValueKind.Number).MaxBy(c => c.Value.GetDouble());
        return best.Value.ValueKind == JsonValueKind.Number ? $"{best.Name} {Views.Number(best.Value.GetDouble())}" : null;
    }

    /// <summary>The columns that moved the prediction most, e.g. <c>sex=+1.2 age=-0.31</c>.</summary>
    private static string? TopContributions(JsonElement row, int count)
    {
        if (!row.TryGetProperty("contributions", out var all) || all.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var top = all.EnumerateObject().Where(c => c.Value.ValueKind == JsonValueKind.Number)
            .Select(c => (c.Name, Value: c.Value.GetDouble())).OrderByDescending(c => Math.Abs(c.Value)).ThenBy(c => c.Name, StringComparer.Ordinal).Take(count);
        return string.Join(' ', top.Select(c => $"{c.Name}={(c.Value >= 0 ? "+" : "")}{Views.Number(c.Value)}"));
    }

    private static string? Text(JsonElement e, string property) =>
        e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? Number(JsonElement e, string property) =>
        e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) ? Views.Number(number) : null;
}
