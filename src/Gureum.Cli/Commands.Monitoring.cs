using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>Monitoring and automation: <c>drift</c> and <c>alerts</c> of an endpoint, the <c>approvals</c> inbox and <c>retraining-runs</c>.</summary>
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
        return new Command("retraining-runs", "Runs of endpoints' retraining policies") { get };
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
