using System.Globalization;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>How usage, invoices, quotas, rate limits and prices look.</summary>
internal static class UsageViews
{
    /// <summary>The grouped columns in the order they are shown; the time groups share the PERIOD value.</summary>
    private static readonly string[] GroupOrder = ["project", "service", "key", "month", "day", "hour"];

    private const int BarWidth = 20;

    public static string Quantity(double value) => value.ToString("#,##0.###", CultureInfo.InvariantCulture);

    public static string Money(decimal value) => value.ToString("#,##0.00####", CultureInfo.InvariantCulture);

    public static void WriteUsage(Session s, string? project, UsageReport report, IReadOnlyDictionary<string, string>? projectNames)
    {
        var span = $"from {Views.Time(report.From)} to {Views.Time(report.To)}";
        if (report.Rows.Count == 0)
        {
            s.Out.MarkupLine($"[grey]No usage {span}.[/]");
            return;
        }
        s.Out.MarkupLine(project is null ? $"Usage of every project {span}" : $"Usage of [bold]{Views.Escape(project)}[/] {span}");
        var groups = GroupOrder.Where(g => report.GroupBy.Contains(g, StringComparer.OrdinalIgnoreCase)).ToList();
        var table = Views.Table([.. groups.Select(g => g.ToUpperInvariant()), "METER", "QUANTITY"]);
        table.Columns[^1].RightAligned();
        foreach (var row in report.Rows)
        {
            var cells = groups.Select(g => g switch
            {
                "project" => row.ProjectId is { } id && projectNames?.GetValueOrDefault(id) is { } name ? name : row.ProjectId,
                "service" => row.Service,
                "key" => row.KeyId,
                _ => row.Period,
            });
            table.AddRow(Views.Cells([.. cells, row.Meter, Quantity(row.Quantity)]));
        }
        s.Out.Write(table);

        // Totals per meter (and service, when the rows name it: pages of OCR and characters of TTS are not summed together).
        var byService = groups.Contains("service");
        var totals = report.Rows
            .GroupBy(r => (Service: byService ? r.Service : null, r.Meter))
            .Select(g => (g.Key.Service, g.Key.Meter, Quantity: g.Sum(r => r.Quantity)))
            .OrderBy(t => t.Service, StringComparer.Ordinal).ThenBy(t => t.Meter, StringComparer.Ordinal)
            .ToList();
        if (totals.Count < report.Rows.Count)
        {
            var total = byService ? Views.Table("SERVICE", "METER", "TOTAL") : Views.Table("METER", "TOTAL");
            total.Columns[^1].RightAligned();
            foreach (var t in totals)
            {
                total.AddRow(byService ? Views.Cells(t.Service, t.Meter, Quantity(t.Quantity)) : Views.Cells(t.Meter, Quantity(t.Quantity)));
            }
            s.Out.Write(total);
        }
    }

    public static void WriteInvoices(Session s, InvoiceList list)
    {
        var table = Views.Table("MONTH", "STATUS", "TOTAL");
        table.Columns[^1].RightAligned();
        foreach (var invoice in list.Invoices)
        {
            table.AddRow(Views.Escape(invoice.Month), InvoiceStatus(invoice.Status), Views.Escape($"{Money(invoice.Total)} {invoice.Currency}"));
        }
        Views.WritePage(s, table, list.Invoices.Count, null, "");
    }

    /// <param name="project">The project as the command named it (id or name).</param>
    public static void WriteInvoice(Session s, string project, Invoice invoice)
    {
        var who = project == invoice.ProjectId ? Views.Escape(project) : $"{Views.Escape(project)} ({Views.Escape(invoice.ProjectId)})";
        s.Out.MarkupLine($"Invoice [bold]{Views.Escape(invoice.Month)}[/] of [bold]{who}[/]: " +
            $"{InvoiceStatus(invoice.Status)}, in {Views.Escape(invoice.Currency)}, generated {Views.Time(invoice.GeneratedAt)}");
        if (invoice.Lines.Count == 0)
        {
            s.Out.MarkupLine("[grey]No usage this month.[/]");
        }
        else
        {
            var table = Views.Table("SERVICE", "METER", "QUANTITY", "FREE", "BILLABLE", "UNIT PRICE", "AMOUNT");
            for (var i = 2; i < table.Columns.Count; i++)
            {
                table.Columns[i].RightAligned();
            }
            foreach (var line in invoice.Lines)
            {
                table.AddRow(Views.Cells(line.Service, line.Meter, Quantity(line.Quantity), Quantity(line.FreeUnits), Quantity(line.BillableQuantity),
                    Money(line.UnitPrice), Money(line.Amount)));
            }
            s.Out.Write(table);
        }
        s.Out.MarkupLine($"[bold]Total: {Views.Escape(Money(invoice.Total))} {Views.Escape(invoice.Currency)}[/]");
    }

    private static string InvoiceStatus(string status) => status switch
    {
        "open" => "[yellow]open[/]",
        "closed" => "closed",
        _ => Views.Escape(status),
    };

    /// <param name="currency">The price list's currency, to label spend quotas; null when unknown.</param>
    public static void WriteQuotas(Session s, QuotaList list, string? currency)
    {
        if (list.Quotas.Count == 0)
        {
            s.Out.MarkupLine("[grey]No quotas: nothing limits this project's monthly use.[/]");
            return;
        }
        var table = Views.Table("KEY", "SERVICE", "METER", "USED", "LIMIT", "FILL", "RESETS");
        table.Columns[3].RightAligned();
        table.Columns[4].RightAligned();
        foreach (var q in list.Quotas)
        {
            var spend = q.Meter == "spend";
            string Amount(double value) => spend ? Money((decimal)value) + (currency is null ? "" : " " + currency) : Quantity(value);
            table.AddRow(
                Views.Escape(q.KeyId ?? "(project)"), Views.Escape(ServiceName(q.Service)), Views.Escape(q.Meter),
                Views.Escape(Amount(q.Used)), Views.Escape(Amount(q.Limit)), Bar(q.Used, q.Limit), Views.Escape(Views.Time(q.ResetsAt)));
        }
        s.Out.Write(table);
    }

    /// <summary>e.g. <c>pages of ocr for key 01j…</c>.</summary>
    public static string QuotaName(string? keyId, string service, string meter) =>
        $"{meter} of {ServiceName(service)}" + (keyId is null ? "" : $" for key {keyId}");

    /// <summary>A bar of <see cref="BarWidth"/> cells filled by used/limit (green, yellow from 80 %, red when reached) and the percentage.</summary>
    public static string Bar(double used, double limit)
    {
        var ratio = limit > 0 ? used / limit : used > 0 ? 1 : 0;
        var filled = (int)Math.Round(Math.Clamp(ratio, 0, 1) * BarWidth);
        var color = ratio >= 1 ? "red" : ratio >= 0.8 ? "yellow" : "green";
        return $"[{color}]{new string('█', filled)}[/][grey]{new string('░', BarWidth - filled)}[/] " +
            (ratio * 100).ToString("0", CultureInfo.InvariantCulture) + "%";
    }

    public static void WriteRateLimits(Session s, RateLimitList list)
    {
        if (list.RateLimits.Count == 0)
        {
            s.Out.MarkupLine("[grey]No rate limits: this project's keys are not throttled.[/]");
            return;
        }
        var table = Views.Table("KEY", "SERVICE", "REQUESTS/S", "BURST");
        table.Columns[2].RightAligned();
        table.Columns[3].RightAligned();
        foreach (var r in list.RateLimits)
        {
            table.AddRow(Views.Cells(r.KeyId ?? "(each key)", ServiceName(r.Service), Quantity(r.RequestsPerSecond), Views.Count(r.Burst)));
        }
        s.Out.Write(table);
    }

    /// <summary>e.g. <c>ocr for each key</c>.</summary>
    public static string RateLimitName(string? keyId, string service) =>
        ServiceName(service) + (keyId is null ? " for each key" : $" for key {keyId}");

    public static void WritePrices(Session s, PriceList list)
    {
        if (list.Prices.Count == 0)
        {
            s.Out.MarkupLine($"[grey]No prices ({Views.Escape(list.Currency)}): every service is free.[/]");
            return;
        }
        s.Out.MarkupLine($"Prices in [bold]{Views.Escape(list.Currency)}[/]");
        var table = Views.Table("SERVICE", "METER", "UNIT PRICE", "FREE A MONTH");
        table.Columns[2].RightAligned();
        table.Columns[3].RightAligned();
        foreach (var price in list.Prices)
        {
            table.AddRow(Views.Cells(price.Service == "predict" ? "predict (every endpoint)" : price.Service, price.Meter,
                Money(price.UnitPrice), Quantity(price.FreeUnitsPerMonth)));
        }
        s.Out.Write(table);
    }

    private static string ServiceName(string service) => service == "*" ? "* (every service)" : service;
}
