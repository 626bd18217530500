using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>Monitoring and automation: <c>drift</c>, <c>alerts</c> and <c>alert-rules</c> of an endpoint, its <c>retraining-policy</c>, the <c>approvals</c> inbox and <c>retraining-runs</c>.</summary>
internal sealed partial class Commands
{
    private Command Drift()
    {
        var project = ProjectArgument();
        var endpoint = EndpointArgument();
        var window = new Option<string>("--window") { Description = "15m, 1h, 6h, 1d, 7d or 30d", HelpName = "WINDOW", DefaultValueFactory = _ => "1h" };
        var drift = new Command("drift", """
            Input drift of an AutoML endpoint: each feature of the sampled live requests against the data the model was trained
            on (PSI, Kolmogorov-Smirnov or unseen categories, missing rate), most drifted first.
              gureum drift PROJECT adult --window 1d
            """) { project, endpoint, window };
        Show(drift, (s, p, ct) => s.Client.GetDriftAsync(p.GetValue(project)!, p.GetValue(endpoint)!, p.GetValue(window)!, ct), (s, report) =>
        {
            s.Out.MarkupLine($"[bold]{Views.Escape(report.Endpoint)}[/] ({Views.Escape(report.Model)}:{report.Version}): {report.LiveRows:N0} live rows in {report.SampledRequests:N0} sampled requests against {report.BaselineRows:N0} training rows");
            var table = Views.Table("FEATURE", "TYPE", "SEVERITY", "PSI", "KS", "UNSEEN", "MISSING (TRAIN → LIVE)");
            foreach (var f in report.Features)
            {
                var severity = f.Severity switch { "high" => "[red]high[/]", "moderate" => "[yellow]moderate[/]", _ => Views.Escape(f.Severity) };
                table.AddRow(Views.Escape(f.Name), Views.Escape(f.Type), severity, Number(f.Psi), Number(f.Ks), f.UnseenShare is { } u ? u.ToString("P1", CultureInfo.InvariantCulture) : "",
                    $"{f.MissingBaseline.ToString("P1", CultureInfo.InvariantCulture)} → {f.MissingLive.ToString("P1", CultureInfo.InvariantCulture)}");
            }
            s.Out.Write(table);
        });
        return drift;
    }

    private Command Nodes()
    {
        var nodes = new Command("nodes", "The nodes of the cluster (one without --cluster): capabilities, labels and live load (admin key)");
        Show(nodes, (s, _, ct) => s.Client.ListNodesAsync(ct), (s, list) =>
        {
            var table = Views.Table("NODE", "ALIVE", "CORES", "MEMORY", "GPUS", "LABELS", "JOBS", "MODELS", "CPU", "LAST SEEN");
            foreach (var n in list)
            {
                table.AddRow(Views.Escape(n.Name), n.Alive ? "[green]yes[/]" : "[red]no[/]", n.Cores.ToString(CultureInfo.InvariantCulture),
                    Views.Escape($"{n.MemoryBytes / (double)(1L << 30):0.#} GiB"), Views.Escape(n.Gpus.Count == 0 ? "-" : string.Join(", ", n.Gpus.Select(g => g.Model))),
                    Views.Escape(string.Join(" ", n.Labels.Select(l => $"{l.Key}={l.Value}"))), n.Load.RunningJobs.ToString(CultureInfo.InvariantCulture),
                    n.Load.LoadedModels.ToString(CultureInfo.InvariantCulture), Views.Escape($"{n.Load.CpuPercent:0.#}%"), Views.Escape(Views.Time(n.LastSeenAt)));
            }
            s.Out.Write(table);
        });
        return nodes;
    }

    private static string Number(double? value) => value is { } v ? v.ToString("0.###", CultureInfo.InvariantCulture) : "";

    private Command Alerts()
    {
        var project = ProjectArgument();
        var endpoint = EndpointArgument();
        var alerts = new Command("alerts", "Alerts raised on an endpoint (drift, live metric drop, error rate, latency), newest first, with the webhook delivery")
        {
            project, endpoint,
        };
        Show(alerts, (s, p, ct) => s.Client.ListAlertsAsync(p.GetValue(project)!, p.GetValue(endpoint)!, ct), (s, page) =>
        {
            var table = Views.Table("AT", "KIND", "MESSAGE", "WEBHOOK");
            foreach (var a in page.Items)
            {
                table.AddRow(Views.Escape(Views.Time(a.At)), Views.Escape(a.Kind), Views.Escape(a.Message), Views.Escape(a.DeliveryError is null ? a.Delivery : $"{a.Delivery}: {a.DeliveryError}"));
            }
            Views.WritePage(s, table, page.Items.Count, null, "");
        });
        return alerts;
    }

    private Command AlertRules()
    {
        var listProject = ProjectArgument();
        var listEndpoint = EndpointArgument();
        var list = new Command("list", "The endpoint's alert rules") { listProject, listEndpoint };
        Show(list, (s, p, ct) => s.Client.ListAlertRulesAsync(p.GetValue(listProject)!, p.GetValue(listEndpoint)!, ct), (s, rules) =>
        {
            if (rules.Count == 0)
            {
                s.Out.MarkupLine("No alert rules. Add one with: gureum alert-rules add PROJECT ENDPOINT --kind drift --severity high");
                return;
            }
            var table = Views.Table("RULE", "KIND", "THRESHOLD", "WINDOW", "MIN COUNT", "COOLDOWN", "WEBHOOK", "LAST FIRED");
            foreach (var r in rules)
            {
                table.AddRow(Views.Escape(r.Id), Views.Escape(r.Kind), Views.Escape(r.Kind == "drift" ? r.Severity ?? "" : Number(r.Threshold)), Views.Escape(r.Window),
                    r.MinimumCount.ToString(CultureInfo.InvariantCulture), Views.Escape($"{r.CooldownMinutes:0.#} min"), Views.Escape(r.WebhookUrl ?? "-"),
                    Views.Escape(r.LastFiredAt is { } at ? Views.Time(at) : "never"));
            }
            s.Out.Write(table);
        });

        var addProject = ProjectArgument();
        var addEndpoint = EndpointArgument();
        var kind = new Option<string>("--kind") { Description = "drift, metric-drop, error-rate or latency-p99", HelpName = "KIND", Required = true };
        kind.AcceptOnlyFromAmong("drift", "metric-drop", "error-rate", "latency-p99");
        var threshold = new Option<double?>("--threshold") { Description = "metric-drop: the drop below the test metric; error-rate: a share (0.05); latency-p99: milliseconds", HelpName = "X" };
        var severity = new Option<string?>("--severity") { Description = "drift: the severity that fires it, moderate or high", HelpName = "SEVERITY" };
        var window = new Option<string?>("--window") { Description = "15m, 1h, 6h, 1d, 7d or 30d", HelpName = "WINDOW" };
        var cooldown = new Option<double?>("--cooldown") { Description = "Minutes before the rule may fire again", HelpName = "MINUTES" };
        var minimum = new Option<long?>("--min-count") { Description = "Requests (or feedback, or rows) the window needs before the rule judges", HelpName = "N" };
        var webhook = new Option<string?>("--webhook") { Description = "An http(s) URL that gets each alert as JSON", HelpName = "URL" };
        var add = new Command("add", """
            Add an alert rule to an endpoint. Alerts are recorded (gureum alerts) and posted to the webhook; a retraining policy
            may start a run on them.
              gureum alert-rules add PROJECT adult --kind drift --severity high --window 1d
              gureum alert-rules add PROJECT adult --kind latency-p99 --threshold 50 --webhook https://hooks.example/ops
            """) { addProject, addEndpoint, kind, threshold, severity, window, cooldown, minimum, webhook };
        Show(add, (s, p, ct) => s.Client.CreateAlertRuleAsync(p.GetValue(addProject)!, p.GetValue(addEndpoint)!,
                new AlertRuleRequest(p.GetValue(kind)!, p.GetValue(threshold), p.GetValue(severity), p.GetValue(window), p.GetValue(cooldown), p.GetValue(minimum), p.GetValue(webhook)), ct),
            (s, r) => s.Out.MarkupLine($"[green]Added[/] {Views.Escape(r.Kind)} rule [bold]{Views.Escape(r.Id)}[/] over {Views.Escape(r.Window)}"));

        var deleteProject = ProjectArgument();
        var deleteEndpoint = EndpointArgument();
        var rule = new Argument<string>("RULE") { Description = "The rule's id (from alert-rules list)" };
        var delete = new Command("delete", "Delete an alert rule") { deleteProject, deleteEndpoint, rule };
        Set(delete, async (s, p, ct) =>
        {
            await s.Client.DeleteAlertRuleAsync(p.GetValue(deleteProject)!, p.GetValue(deleteEndpoint)!, p.GetValue(rule)!, ct);
            if (s.Json) s.WriteJson(new { deleted = p.GetValue(rule) });
            else s.Out.MarkupLine($"[green]Deleted alert rule[/] [bold]{Markup.Escape(p.GetValue(rule)!)}[/]");
            return ExitCodes.Ok;
        });
        return new Command("alert-rules", "Alert rules of an endpoint: drift, live metric drop, error rate, p99 latency") { list, add, delete };
    }

    /// <summary>Reads a policy file strictly: a misspelt field is an error here, not a setting silently dropped.</summary>
    private static readonly JsonSerializerOptions PolicyFile = new(GureumClient.JsonOptions)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private Command RetrainingPolicy()
    {
        var getProject = ProjectArgument();
        var getEndpoint = EndpointArgument();
        var get = new Command("get", "The endpoint's retraining policy as JSON (the form 'set --file' takes, under \"spec\")") { getProject, getEndpoint };
        Show(get, (s, p, ct) => s.Client.GetRetrainingPolicyAsync(p.GetValue(getProject)!, p.GetValue(getEndpoint)!, ct), (s, policy) =>
        {
            s.Out.MarkupLine($"Policy of [bold]{Views.Escape(policy.Endpoint)}[/]: champion {Views.Escape($"{policy.Model}:{policy.ChampionVersion}")}"
                + (policy.NextScheduledAt is { } next ? $", next scheduled run {Views.Escape(Views.Time(next))}" : ""));
            s.Out.WriteLine(JsonSerializer.Serialize(policy.Spec, new JsonSerializerOptions(GureumClient.JsonOptions) { WriteIndented = true }));
        });

        var setProject = ProjectArgument();
        var setEndpoint = EndpointArgument();
        var file = new Option<FileInfo>("--file") { Description = "The policy as JSON (see docs/monitoring.md)", HelpName = "FILE", Required = true };
        var set = new Command("set", """
            Create or replace the endpoint's retraining policy from a JSON file, e.g.
              {"triggers": {"schedule": "0 3 * * 1", "alerts": ["drift"]}, "training": {"budgetSeconds": 120},
               "promotion": {"metric": "auc", "margin": 0.005}, "requireApproval": true, "canary": {"share": 0.1, "minutes": 30}}
              gureum retraining-policy set PROJECT adult --file policy.json
            """) { setProject, setEndpoint, file };
        Show(set, async (s, p, ct) =>
        {
            var path = p.GetValue(file)!;
            if (!path.Exists) throw new UsageException($"--file {path.FullName} does not exist.");
            RetrainingPolicySpec spec;
            try
            {
                await using var stream = path.OpenRead();
                spec = await JsonSerializer.DeserializeAsync<RetrainingPolicySpec>(stream, PolicyFile, ct)
                    ?? throw new UsageException($"--file {path.Name} holds null; it must hold a policy object.");
            }
            catch (JsonException e)
            {
                throw new UsageException($"--file {path.Name} is not a valid policy: {e.Message}");
            }
            return await s.Client.SetRetrainingPolicyAsync(p.GetValue(setProject)!, p.GetValue(setEndpoint)!, spec, ct);
        }, (s, policy) => s.Out.MarkupLine($"[green]Saved[/] the retraining policy of [bold]{Views.Escape(policy.Endpoint)}[/]"
            + (policy.NextScheduledAt is { } next ? $"; next scheduled run {Views.Escape(Views.Time(next))}" : "")));

        var deleteProject = ProjectArgument();
        var deleteEndpoint = EndpointArgument();
        var delete = new Command("delete", "Delete the endpoint's retraining policy (its runs are kept)") { deleteProject, deleteEndpoint };
        Set(delete, async (s, p, ct) =>
        {
            await s.Client.DeleteRetrainingPolicyAsync(p.GetValue(deleteProject)!, p.GetValue(deleteEndpoint)!, ct);
            if (s.Json) s.WriteJson(new { deleted = p.GetValue(deleteEndpoint) });
            else s.Out.MarkupLine($"[green]Deleted[/] the retraining policy of [bold]{Markup.Escape(p.GetValue(deleteEndpoint)!)}[/]");
            return ExitCodes.Ok;
        });

        var runProject = ProjectArgument();
        var runEndpoint = EndpointArgument();
        var run = new Command("run", "Start a retraining run now (a manual trigger)") { runProject, runEndpoint };
        Show(run, (s, p, ct) => s.Client.RunRetrainingNowAsync(p.GetValue(runProject)!, p.GetValue(runEndpoint)!, ct),
            (s, r) => s.Out.MarkupLine($"[green]Started[/] run [bold]{Views.Escape(r.Id)}[/]; follow it with: gureum retraining-runs get PROJECT {Views.Escape(r.Id)}"));
        return new Command("retraining-policy", "An endpoint's retraining policy: triggers, training, promotion, approval, canary") { get, set, delete, run };
    }

    private Command Approvals()
    {
        var listProject = ProjectArgument();
        var list = new Command("list", "Retrained challengers waiting for a decision, with the metric comparison that qualified them") { listProject };
        Show(list, (s, p, ct) => s.Client.ListApprovalsAsync(p.GetValue(listProject)!, ct), (s, runs) =>
        {
            if (runs.Count == 0)
            {
                s.Out.MarkupLine("Nothing waits for approval.");
                return;
            }
            var table = Views.Table("RUN", "ENDPOINT", "CHAMPION", "CHALLENGER", "METRIC", "TRIGGER", "SINCE");
            foreach (var r in runs)
            {
                table.AddRow(Views.Escape(r.Id), Views.Escape(r.Endpoint), Views.Escape($"{r.Model}:{r.ChampionVersion}"), Views.Escape($"{r.Model}:{r.ChallengerVersion}"),
                    Views.Escape(Comparison(r)), Views.Escape(r.Trigger), Views.Escape(Views.Time(r.UpdatedAt)));
            }
            s.Out.Write(table);
            s.Out.MarkupLine("Decide with: gureum approvals approve|reject PROJECT RUN --comment \"why\"");
        });
        return new Command("approvals", "The approvals inbox of retraining runs") { list, Decision("approve", true), Decision("reject", false) };
    }

    private Command Decision(string name, bool approve)
    {
        var project = ProjectArgument();
        var run = new Argument<string>("RUN") { Description = "The retraining run's id (from approvals list)" };
        var comment = new Option<string?>("--comment") { Description = "Why (kept in the run's audit log)", HelpName = "TEXT" };
        var command = new Command(name, approve
            ? "Approve a pending challenger: it goes to canary (if the policy has one) and then replaces the champion"
            : "Reject a pending challenger: the champion stays") { project, run, comment };
        Show(command, (s, p, ct) => s.Client.DecideAsync(p.GetValue(project)!, p.GetValue(run)!, approve, p.GetValue(comment), ct),
            (s, r) => s.Out.MarkupLine(approve
                ? $"[green]Approved[/] {Views.Escape(r.Model)}:{r.ChallengerVersion}; follow it with: gureum retraining-runs get PROJECT {Views.Escape(r.Id)}"
                : $"[yellow]Rejected[/] {Views.Escape(r.Model)}:{r.ChallengerVersion}; {Views.Escape(r.Model)}:{r.ChampionVersion} stays"));
        return command;
    }

    private Command RetrainingRuns()
    {
        var project = ProjectArgument();
        var run = new Argument<string>("RUN") { Description = "The retraining run's id" };
        var get = new Command("get", "A retraining run: its status, the evidence, and every step it took (the audit log)") { project, run };
        Show(get, (s, p, ct) => s.Client.GetRetrainingRunAsync(p.GetValue(project)!, p.GetValue(run)!, ct), (s, r) =>
        {
            s.Out.MarkupLine($"Run [bold]{Views.Escape(r.Id)}[/] on {Views.Escape(r.Endpoint)} ({Views.Escape(r.Trigger)} trigger): [bold]{Views.Escape(r.Status)}[/]{(r.Reason is null ? "" : " — " + Views.Escape(r.Reason))}");
            if (Comparison(r) is { Length: > 0 } comparison) s.Out.MarkupLine(Views.Escape(comparison));
            var table = Views.Table("AT", "STEP", "OUTCOME", "MESSAGE");
            foreach (var e in r.Events ?? [])
            {
                table.AddRow(Views.Escape(Views.Time(e.At)), Views.Escape(e.Step), Views.Escape(e.Outcome), Views.Escape(e.Message));
            }
            s.Out.Write(table);
        });
        var listProject = ProjectArgument();
        var listEndpoint = EndpointArgument();
        var list = new Command("list", "An endpoint's retraining runs, newest first") { listProject, listEndpoint };
        Show(list, (s, p, ct) => s.Client.ListRetrainingRunsAsync(p.GetValue(listProject)!, p.GetValue(listEndpoint)!, ct), (s, page) =>
        {
            var table = Views.Table("RUN", "TRIGGER", "STATUS", "CHALLENGER", "METRIC", "UPDATED");
            foreach (var r in page.Items)
            {
                table.AddRow(Views.Escape(r.Id), Views.Escape(r.Trigger), Views.Escape(r.Status), Views.Escape(r.ChallengerVersion is { } v ? $"{r.Model}:{v}" : "-"),
                    Views.Escape(Comparison(r)), Views.Escape(Views.Time(r.UpdatedAt)));
            }
            Views.WritePage(s, table, page.Items.Count, null, "");
        });
        return new Command("retraining-runs", "Runs of endpoints' retraining policies") { list, get };
    }

    /// <summary>"auc 0.912 vs 0.874" from a run's evidence, or empty before it was evaluated.</summary>
    private static string Comparison(RetrainingRun run)
    {
        if (run.Evidence is not { ValueKind: JsonValueKind.Object } evidence || !evidence.TryGetProperty("evaluation", out var e)) return "";
        var metric = e.GetProperty("metric").GetString();
        var challenger = e.GetProperty("challenger").GetProperty("score").GetDouble();
        var champion = e.GetProperty("champion").GetProperty("score").GetDouble();
        return string.Create(CultureInfo.InvariantCulture, $"{metric} {challenger:0.####} (challenger) vs {champion:0.####} (champion) on {e.GetProperty("holdoutRows").GetInt64():N0} held-out rows");
    }
}
