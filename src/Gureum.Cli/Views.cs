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

    // ---- datasets ----

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Version(int? number) => number is { } n ? "v" + n.ToString(CultureInfo.InvariantCulture) : "";

    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? bytes.ToString(CultureInfo.InvariantCulture) + " B"
            : value.ToString(value < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>e.g. <c>csv.gz, delimiter ';', header</c>.</summary>
    public static string Format(DatasetFormat format)
    {
        var parts = new List<string> { format.Format + (format.Gzip ? ".gz" : "") };
        if (format.Delimiter is { Length: > 0 } delimiter && delimiter != ",")
        {
            parts.Add("delimiter " + (delimiter == "\t" ? "tab" : $"'{delimiter}'"));
        }
        if (format.HasHeader is false)
        {
            parts.Add("no header");
        }
        if (format.Encoding is { Length: > 0 } encoding && !encoding.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            parts.Add(encoding);
        }
        return string.Join(", ", parts);
    }

    public static string Number(double? value) => value is { } v ? v.ToString("G6", CultureInfo.InvariantCulture) : "";

    private const string Blocks = "▁▂▃▄▅▆▇█";

    /// <summary>
    /// The values as one line of block characters from lowest (▁) to highest (█), at most <paramref name="width"/> wide: a
    /// longer series is averaged in equal buckets. All equal values draw a flat line; NaN and infinities leave a gap.
    /// </summary>
    public static string Sparkline(IReadOnlyList<double> values, int width)
    {
        var count = Math.Min(values.Count, Math.Max(width, 1));
        var buckets = new double[count];
        for (var i = 0; i < count; i++)
        {
            var (start, end) = (i * values.Count / count, (i + 1) * values.Count / count);
            var finite = Enumerable.Range(start, end - start).Select(j => values[j]).Where(double.IsFinite).ToList();
            buckets[i] = finite.Count > 0 ? finite.Average() : double.NaN;
        }
        var drawn = buckets.Where(double.IsFinite).ToList();
        if (drawn.Count == 0)
        {
            return new string(' ', count);
        }
        var (min, max) = (drawn.Min(), drawn.Max());
        return string.Concat(buckets.Select(v => !double.IsFinite(v) ? ' '
            : max == min ? Blocks[3]
            : Blocks[Math.Clamp((int)Math.Round((v - min) / (max - min) * (Blocks.Length - 1)), 0, Blocks.Length - 1)]));
    }

    public static void WriteUploadedVersion(Session s, string dataset, DatasetVersion version)
    {
        s.Out.MarkupLine(
            $"[green]Created version {version.Number}[/] of dataset [bold]{Escape(dataset)}[/]: " +
            $"{Count(version.RowCount)} rows, {(version.SkippedRows > 0 ? "[yellow]" + Count(version.SkippedRows) + " skipped[/]" : "0 skipped")} " +
            $"({Escape(Format(version.Format))}, {Bytes(version.SizeBytes)})");
        WriteSchema(s, version.Schema);
        if (version.Errors.Count > 0)
        {
            s.Out.MarkupLine(version.SkippedRows > version.Errors.Count
                ? $"[yellow]Skipped rows (the first {version.Errors.Count}):[/]"
                : "[yellow]Skipped rows:[/]");
            foreach (var error in version.Errors)
            {
                s.Out.MarkupLine($"[yellow]  {Escape(Where(error))}: {Escape(error.Message)}[/]");
            }
        }
    }

    public static void WriteSchema(Session s, DatasetSchema schema)
    {
        var table = Table("COLUMN", "TYPE", "NOTE");
        foreach (var column in schema.Columns)
        {
            var notes = new List<string>();
            if (column.Ignored)
            {
                notes.Add("ignored");
            }
            if (column.Overridden)
            {
                notes.Add("type set by hand");
            }
            if (column.DateTimeFormat is { Length: > 0 } dateFormat)
            {
                notes.Add("format " + dateFormat);
            }
            table.AddRow(Cells(column.Name, column.Type, string.Join(", ", notes)));
        }
        s.Out.Write(table);
    }

    public static void WriteProfile(Session s, string dataset, int version, DatasetProfile profile)
    {
        s.Out.MarkupLine($"Dataset [bold]{Escape(dataset)}[/] version {version}: {Count(profile.RowCount)} rows, {Count(profile.Columns.Count)} columns");
        var table = Table("COLUMN", "TYPE", "MISSING", "DISTINCT", "SUMMARY");
        foreach (var column in profile.Columns)
        {
            var missing = profile.RowCount == 0 ? "" : Count(column.Missing) + " (" + Percent(column.Missing * 100.0 / profile.RowCount) + ")";
            table.AddRow(Cells(column.Name, column.Type, missing, (column.DistinctIsEstimate ? "~" : "") + Count(column.Distinct), Summary(column)));
        }
        s.Out.Write(table);
        if (profile.Warnings.Count == 0)
        {
            s.Out.MarkupLine("[green]No warnings.[/]");
            return;
        }
        s.Out.MarkupLine("[yellow bold]Warnings:[/]");
        foreach (var warning in profile.Warnings)
        {
            s.Out.MarkupLine($"[yellow]  {Escape(warning.Code)}[/] {Escape(warning.Column)}: {Escape(warning.Message)}");
        }
    }

    /// <summary>What says most about a column: its range, its top values, its dates or its text lengths.</summary>
    private static string Summary(ColumnProfile column)
    {
        if (column.Min is not null || column.Mean is not null || column.Max is not null)
        {
            return $"min {Number(column.Min)} / mean {Number(column.Mean)} / max {Number(column.Max)}";
        }
        if (column.TopValues is { Count: > 0 } top)
        {
            var shown = string.Join(", ", top.Take(3).Select(v => $"{v.Value} ({Count(v.Count)})"));
            return top.Count > 3 ? shown + ", ..." : shown;
        }
        if (column.MinDate is not null || column.MaxDate is not null)
        {
            return $"{column.MinDate} .. {column.MaxDate}";
        }
        if (column.MeanLength is not null)
        {
            return $"length {Number(column.MinLength)}-{Number(column.MaxLength)}, mean {Number(column.MeanLength)}";
        }
        return "";
    }

    public static void WritePreview(Session s, DatasetPreview preview)
    {
        if (preview.Rows.Count == 0)
        {
            s.Out.MarkupLine("[grey]No rows.[/]");
            return;
        }
        var table = Table([.. preview.Columns]);
        foreach (var row in preview.Rows)
        {
            table.AddRow(Cells([.. preview.Columns.Select(c => row.TryGetValue(c, out var value) ? Cell(value) : null)]));
        }
        s.Out.Write(table);
    }

    private static string? Cell(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.String => value.GetString(),
        _ => value.GetRawText(),
    };

    private static string Where(DataError error) =>
        error.Column is null ? $"line {error.Line}" : $"line {error.Line}, column '{error.Column}'";

    private static string Json(JsonElement? value) => value is { } v ? v.GetRawText() : "";
}
