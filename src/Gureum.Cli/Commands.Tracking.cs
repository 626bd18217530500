using System.CommandLine;
using System.Globalization;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>The <c>experiments</c> and <c>runs</c> commands. Runs are logged by training jobs and MLflow clients; here they are read.</summary>
internal sealed partial class Commands
{
    private Command Experiments()
    {
        var listProject = ProjectArgument();
        var filter = new Option<string?>("--filter") { Description = "e.g. \"name LIKE 'iris%'\"", HelpName = "FILTER" };
        var list = new Command("list", "List a project's active experiments") { listProject, filter };
        Show(list, (s, p, ct) => s.Client.ListExperimentsAsync(p.GetValue(listProject)!, p.GetValue(filter), ct), (s, experiments) =>
        {
            var table = Views.Table("ID", "NAME", "DESCRIPTION", "CREATED");
            foreach (var e in experiments)
            {
                table.AddRow(Views.Cells(e.Id, e.Name, e.Description, Views.Time(e.CreatedAt)));
            }
            Views.WritePage(s, table, experiments.Count, null, "");
        });

        var createProject = ProjectArgument();
        var name = new Argument<string>("NAME") { Description = "Any text up to 500 characters, unique in the project" };
        var description = new Option<string?>("--description") { Description = "Free text (kept in the tag mlflow.note.content, as MLflow does)", HelpName = "TEXT" };
        var tags = TagOption();
        var create = new Command("create", "Create an experiment") { createProject, name, description, tags };
        Show(create, (s, p, ct) =>
        {
            var all = ParseTags(p.GetValue(tags)) ?? [];
            if (p.GetValue(description) is { } text)
            {
                all[Experiment.DescriptionTag] = text;
            }
            return s.Client.CreateExperimentAsync(p.GetValue(createProject)!, p.GetValue(name)!, all.Count > 0 ? all : null, ct: ct);
        }, (s, e) => s.Out.MarkupLine($"[green]Created experiment[/] [bold]{Markup.Escape(e.Name)}[/] (id {Markup.Escape(e.Id)})"));

        var getProject = ProjectArgument();
        var id = ExperimentArgument();
        var get = new Command("get", "Show an experiment") { getProject, id };
        Show(get, (s, p, ct) => s.Client.GetExperimentAsync(p.GetValue(getProject)!, p.GetValue(id)!, ct), (s, e) => s.Out.Write(Views.Details(
            [("id", e.Id), ("name", e.Name), ("description", e.Description), ("stage", e.LifecycleStage),
             ("created", Views.Time(e.CreatedAt)), ("updated", Views.Time(e.UpdatedAt)),
             .. e.Tags.Where(t => t.Key != Experiment.DescriptionTag).OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => ("tag " + t.Key, (string?)t.Value))])));

        return new Command("experiments", "Experiments: groups of runs (every project has experiment 0, Default)") { list, create, get };
    }

    private Command Runs()
    {
        var searchProject = ProjectArgument();
        var experiments = new Option<string[]>("--experiment")
        {
            Description = "Only runs of this experiment id (repeatable; default: every active experiment)",
            HelpName = "ID",
            AllowMultipleArgumentsPerToken = false,
        };
        var filter = new Option<string?>("--filter")
        {
            Description = "MLflow search syntax, e.g. \"metrics.acc > 0.8 and params.lr = '0.1' and attributes.status = 'FINISHED'\"",
            HelpName = "FILTER",
        };
        var orderBy = new Option<string[]>("--order-by")
        {
            Description = "e.g. \"metrics.acc DESC\" (repeatable; default: newest first)",
            HelpName = "KEY [ASC|DESC]",
            AllowMultipleArgumentsPerToken = false,
        };
        var limit = LimitOption();
        var after = AfterOption();
        var search = new Command("search", "Search a project's runs by metrics, params, tags and attributes")
        {
            searchProject, experiments, filter, orderBy, limit, after,
        };
        Set(search, async (s, p, ct) =>
        {
            var page = await s.Client.SearchRunsAsync(p.GetValue(searchProject)!, SplitList(p.GetValue(experiments)), p.GetValue(filter),
                p.GetValue(orderBy), p.GetValue(limit), p.GetValue(after), ct);
            if (s.Json)
            {
                s.WriteJson(page);
                return ExitCodes.Ok;
            }
            // The metrics the search is about come first among the columns.
            var table = TrackingViews.RunsTable(page.Items, string.Join(' ', [p.GetValue(filter) ?? "", .. p.GetValue(orderBy) ?? []]));
            Views.WritePage(s, table, page.Items.Count, page.Next, "--after");
            return ExitCodes.Ok;
        });

        var getProject = ProjectArgument();
        var getRun = RunArgument();
        var get = new Command("get", "Show a run: its attributes, params, latest metrics and tags") { getProject, getRun };
        Show(get, (s, p, ct) => s.Client.GetRunAsync(p.GetValue(getProject)!, p.GetValue(getRun)!, ct), TrackingViews.WriteRun);

        var compareProject = ProjectArgument();
        var compared = new Argument<string[]>("RUN") { Description = "2 to 20 run ids", Arity = new ArgumentArity(2, 20) };
        var allParams = new Option<bool>("--all") { Description = "Show every param, not only those that differ" };
        var compare = new Command("compare", "Compare runs side by side: the params that differ, and each metric's latest value with its trend")
        {
            compareProject, compared, allParams,
        };
        Set(compare, async (s, p, ct) =>
        {
            var comparison = await s.Client.CompareRunsAsync(p.GetValue(compareProject)!, p.GetValue(compared)!, ct: ct);
            if (s.Json)
            {
                s.WriteJson(comparison);
                return ExitCodes.Ok;
            }
            TrackingViews.WriteComparison(s, comparison, p.GetValue(allParams));
            return ExitCodes.Ok;
        });

        var metricsProject = ProjectArgument();
        var metricsRun = RunArgument();
        var key = new Argument<string>("KEY") { Description = "The metric's name, e.g. loss" };
        var points = new Option<int?>("--limit") { Description = "Points per page, 1-25000 (default 10000)", HelpName = "N" };
        var pointsAfter = AfterOption();
        var metrics = new Command("metrics", "Show one metric's series: a sparkline, then the value at each step") { metricsProject, metricsRun, key, points, pointsAfter };
        Show(metrics, (s, p, ct) => s.Client.GetMetricHistoryAsync(p.GetValue(metricsProject)!, p.GetValue(metricsRun)!, p.GetValue(key)!,
            p.GetValue(points), p.GetValue(pointsAfter), ct), TrackingViews.WriteHistory);

        var artifactsProject = ProjectArgument();
        var artifactsRun = RunArgument();
        var directory = new Option<string?>("--path") { Description = "A directory of the run's artifacts (default: the root)", HelpName = "DIR" };
        var artifacts = new Command("artifacts", "List a run's artifacts, one directory at a time") { artifactsProject, artifactsRun, directory };
        Show(artifacts, (s, p, ct) => s.Client.ListRunArtifactsAsync(p.GetValue(artifactsProject)!, p.GetValue(artifactsRun)!, p.GetValue(directory), ct),
            (s, entries) =>
            {
                var table = Views.Table("PATH", "SIZE");
                foreach (var entry in entries)
                {
                    table.AddRow(Views.Cells(entry.IsDir ? entry.Path + "/" : entry.Path, entry.SizeBytes is { } size ? Views.Bytes(size) : ""));
                }
                Views.WritePage(s, table, entries.Count, null, "");
            });

        var downloadProject = ProjectArgument();
        var downloadRun = RunArgument();
        var path = new Argument<string>("PATH") { Description = "The artifact file's path, e.g. model/model.zip (see runs artifacts)" };
        var output = OutputOption();
        var force = ForceOption();
        var download = new Command("download", "Download one artifact file of a run (streamed to disk)") { downloadProject, downloadRun, path, output, force };
        Set(download, (s, p, ct) =>
        {
            var (project, run, file) = (p.GetValue(downloadProject)!, p.GetValue(downloadRun)!, p.GetValue(path)!);
            var name = file.TrimEnd('/').Split('/')[^1];
            return FileDownload.RunAsync(s, p.GetValue(output), name.Length > 0 ? name : "artifact", p.GetValue(force), null,
                (stream, token) => s.Client.DownloadRunArtifactAsync(project, run, file, stream, token), ct);
        });

        return new Command("runs", "Tracked runs: search, details, comparison, metric series, artifacts")
        {
            search, get, compare, metrics, artifacts, download,
        };
    }

    /// <summary>Repeated values, each of which may itself be a comma-separated list.</summary>
    private static List<string>? SplitList(string[]? values) => values is { Length: > 0 }
        ? [.. values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))]
        : null;

    private static Argument<string> ExperimentArgument() => new("ID") { Description = "Experiment id (a number, see experiments list)" };

    private static Argument<string> RunArgument() => new("RUN") { Description = "Run id (32 hex characters, see runs search)" };

    private static Option<string?> OutputOption() => new("--output", "-o", "--out")
    {
        Description = "The file to write (or an existing directory to write into; default: the file's own name here)",
        HelpName = "FILE",
    };

    private static Option<bool> ForceOption() => new("--force") { Description = "Overwrite the output file if it exists" };
}

/// <summary>How runs, comparisons and metric series look.</summary>
internal static class TrackingViews
{
    private const int MetricColumns = 4;

    public static string Status(string status) => status switch
    {
        "FINISHED" => "[green]finished[/]",
        "FAILED" => "[red]failed[/]",
        "KILLED" => "[yellow]killed[/]",
        "RUNNING" => "[blue]running[/]",
        _ => Markup.Escape(status.ToLowerInvariant()),
    };

    /// <summary>One row per run, with a column for each of the first few metrics (those named in <paramref name="mentioned"/> first).</summary>
    public static Table RunsTable(IReadOnlyList<Run> runs, string mentioned)
    {
        var keys = runs.SelectMany(r => r.Metrics.Keys).Distinct()
            .OrderBy(k => mentioned.Contains("metrics." + k, StringComparison.Ordinal) ? 0 : 1).ThenBy(k => k, StringComparer.Ordinal).ToList();
        var shown = keys.Take(MetricColumns).ToList();
        var table = Views.Table(["ID", "NAME", "EXP", "STATUS", "STARTED", .. shown]);
        foreach (var run in runs)
        {
            table.AddRow([Views.Escape(run.Id), Views.Escape(run.Name), Views.Escape(run.ExperimentId), Status(run.Status), Views.Time(run.StartTime),
                .. shown.Select(k => run.Metrics.TryGetValue(k, out var value) ? Views.Number(value) : "")]);
        }
        if (keys.Count > shown.Count)
        {
            table.Caption($"[grey]{keys.Count - shown.Count} more metric(s): gureum runs get, or --json[/]");
        }
        return table;
    }

    public static void WriteRun(Session s, Run run)
    {
        s.Out.Write(Views.Details(
            ("id", run.Id), ("name", run.Name), ("experiment", run.ExperimentId), ("status", run.Status.ToLowerInvariant()), ("source", run.Source),
            ("started", Views.Time(run.StartTime)), ("ended", Views.Time(run.EndTime)),
            ("duration", run.EndTime is { } end ? Duration(end - run.StartTime) : null), ("user", run.UserId),
            ("training job", run.TrainingJobId), ("parent run", run.ParentRunId)));
        WritePairs(s, "PARAM", run.Params.Select(p => (p.Key, p.Value)));
        WritePairs(s, "METRIC (LATEST)", run.Metrics.Select(m => (m.Key, Views.Number(m.Value))));
        WritePairs(s, "TAG", run.Tags.Select(t => (t.Key, t.Value)));
    }

    private static void WritePairs(Session s, string title, IEnumerable<(string Key, string Value)> pairs)
    {
        var rows = pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        if (rows.Count == 0)
        {
            return;
        }
        var table = Views.Table(title, "VALUE");
        foreach (var (key, value) in rows)
        {
            table.AddRow(Views.Cells(key, value));
        }
        s.Out.Write(table);
    }

    /// <summary>Two tables with a column per run: the params (only those that differ unless <paramref name="allParams"/>), then each metric's latest value and trend.</summary>
    public static void WriteComparison(Session s, RunComparison comparison, bool allParams)
    {
        string[] columns = ["", .. comparison.Runs.Select(r => $"{r.Name}\n{r.Id[..Math.Min(8, r.Id.Length)]}")];

        var parameters = Views.Table(["PARAM", .. columns[1..]]);
        var shown = comparison.Params.Where(p => allParams || p.Differs).ToList();
        foreach (var row in shown)
        {
            var name = row.Differs ? $"[yellow]{Views.Escape(row.Key)}[/]" : Views.Escape(row.Key);
            parameters.AddRow([name, .. row.Values.Select(v => v is null ? "[grey]-[/]" : Views.Escape(v))]);
        }
        var same = comparison.Params.Count(p => !p.Differs);
        if (shown.Count > 0)
        {
            s.Out.Write(parameters);
            if (!allParams && same > 0)
            {
                s.Out.MarkupLine($"[grey]{same} param(s) equal in every run are hidden: --all shows them[/]");
            }
        }
        else
        {
            s.Out.MarkupLine(comparison.Params.Count == 0 ? "[grey]No params logged.[/]" : $"[grey]All {same} param(s) are equal in every run.[/]");
        }

        var metrics = Views.Table(["METRIC (LATEST)", .. columns[1..]]);
        foreach (var series in comparison.Metrics)
        {
            var cells = comparison.Runs.Select((run, i) =>
            {
                if (!run.Metrics.TryGetValue(series.Key, out var latest))
                {
                    return "[grey]-[/]";
                }
                IReadOnlyList<MetricPoint> points = i < series.Runs.Count ? series.Runs[i] : [];
                return points.Count > 1 ? $"{Views.Number(latest)} [blue]{Views.Sparkline(points.Select(x => x.Value).ToList(), 12)}[/]" : Views.Number(latest);
            });
            metrics.AddRow([Views.Escape(series.Key), .. cells]);
        }
        if (comparison.Metrics.Count > 0)
        {
            s.Out.Write(metrics);
        }
        else
        {
            s.Out.MarkupLine("[grey]No metrics logged.[/]");
        }
    }

    /// <summary>A sparkline with the range and the last value, then the points as a table.</summary>
    public static void WriteHistory(Session s, MetricHistory history)
    {
        if (history.Points.Count == 0)
        {
            s.Out.MarkupLine($"[grey]No points of metric '{Views.Escape(history.Key)}' in this run.[/]");
            return;
        }
        var values = history.Points.Select(p => p.Value).ToList();
        var last = history.Points[^1];
        s.Out.MarkupLine($"[bold]{Views.Escape(history.Key)}[/]  [blue]{Views.Sparkline(values, 60)}[/]");
        s.Out.MarkupLine(Views.Escape(string.Create(CultureInfo.InvariantCulture,
            $"{values.Count} point(s), min {Views.Number(values.Min())}, max {Views.Number(values.Max())}, last {Views.Number(last.Value)} at step {last.Step}")));
        var table = Views.Table("STEP", "VALUE", "TIME");
        foreach (var point in history.Points)
        {
            table.AddRow(Views.Cells(point.Step.ToString(CultureInfo.InvariantCulture), Views.Number(point.Value),
                Views.Time(DateTimeOffset.FromUnixTimeMilliseconds(point.Timestamp))));
        }
        Views.WritePage(s, table, history.Points.Count, history.Next, "--after");
    }

    private static string Duration(TimeSpan span) => span.TotalSeconds < 60
        ? span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + "s"
        : span.TotalHours < 1 ? $"{(int)span.TotalMinutes}m {span.Seconds}s" : $"{(int)span.TotalHours}h {span.Minutes}m";
}
