using System.Globalization;
using System.Text.Json;
using Gureum.Client;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Gureum.Cli;

/// <summary>How resources look as tables and detail grids.</summary>
internal static class Views
{
    public static Table Table(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn($"[bold]{Markup.Escape(column)}[/]"));
        }
        return table;
    }

    public static string[] Cells(params string?[] values) => [.. values.Select(Escape)];

    public static string Escape(string? value) => Markup.Escape(value ?? "");

    public static string Time(DateTimeOffset? value) =>
        value?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "";

    public static string Percent(double value) => value.ToString("0.#", CultureInfo.InvariantCulture) + "%";

    public static string Status(JobStatus status) => status switch
    {
        JobStatus.Succeeded => "[green]succeeded[/]",
        JobStatus.Failed => "[red]failed[/]",
        JobStatus.Cancelled => "[yellow]cancelled[/]",
        JobStatus.Running => "[blue]running[/]",
        _ => "queued",
    };

    public static IRenderable Details(params (string Name, string? Value)[] rows)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        foreach (var (name, value) in rows)
        {
            grid.AddRow($"[bold]{Markup.Escape(name)}[/]", Escape(value));
        }
        return grid;
    }

    public static void WritePage(Session s, Table table, int count, string? next, string cursorOption)
    {
        if (count == 0)
        {
            s.Out.MarkupLine("[grey]Nothing here yet.[/]");
            return;
        }
        s.Out.Write(table);
        if (next is not null)
        {
            s.Out.MarkupLine($"[grey]More: repeat with {cursorOption} {Markup.Escape(next)}[/]");
        }
    }

    public static void WriteJob(Session s, Job job)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        void Row(string name, string markup) => grid.AddRow($"[bold]{name}[/]", markup);
        Row("id", Escape(job.Id));
        Row("kind", Escape(job.Kind));
        Row("status", Status(job.Status) + (job.CancelRequested && !job.IsTerminal ? " (cancel requested)" : ""));
        Row("progress", Escape(Percent(job.Percent)));
        Row("message", Escape(job.Message));
        if (job.Error is not null)
        {
            Row("error", $"[red]{Escape(job.Error)}[/]");
        }
        Row("attempts", job.Attempts.ToString(CultureInfo.InvariantCulture));
        Row("node", Escape(job.Node));
        Row("created", Time(job.CreatedAt));
        Row("started", Time(job.StartedAt));
        Row("finished", Time(job.FinishedAt));
        Row("input", Escape(Json(job.Input)));
        Row("result", Escape(Json(job.Result)));
        s.Out.Write(grid);
    }

    private static string Json(JsonElement? value) => value is { } v ? v.GetRawText() : "";
}
