using System.Globalization;
using System.Text;
using Gureum.Server.Features.Datasets;
using Gureum.Server.Features.Keys;
using Gureum.Server.Features.Projects;
using Gureum.Server.Infrastructure;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Usage;

public sealed record UsageRow(string? ProjectId, string? Service, string? KeyId, string? Period, string Meter, double Quantity);
public sealed record UsageReport(DateTimeOffset From, DateTimeOffset To, IReadOnlyList<string> GroupBy, IReadOnlyList<UsageRow> Rows);
public sealed record InvoiceSummary(string Month, string Status, decimal Total, string Currency);
public sealed record InvoiceList(IReadOnlyList<InvoiceSummary> Invoices);
public sealed record QuotaSpec(string? KeyId, string Service, string Meter, double Limit);
public sealed record QuotaState(string? KeyId, string Service, string Meter, double Limit, double Used, DateTimeOffset ResetsAt);
public sealed record QuotasRequest(IReadOnlyList<QuotaSpec>? Quotas);
public sealed record QuotasResponse(IReadOnlyList<QuotaState> Quotas);
public sealed record RateLimitSpec(string? KeyId, string Service, double RequestsPerSecond, int Burst);
public sealed record RateLimitsBody(IReadOnlyList<RateLimitSpec>? RateLimits);
public sealed record MeterQuantity(string Service, string Meter, double Quantity);
public sealed record ProjectUsageRecord(string ProjectId, string ProjectName, IReadOnlyList<MeterQuantity> Meters, decimal Total);
public sealed record UsageRecords(int Year, int Month, DateTimeOffset GeneratedAt, string Currency, IReadOnlyList<ProjectUsageRecord> Projects);

/// <summary>
/// Pay-per-use: usage reports (JSON or CSV), the price list, monthly invoices, the operator's monthly usage records,
/// quotas and rate limits. Operators (admin keys) set prices, quotas and rate limits; projects read theirs.
/// </summary>
public static class UsageEndpoints
{
    private const int MaxRules = 200;
    private static readonly string[] TimeGroups = [UsagePeriods.Hour, UsagePeriods.Day, UsagePeriods.Month];

    public static IServiceCollection AddUsage(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new MeteringOptions();
        configuration.GetSection(MeteringOptions.Section).Bind(options);
        services.AddSingleton(options);
        services.AddSingleton<UsageMeter>().AddHostedService(sp => sp.GetRequiredService<UsageMeter>());
        services.AddSingleton<Metering>();
        services.AddSingleton<PriceBook>();
        services.AddHostedService<StorageMeter>();
        return services;
    }

    /// <summary>The key's rate limit for <paramref name="service"/>, checked before the handler reads the body.</summary>
    public static RouteHandlerBuilder Metered(this RouteHandlerBuilder builder, string service) => builder.AddEndpointFilter(async (context, next) =>
    {
        var http = context.HttpContext;
        var scope = await ProjectScope.ResolveAsync(http);
        if (scope is not null) await http.RequestServices.GetRequiredService<Metering>().CheckRateAsync(scope.ProjectId, scope.Caller.KeyId, service, http.RequestAborted);
        return await next(context);
    });

    public static IEndpointRouteBuilder MapUsage(this IEndpointRouteBuilder app)
    {
        var project = app.MapProjectGroup("").WithTags("Usage");
        project.MapGet("/usage", ProjectUsage).RequireScope(Scopes.ProjectRead).Produces<UsageReport>().Produces(200, contentType: "text/csv")
            .WithSummary("Usage of this project: ?from&to (UTC; default this month), ?groupBy=service,key,day|hour|month, ?format=csv").WithStandardErrors();
        project.MapGet("/invoices", Invoices).RequireScope(Scopes.ProjectRead).WithSummary("The project's monthly invoices (the current month is open)").WithStandardErrors();
        project.MapGet("/invoices/{month}", InvoiceOf).RequireScope(Scopes.ProjectRead)
            .WithSummary("One month's invoice (yyyy-MM): a line per priced service and meter, free units taken off").WithStandardErrors();
        project.MapGet("/quotas", Quotas).RequireScope(Scopes.ProjectRead).WithSummary("Quotas of this project and its keys, with this month's use").WithStandardErrors();
        project.MapPut("/quotas", SetQuotas).RequireScope(Scopes.Admin)
            .WithSummary("Replace the quotas (operators only): monthly units per service and meter, or meter 'spend' for a cost cap").WithStandardErrors();
        project.MapGet("/rate-limits", RateLimits).RequireScope(Scopes.ProjectRead).WithSummary("Rate limits of this project's keys").WithStandardErrors();
        project.MapPut("/rate-limits", SetRateLimits).RequireScope(Scopes.Admin)
            .WithSummary("Replace the rate limits (operators only): a token bucket per key and service, requests per second and burst").WithStandardErrors();

        var usage = app.MapGroup("/v1/usage").WithTags("Usage").RequireScope(Scopes.Admin);
        usage.MapGet("/", AllUsage).Produces<UsageReport>().Produces(200, contentType: "text/csv")
            .WithSummary("Usage of every project (operators only); ?groupBy may add 'project'").WithStandardErrors();
        usage.MapGet("/records/{year}/{month}", Records)
            .WithSummary("The month's usage log for billing customers: per project, each service and meter with its quantity and cost").WithStandardErrors();

        var prices = app.MapGroup("/v1/prices").WithTags("Usage");
        prices.MapGet("/", GetPrices).RequireAuthorization().WithSummary("The price list: price per unit of each service and meter, free units per month").WithStandardErrors();
        prices.MapPut("/", SetPrices).RequireScope(Scopes.Admin).WithSummary("Replace the price list (operators only)").WithStandardErrors();
        return app;
    }

    // --- Reports ---------------------------------------------------------------------------------------------------

    private static Task<IResult> ProjectUsage(HttpContext http, ProjectScope scope, GureumDb db, UsageMeter meter, TimeProvider clock,
        string? from, string? to, string? groupBy, string? format, CancellationToken ct) =>
        ReportAsync(http, db, meter, clock, scope.ProjectId, from, to, groupBy, format, ct);

    private static Task<IResult> AllUsage(HttpContext http, GureumDb db, UsageMeter meter, TimeProvider clock,
        string? from, string? to, string? groupBy, string? format, CancellationToken ct) =>
        ReportAsync(http, db, meter, clock, null, from, to, groupBy, format, ct);

    private static async Task<IResult> ReportAsync(HttpContext http, GureumDb db, UsageMeter meter, TimeProvider clock, string? projectId,
        string? fromText, string? toText, string? groupByText, string? format, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var from = fromText is null ? UsagePeriods.Start(now, UsagePeriods.Month) : QueryTime.Parse("from", fromText);
        var to = toText is null ? now : QueryTime.Parse("to", toText);
        if (to <= from) throw GureumException.Invalid("to", "'to' must be after 'from'.");
        if (to - from > TimeSpan.FromDays(3 * 366)) throw GureumException.Invalid("to", "A report covers at most 3 years; narrow 'from' and 'to'.");
        var allowed = projectId is null ? new[] { "project", "service", "key", "hour", "day", "month" } : ["service", "key", "hour", "day", "month"];
        var groups = (groupByText ?? "service").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(g => g.ToLowerInvariant()).Distinct().ToList();
        foreach (var g in groups.Where(g => !allowed.Contains(g)))
        {
            throw GureumException.Invalid("groupBy", $"'groupBy' cannot hold '{g}'; use a comma list of {string.Join(", ", allowed)}.");
        }
        var timeGroup = groups.FirstOrDefault(TimeGroups.Contains);
        if (groups.Count(TimeGroups.Contains) > 1) throw GureumException.Invalid("groupBy", "'groupBy' takes one of hour, day or month.");
        if (format is not (null or "json" or "csv")) throw GureumException.Invalid("format", "'format' must be 'json' or 'csv'.");

        // The coarsest stored period that still fits the range's edges and the grouping: months for whole months, and so on.
        var granularity = Finest(Aligned(from, to), timeGroup ?? UsagePeriods.Month);
        if (granularity == UsagePeriods.Hour && to - from > TimeSpan.FromDays(93))
        {
            throw GureumException.Invalid("from", "Ranges over 93 days must start and end at midnight UTC (or group by day or month).");
        }
        var start = UsagePeriods.Seconds(UsagePeriods.Start(from, granularity));
        var end = UsagePeriods.Seconds(to);
        await meter.FlushAsync(ct);
        var query = db.Set<UsageAggregate>().AsNoTracking().Where(a => a.Granularity == granularity && a.PeriodStart >= start && a.PeriodStart < end);
        if (projectId is not null) query = query.Where(a => a.ProjectId == projectId);
        var aggregates = await query.ToListAsync(ct);

        var rows = aggregates
            .GroupBy(a => (
                Project: groups.Contains("project") ? a.ProjectId : null,
                Service: groups.Contains("service") ? a.Service : null,
                Key: groups.Contains("key") ? a.KeyId : null,
                Period: timeGroup is null ? null : UsagePeriods.Label(UsagePeriods.Start(UsagePeriods.FromSeconds(a.PeriodStart), timeGroup), timeGroup),
                a.Meter))
            .Select(g => new UsageRow(g.Key.Project, g.Key.Service, g.Key.Key, g.Key.Period, g.Key.Meter, Math.Round(g.Sum(a => a.Quantity), 6)))
            .OrderBy(r => r.Period, StringComparer.Ordinal).ThenBy(r => r.ProjectId, StringComparer.Ordinal).ThenBy(r => r.Service, StringComparer.Ordinal)
            .ThenBy(r => r.KeyId, StringComparer.Ordinal).ThenBy(r => r.Meter, StringComparer.Ordinal)
            .ToList();
        var report = new UsageReport(from, to, groups, rows);
        if (format == "csv" || (format is null && http.Request.Headers.Accept.ToString().Contains("text/csv", StringComparison.Ordinal)))
        {
            return TypedResults.Text(Csv(report), "text/csv; charset=utf-8");
        }
        return TypedResults.Ok(report);
    }

    private static string Csv(UsageReport report)
    {
        var columns = new List<(string Name, Func<UsageRow, string?> Value)>();
        if (report.GroupBy.Contains("project")) columns.Add(("project", r => r.ProjectId));
        if (report.GroupBy.Contains("service")) columns.Add(("service", r => r.Service));
        if (report.GroupBy.Contains("key")) columns.Add(("key", r => r.KeyId));
        if (report.GroupBy.FirstOrDefault(TimeGroups.Contains) is { } time) columns.Add((time, r => r.Period));
        columns.Add(("meter", r => r.Meter));
        columns.Add(("quantity", r => r.Quantity.ToString("R", CultureInfo.InvariantCulture)));
        var csv = new StringBuilder();
        csv.AppendJoin(',', columns.Select(c => c.Name)).Append('\n');
        foreach (var row in report.Rows)
        {
            csv.AppendJoin(',', columns.Select(c => SpreadsheetSafe.CsvField(c.Value(row) ?? ""))).Append('\n');
        }
        return csv.ToString();
    }

    private static string Aligned(DateTimeOffset from, DateTimeOffset to)
    {
        bool At(string g) => UsagePeriods.Start(from, g) == from && UsagePeriods.Start(to, g) == to;
        return At(UsagePeriods.Month) ? UsagePeriods.Month : At(UsagePeriods.Day) ? UsagePeriods.Day : UsagePeriods.Hour;
    }

    private static string Finest(string a, string b) => Array.IndexOf(TimeGroups, a) < Array.IndexOf(TimeGroups, b) ? a : b;

    // --- Prices and invoices ---------------------------------------------------------------------------------------

    private static async Task<Ok<PriceList>> GetPrices(PriceBook book, CancellationToken ct) => TypedResults.Ok(await book.GetAsync(ct));

    private static async Task<Ok<PriceList>> SetPrices(PriceList request, PriceBook book, CancellationToken ct)
    {
        if (request.Currency is not { Length: 3 } currency || !currency.All(char.IsAsciiLetterUpper))
        {
            throw GureumException.Invalid("currency", "'currency' must be a three-letter ISO 4217 code such as USD, EUR or KRW.");
        }
        var prices = request.Prices ?? throw GureumException.Invalid("prices", "'prices' is required: [{\"service\", \"meter\", \"unitPrice\", \"freeUnitsPerMonth\"}].");
        if (prices.Count > MaxRules) throw GureumException.Invalid("prices", $"At most {MaxRules} prices.");
        for (var i = 0; i < prices.Count; i++)
        {
            var p = prices[i] ?? throw GureumException.Invalid($"prices[{i}]", $"'prices[{i}]' is null.");
            CheckService($"prices[{i}].service", p.Service);
            CheckMeter($"prices[{i}].meter", p.Meter, spendAllowed: false);
            if (p.UnitPrice is < 0 or > 1_000_000) throw GureumException.Invalid($"prices[{i}].unitPrice", $"'prices[{i}].unitPrice' must be from 0 to 1000000.");
            if (!double.IsFinite(p.FreeUnitsPerMonth) || p.FreeUnitsPerMonth < 0)
            {
                throw GureumException.Invalid($"prices[{i}].freeUnitsPerMonth", $"'prices[{i}].freeUnitsPerMonth' must be 0 or more.");
            }
            if (prices.Take(i).Any(o => o.Service == p.Service && o.Meter == p.Meter))
            {
                throw GureumException.Invalid($"prices[{i}]", $"'{p.Service}' / '{p.Meter}' is priced twice.");
            }
        }
        return TypedResults.Ok(await book.SetAsync(new PriceList(currency, prices), ct));
    }

    private static async Task<Ok<InvoiceList>> Invoices(ProjectScope scope, GureumDb db, PriceBook book, UsageMeter meter, TimeProvider clock, CancellationToken ct)
    {
        await meter.FlushAsync(ct);
        var current = UsagePeriods.Seconds(UsagePeriods.Start(clock.GetUtcNow(), UsagePeriods.Month));
        var months = await db.Set<UsageAggregate>().AsNoTracking()
            .Where(a => a.ProjectId == scope.ProjectId && a.Granularity == UsagePeriods.Month)
            .Select(a => a.PeriodStart).Distinct().ToListAsync(ct);
        if (!months.Contains(current)) months.Add(current);
        var list = new List<InvoiceSummary>();
        foreach (var month in months.OrderDescending())
        {
            var invoice = await InvoiceAsync(db, book, clock, scope.ProjectId, UsagePeriods.FromSeconds(month), ct);
            list.Add(new InvoiceSummary(invoice.Month, invoice.Status, invoice.Total, invoice.Currency));
        }
        return TypedResults.Ok(new InvoiceList(list));
    }

    private static async Task<Ok<Invoice>> InvoiceOf(ProjectScope scope, string month, GureumDb db, PriceBook book, UsageMeter meter, TimeProvider clock, CancellationToken ct)
    {
        if (!DateTimeOffset.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var start))
        {
            throw GureumException.Invalid("month", $"'{Truncate(month)}' is not a month; write it as yyyy-MM, e.g. 2026-12.");
        }
        if (start > clock.GetUtcNow()) throw new GureumException(ProblemCode.NotFound, $"{month} has not begun; there is no invoice for it yet.");
        await meter.FlushAsync(ct);
        return TypedResults.Ok(await InvoiceAsync(db, book, clock, scope.ProjectId, start, ct));
    }

    private static async Task<Invoice> InvoiceAsync(GureumDb db, PriceBook book, TimeProvider clock, string projectId, DateTimeOffset month, CancellationToken ct)
    {
        var usage = await MonthUsageAsync(db, month, projectId, ct);
        var prices = await book.GetAsync(ct);
        var (lines, total) = Invoicing.Compute(prices, usage.Select(u => (u.Service, u.Meter, u.Quantity)));
        var now = clock.GetUtcNow();
        var status = UsagePeriods.Next(month, UsagePeriods.Month) > now ? "open" : "closed";
        return new Invoice(projectId, UsagePeriods.Label(month, UsagePeriods.Month), status, prices.Currency, lines, total, now);
    }

    /// <summary>A month's usage per project, service and meter (summed over keys), from the month aggregates.</summary>
    private static async Task<List<(string ProjectId, string Service, string Meter, double Quantity)>> MonthUsageAsync(
        GureumDb db, DateTimeOffset month, string? projectId, CancellationToken ct)
    {
        var start = UsagePeriods.Seconds(month);
        var query = db.Set<UsageAggregate>().AsNoTracking().Where(a => a.Granularity == UsagePeriods.Month && a.PeriodStart == start);
        if (projectId is not null) query = query.Where(a => a.ProjectId == projectId);
        var rows = await query.ToListAsync(ct);
        return [.. rows.GroupBy(a => (a.ProjectId, a.Service, a.Meter)).Select(g => (g.Key.ProjectId, g.Key.Service, g.Key.Meter, g.Sum(a => a.Quantity)))];
    }

    private static async Task<Ok<UsageRecords>> Records(int year, int month, GureumDb db, PriceBook book, UsageMeter meter, TimeProvider clock, CancellationToken ct)
    {
        if (year is < 2000 or > 9999) throw GureumException.Invalid("year", "'year' must be from 2000 to 9999.");
        if (month is < 1 or > 12) throw GureumException.Invalid("month", "'month' must be from 1 to 12.");
        await meter.FlushAsync(ct);
        var start = new DateTimeOffset(year, month, 1, 0, 0, 0, TimeSpan.Zero);
        var usage = await MonthUsageAsync(db, start, null, ct);
        var prices = await book.GetAsync(ct);
        var ids = usage.Select(u => u.ProjectId).Distinct().ToList();
        var names = await db.Projects.AsNoTracking().Where(p => ids.Contains(p.Id)).ToDictionaryAsync(p => p.Id, p => p.Name, ct);
        var projects = usage.GroupBy(u => u.ProjectId).OrderBy(g => names.GetValueOrDefault(g.Key), StringComparer.Ordinal)
            .Select(g => new ProjectUsageRecord(g.Key, names.GetValueOrDefault(g.Key) ?? "(deleted)",
                [.. g.OrderBy(u => u.Service, StringComparer.Ordinal).ThenBy(u => u.Meter, StringComparer.Ordinal).Select(u => new MeterQuantity(u.Service, u.Meter, Math.Round(u.Quantity, 6)))],
                Invoicing.Compute(prices, g.Select(u => (u.Service, u.Meter, u.Quantity))).Total))
            .ToList();
        return TypedResults.Ok(new UsageRecords(year, month, clock.GetUtcNow(), prices.Currency, projects));
    }

    // --- Quotas and rate limits ------------------------------------------------------------------------------------

    private static async Task<Ok<QuotasResponse>> Quotas(ProjectScope scope, GureumDb db, PriceBook book, UsageMeter meter, TimeProvider clock, CancellationToken ct)
    {
        await meter.FlushAsync(ct);
        return TypedResults.Ok(await QuotaStatesAsync(db, book, clock, scope.ProjectId, ct));
    }

    private static async Task<QuotasResponse> QuotaStatesAsync(GureumDb db, PriceBook book, TimeProvider clock, string projectId, CancellationToken ct)
    {
        var quotas = await db.Set<Quota>().AsNoTracking().Where(q => q.ProjectId == projectId).OrderBy(q => q.Id).ToListAsync(ct);
        var month = UsagePeriods.Start(clock.GetUtcNow(), UsagePeriods.Month);
        var start = UsagePeriods.Seconds(month);
        var used = await db.Set<UsageAggregate>().AsNoTracking()
            .Where(a => a.ProjectId == projectId && a.Granularity == UsagePeriods.Month && a.PeriodStart == start).ToListAsync(ct);
        var prices = await book.GetAsync(ct);
        var resets = UsagePeriods.Next(month, UsagePeriods.Month);
        return new QuotasResponse([.. quotas.Select(q => new QuotaState(q.KeyId, q.Service, q.Meter, q.Limit,
            Math.Round(q.Fill(prices, used.Where(a => q.Covers(a.KeyId, a.Service)).Select(a => (a.Service, a.Meter, a.Quantity))), 6), resets))]);
    }

    private static async Task<Ok<QuotasResponse>> SetQuotas(ProjectScope scope, QuotasRequest request, GureumDb db, PriceBook book, Metering metering,
        TimeProvider clock, CancellationToken ct)
    {
        var quotas = request.Quotas ?? throw GureumException.Invalid("quotas", "'quotas' is required: [{\"keyId\", \"service\", \"meter\", \"limit\"}] (an empty list removes all).");
        if (quotas.Count > MaxRules) throw GureumException.Invalid("quotas", $"At most {MaxRules} quotas per project.");
        for (var i = 0; i < quotas.Count; i++)
        {
            var q = quotas[i] ?? throw GureumException.Invalid($"quotas[{i}]", $"'quotas[{i}]' is null.");
            CheckService($"quotas[{i}].service", q.Service);
            CheckMeter($"quotas[{i}].meter", q.Meter, spendAllowed: true);
            if (!double.IsFinite(q.Limit) || q.Limit < 0) throw GureumException.Invalid($"quotas[{i}].limit", $"'quotas[{i}].limit' must be 0 or more.");
            await CheckKeyAsync(db, scope.ProjectId, $"quotas[{i}].keyId", q.KeyId, ct);
        }
        await using (var transaction = await db.Database.BeginTransactionAsync(ct))
        {
            await db.Set<Quota>().Where(q => q.ProjectId == scope.ProjectId).ExecuteDeleteAsync(ct);
            db.AddRange(quotas.Select(q => new Quota { ProjectId = scope.ProjectId, KeyId = q.KeyId, Service = q.Service, Meter = q.Meter, Limit = q.Limit }));
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        await metering.ChangedAsync(scope.ProjectId);
        return TypedResults.Ok(await QuotaStatesAsync(db, book, clock, scope.ProjectId, ct));
    }

    private static async Task<Ok<RateLimitsBody>> RateLimits(ProjectScope scope, GureumDb db, CancellationToken ct) =>
        TypedResults.Ok(await RateLimitsOfAsync(db, scope.ProjectId, ct));

    private static async Task<RateLimitsBody> RateLimitsOfAsync(GureumDb db, string projectId, CancellationToken ct) =>
        new([.. (await db.Set<RateLimitRule>().AsNoTracking().Where(r => r.ProjectId == projectId).OrderBy(r => r.Id).ToListAsync(ct))
            .Select(r => new RateLimitSpec(r.KeyId, r.Service, r.RequestsPerSecond, r.Burst))]);

    private static async Task<Ok<RateLimitsBody>> SetRateLimits(ProjectScope scope, RateLimitsBody request, GureumDb db, Metering metering, CancellationToken ct)
    {
        var rules = request.RateLimits ?? throw GureumException.Invalid("rateLimits", "'rateLimits' is required: [{\"keyId\", \"service\", \"requestsPerSecond\", \"burst\"}] (an empty list removes all).");
        if (rules.Count > MaxRules) throw GureumException.Invalid("rateLimits", $"At most {MaxRules} rate limits per project.");
        for (var i = 0; i < rules.Count; i++)
        {
            var r = rules[i] ?? throw GureumException.Invalid($"rateLimits[{i}]", $"'rateLimits[{i}]' is null.");
            CheckService($"rateLimits[{i}].service", r.Service);
            if (!double.IsFinite(r.RequestsPerSecond) || r.RequestsPerSecond is < 0.001 or > 1_000_000)
            {
                throw GureumException.Invalid($"rateLimits[{i}].requestsPerSecond", $"'rateLimits[{i}].requestsPerSecond' must be from 0.001 to 1000000.");
            }
            if (r.Burst is < 1 or > 1_000_000) throw GureumException.Invalid($"rateLimits[{i}].burst", $"'rateLimits[{i}].burst' must be from 1 to 1000000.");
            if (rules.Take(i).Any(o => o.KeyId == r.KeyId && o.Service == r.Service))
            {
                throw GureumException.Invalid($"rateLimits[{i}]", $"'rateLimits[{i}]' repeats the key and service of an earlier rule.");
            }
            await CheckKeyAsync(db, scope.ProjectId, $"rateLimits[{i}].keyId", r.KeyId, ct);
        }
        await using (var transaction = await db.Database.BeginTransactionAsync(ct))
        {
            await db.Set<RateLimitRule>().Where(r => r.ProjectId == scope.ProjectId).ExecuteDeleteAsync(ct);
            db.AddRange(rules.Select(r => new RateLimitRule { ProjectId = scope.ProjectId, KeyId = r.KeyId, Service = r.Service, RequestsPerSecond = r.RequestsPerSecond, Burst = r.Burst }));
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        await metering.ChangedAsync(scope.ProjectId);
        return TypedResults.Ok(await RateLimitsOfAsync(db, scope.ProjectId, ct));
    }

    private static void CheckService(string field, string? service)
    {
        if (!ServicePattern.IsValid(service))
        {
            throw GureumException.Invalid(field, $"'{field}' must be a service (ocr, tts, stt, translate, faces, predict:<endpoint>, training, storage), 'predict' for every endpoint, or '*'.");
        }
    }

    private static void CheckMeter(string field, string? meter, bool spendAllowed)
    {
        if (string.IsNullOrEmpty(meter) || meter.Length > 32 || !meter.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') || (!spendAllowed && meter == Quota.Spend))
        {
            throw GureumException.Invalid(field, $"'{field}' must be a meter: pages, characters, audio-seconds, images, predictions, core-seconds, gb-days{(spendAllowed ? ", or 'spend' for a cost cap" : "")}.");
        }
    }

    /// <summary>A key named in a rule must be one of this project's keys (never another tenant's).</summary>
    private static async Task CheckKeyAsync(GureumDb db, string projectId, string field, string? keyId, CancellationToken ct)
    {
        if (keyId is null) return;
        if (keyId.Length > 26 || !await db.Set<ApiKey>().AnyAsync(k => k.Id == keyId && k.ProjectId == projectId, ct))
        {
            throw GureumException.Invalid(field, $"'{field}' is not a key of this project (GET /v1/projects/{{project}}/keys lists them).");
        }
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
