using System.CommandLine;
using System.Globalization;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>The <c>train</c> command (submit and follow with a live leaderboard) and the <c>training</c> commands.</summary>
internal sealed partial class Commands
{
    private Command Train()
    {
        var train = new Command("train", """
            Train a model on a dataset version: AutoML within a time budget (or one trainer with --trainer), shown as a
            live leaderboard until the job ends, then the test metrics and the most important columns.
            Ctrl+C stops watching; the training goes on (cancel it with: gureum training cancel PROJECT ID).
            """);
        var project = ProjectArgument();
        var dataset = DatasetArgument();
        var target = new Option<string>("--target") { Description = "The column to predict", Required = true, HelpName = "COLUMN" };
        var budget = new Option<int?>("--budget") { Description = "Time budget in seconds (default 60)", HelpName = "SECONDS" };
        var version = new Option<int?>("--version") { Description = "Dataset version (default: the latest)", HelpName = "N" };
        var testVersion = new Option<int?>("--test-version") { Description = "A version of the same dataset to test on, instead of a held-out 20%", HelpName = "N" };
        var task = new Option<string?>("--task") { Description = "binary, multiclass or regression (default: inferred from the target)", HelpName = "TASK" };
        var metric = new Option<string?>("--metric") { Description = "auc, accuracy, f1, logLoss, macroAccuracy, microAccuracy, rmse, mae or r2", HelpName = "METRIC" };
        var seed = new Option<int?>("--seed") { Description = "Seed for splits and the search (default 1)", HelpName = "N" };
        var ignore = new Option<string[]>("--ignore") { Description = "A column to leave out (repeatable)", HelpName = "COLUMN", AllowMultipleArgumentsPerToken = true };
        var trainer = new Option<string?>("--trainer") { Description = "Manual mode: lightGbm, fastTree, fastForest, sdca or lbfgs", HelpName = "NAME" };
        var parameters = new Option<string[]>("--param") { Description = "Manual mode: a hyperparameter as name=value (repeatable)", HelpName = "NAME=VALUE" };
        var noWait = new Option<bool>("--no-wait") { Description = "Print the training job and return at once" };
        foreach (var option in new Option[] { target, budget, version, testVersion, task, metric, seed, ignore, trainer, parameters, noWait })
        {
            train.Add(option);
        }
        train.Add(project);
        train.Add(dataset);
        Set(train, async (s, p, ct) =>
        {
            var hyperparameters = new Dictionary<string, double>();
            foreach (var pair in p.GetValue(parameters) ?? [])
            {
                var parts = pair.Split('=', 2);
                if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    throw new UsageException($"--param '{pair}' must look like name=value with a number, e.g. numberOfLeaves=63.");
                }
                hyperparameters[parts[0]] = value;
            }
            var request = new TrainingSubmission(p.GetValue(dataset)!, p.GetValue(target)!, p.GetValue(version), p.GetValue(testVersion),
                p.GetValue(task), p.GetValue(metric), p.GetValue(budget), p.GetValue(seed),
                p.GetValue(ignore) is { Length: > 0 } ignored ? ignored : null, p.GetValue(trainer), hyperparameters.Count > 0 ? hyperparameters : null);
            var projectId = p.GetValue(project)!;
            var job = await s.Client.SubmitTrainingAsync(projectId, request, ct);
            if (p.GetValue(noWait))
            {
                if (s.Json) s.WriteJson(job);
                else s.Out.MarkupLine($"[green]Training job[/] [bold]{Markup.Escape(job.Id)}[/] queued ({Markup.Escape(job.Task)}, {Markup.Escape(job.Metric)}, {job.BudgetSeconds}s). Follow it with: gureum training get {Markup.Escape(projectId)} {Markup.Escape(job.Id)}");
                return ExitCodes.Ok;
            }
            if (!s.Json)
            {
                s.Out.MarkupLine($"Training [bold]{Markup.Escape(job.Id)}[/]: {Markup.Escape(job.Task)} on [bold]{Markup.Escape(job.Target)}[/], metric {Markup.Escape(job.Metric)}, budget {job.BudgetSeconds}s");
            }
            return await TrainingWatch.RunAsync(s, projectId, job.Id, ct);
        });
        return train;
    }

    private Command Training()
    {
        var list = new Command("list", "List a project's training jobs, newest first");
        var listProject = ProjectArgument();
        var limit = LimitOption();
        var after = AfterOption();
        list.Add(listProject);
        list.Add(limit);
        list.Add(after);
        Set(list, async (s, p, ct) =>
        {
            var page = await s.Client.ListTrainingJobsAsync(p.GetValue(listProject)!, p.GetValue(limit), p.GetValue(after), ct);
            if (s.Json)
            {
                s.WriteJson(page);
                return ExitCodes.Ok;
            }
            var table = Views.Table("ID", "STATUS", "TARGET", "TASK", "BEST", "TEST SCORE", "CREATED");
            foreach (var t in page.Items)
            {
                table.AddRow(Markup.Escape(t.Id), Views.Status(t.Status), Markup.Escape(t.Target), Markup.Escape(t.Task),
                    Markup.Escape(t.BestTrainer ?? ""), Markup.Escape(t.TestScore is { } score ? $"{t.Metric} {Views.Number(score)}" : ""), Views.Time(t.CreatedAt));
            }
            Views.WritePage(s, table, page.Items.Count, page.Next, "--after");
            return ExitCodes.Ok;
        });

        var get = new Command("get", "Show a training job: status, or once done its test metrics and most important columns");
        var getProject = ProjectArgument();
        var getId = TrainingArgument();
        get.Add(getProject);
        get.Add(getId);
        Set(get, async (s, p, ct) =>
        {
            var job = await s.Client.GetTrainingJobAsync(p.GetValue(getProject)!, p.GetValue(getId)!, ct);
            if (s.Json)
            {
                s.WriteJson(job);
                return ExitCodes.Ok;
            }
            TrainingWatch.WriteSummary(s, job);
            return ExitCodes.Ok;
        });

        var trials = new Command("trials", "The leaderboard: every trial, best first");
        var trialsProject = ProjectArgument();
        var trialsId = TrainingArgument();
        trials.Add(trialsProject);
        trials.Add(trialsId);
        Set(trials, async (s, p, ct) =>
        {
            var board = await s.Client.GetLeaderboardAsync(p.GetValue(trialsProject)!, p.GetValue(trialsId)!, null, ct);
            if (s.Json)
            {
                s.WriteJson(board);
                return ExitCodes.Ok;
            }
            s.Out.Write(TrainingWatch.LeaderboardTable(board, int.MaxValue));
            return ExitCodes.Ok;
        });

        var model = new Command("model", "Download the trained model file (a zip: manifest.json + the ML.NET pipeline)");
        var modelProject = ProjectArgument();
        var modelId = TrainingArgument();
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write it", Required = true, HelpName = "FILE" };
        model.Add(modelProject);
        model.Add(modelId);
        model.Add(output);
        Set(model, async (s, p, ct) =>
        {
            var file = p.GetValue(output)!;
            await using (var stream = file.Create())
            {
                await s.Client.DownloadModelAsync(p.GetValue(modelProject)!, p.GetValue(modelId)!, stream, ct);
            }
            if (!s.Json) s.Out.MarkupLine($"[green]Saved[/] {Markup.Escape(file.FullName)} ({Views.Bytes(file.Length)})");
            return ExitCodes.Ok;
        });

        var cancel = new Command("cancel", "Cancel a training job (the trial in progress finishes first)");
        var cancelProject = ProjectArgument();
        var cancelId = TrainingArgument();
        cancel.Add(cancelProject);
        cancel.Add(cancelId);
        Set(cancel, async (s, p, ct) =>
        {
            var job = await s.Client.CancelTrainingAsync(p.GetValue(cancelProject)!, p.GetValue(cancelId)!, ct);
            if (s.Json) s.WriteJson(job);
            else s.Out.MarkupLine($"Cancel requested for [bold]{Markup.Escape(job.Id)}[/] ({Views.Status(job.Status)})");
            return ExitCodes.Ok;
        });

        return new Command("training", "Training jobs: list, details, leaderboard, model file, cancel") { list, get, trials, model, cancel };
    }

    private static Argument<string> TrainingArgument() => new("ID") { Description = "Training job id" };
}

/// <summary>Follows a training job: a live leaderboard (polled each second), then the summary.</summary>
internal static class TrainingWatch
{
    private const int Shown = 10;

    public static async Task<int> RunAsync(Session s, string project, string id, CancellationToken ct)
    {
        TrainingJob job;
        if (s.Json || !s.Out.Profile.Capabilities.Interactive)
        {
            // Redirected output: one line per finished trial; JSON: only the final job.
            var printed = 0;
            while (true)
            {
                job = await s.Client.GetTrainingJobAsync(project, id, ct);
                var board = await s.Client.GetLeaderboardAsync(project, id, "number", ct);
                if (!s.Json)
                {
                    foreach (var t in board.Trials.Skip(printed))
                    {
                        s.Out.MarkupLine(Markup.Escape($"trial {t.Number,3}  {t.Trainer,-10} {t.Stage,-8} {Score(t),10}  {t.DurationSeconds,5:F1}s"));
                    }
                    printed = board.Trials.Count;
                }
                if (job.IsTerminal) break;
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
        else
        {
            job = await s.Client.GetTrainingJobAsync(project, id, ct);
            await s.Out.Live(new Markup("[grey]starting...[/]")).AutoClear(false).StartAsync(async live =>
            {
                while (true)
                {
                    job = await s.Client.GetTrainingJobAsync(project, id, ct);
                    var board = await s.Client.GetLeaderboardAsync(project, id, null, ct);
                    live.UpdateTarget(new Rows(
                        new Markup($"{Views.Status(job.Status)} {Views.Percent(job.Percent)}  {Markup.Escape(job.Message ?? "")}"),
                        LeaderboardTable(board, Shown)));
                    if (job.IsTerminal) break;
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                }
            });
        }
        job = await s.Client.GetTrainingJobAsync(project, id, ct);
        if (s.Json) s.WriteJson(job);
        else WriteSummary(s, job);
        if (job.Status == JobStatus.Succeeded) return ExitCodes.Ok;
        Actions.Problem(s.Err, $"Training job {id} {job.Status.ToString().ToLowerInvariant()}", job.Error, null);
        return ExitCodes.JobNotSucceeded;
    }

    private static string Score(TrainingTrial t) => t.Score is { } v ? v.ToString("F5", CultureInfo.InvariantCulture) : t.Status;

    public static Table LeaderboardTable(Leaderboard board, int rows)
    {
        var table = Views.Table("#", "TRAINER", "STAGE", board.Metric.ToUpperInvariant() + (board.HigherIsBetter ? " ↑" : " ↓"), "SECONDS", "HYPERPARAMETERS");
        foreach (var t in board.Trials.Take(rows))
        {
            var hp = string.Join(" ", t.Hyperparameters.Select(h => $"{h.Key}={h.Value.ToString("G3", CultureInfo.InvariantCulture)}"));
            table.AddRow(t.Number.ToString(CultureInfo.InvariantCulture), Markup.Escape(t.Trainer), Markup.Escape(t.Stage),
                t.Score is null ? $"[red]{Markup.Escape(t.Status)}[/]" : Score(t), t.DurationSeconds.ToString("F1", CultureInfo.InvariantCulture),
                Markup.Escape(hp.Length > 70 ? hp[..67] + "..." : hp));
        }
        if (board.Trials.Count > rows)
        {
            table.Caption($"[grey]{board.Trials.Count - rows} more trial(s): gureum training trials[/]");
        }
        return table;
    }

    public static void WriteSummary(Session s, TrainingJob job)
    {
        s.Out.Write(Views.Details(
            ("id", job.Id), ("status", job.Status.ToString().ToLowerInvariant()), ("dataset", $"{job.Dataset.Id} v{job.Dataset.Version}"),
            ("target", job.Target), ("task", job.Task), ("metric", job.Metric), ("best trainer", job.BestTrainer),
            ("test score", job.TestScore is { } v ? Views.Number(v) : null), ("model", job.Model is { } m ? $"{m.Sha256[..12]}… ({Views.Bytes(m.SizeBytes)})" : null),
            ("error", job.Error)));
        if (job.Report is not { } report) return;
        var metrics = report.GetProperty("testMetrics").EnumerateObject().Select(m => $"{m.Name} {Views.Number(m.Value.GetDouble())}");
        s.Out.MarkupLine($"[bold]test metrics[/] ({report.GetProperty("testRows").GetInt64()} rows): {Markup.Escape(string.Join(", ", metrics))}");
        s.Out.MarkupLine($"[bold]search[/]: {report.GetProperty("trials").GetInt32()} trials, {Markup.Escape(report.GetProperty("validation").GetString() ?? "")}, stopped by {Markup.Escape(report.GetProperty("stopReason").GetString() ?? "")}");
        var importance = report.GetProperty("featureImportance").EnumerateArray().Take(10).ToList();
        if (importance.Count == 0) return;
        var chart = new BarChart().Label("[bold]permutation importance (test metric drop when a column is shuffled)[/]").Width(80);
        foreach (var f in importance)
        {
            chart.AddItem(Markup.Escape(f.GetProperty("column").GetString() ?? ""), Math.Round(Math.Max(0, f.GetProperty("importance").GetDouble()), 4), Color.SteelBlue);
        }
        s.Out.Write(chart);
    }
}
