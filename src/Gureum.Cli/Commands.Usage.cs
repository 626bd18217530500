using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>
/// Metering and billing: <c>usage</c>, <c>invoices</c>, <c>invoice</c>, <c>quotas</c>, <c>rate-limits</c>, <c>prices</c>.
/// The <c>set</c> and <c>clear</c> commands read the whole list, change it and write it back (PUT replaces the set).
/// </summary>
internal sealed partial class Commands
{
    [GeneratedRegex(@"^\d{4}-(0[1-9]|1[0-2])$")]
    private static partial Regex MonthPattern();

    // ---- usage ----

    private Command Usage()
    {
        var project = new Argument<string?>("PROJECT") { Description = "Project id or name (leave out with --all)", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Every project's usage, grouped by project too (admin key)" };
        var from = TimeOption("--from", "Start, an ISO 8601 UTC date or time, e.g. 2026-12-01 (default: the start of this month)");
        var to = TimeOption("--to", "End, an ISO 8601 UTC date or time (default: now)");
        var groupBy = new Option<string[]>("--group-by")
        {
            Description = "Group by service, key, and one of day, hour or month (and project with --all); comma-separated or repeated (default: service). The meter is always grouped",
            HelpName = "FIELDS",
            AllowMultipleArgumentsPerToken = false,
        };
        var csv = new Option<string?>("--csv") { Description = "Write the usage as CSV into FILE, or to stdout with '-'", HelpName = "FILE|-" };
        var force = ForceOption();
        var usage = new Command("usage", "Metered usage of a project (pages, characters, audio seconds, images, ...) with totals per meter; --all for every project")
        {
            project, all, from, to, groupBy, csv, force,
        };
        Set(usage, async (s, p, ct) =>
        {
            var projectName = p.GetValue(project);
            var everyProject = p.GetValue(all);
            if (projectName is null && !everyProject)
            {
                throw new UsageException("Name a PROJECT, or pass --all for every project's usage (admin key).");
            }
            if (projectName is not null && everyProject)
            {
                throw new UsageException("Give a PROJECT or --all, not both.");
            }
            var groups = (SplitList(p.GetValue(groupBy)) ?? []).Select(g => g.ToLowerInvariant()).Distinct().ToList();
            if (everyProject && !groups.Contains("project"))
            {
                // The server groups by service when nothing is named; --all adds the project to that.
                groups.InsertRange(0, groups.Count == 0 ? ["project", "service"] : ["project"]);
            }
            var query = new UsageQuery(p.GetValue(from), p.GetValue(to), groups);
            if (p.GetValue(csv) is { } csvTarget)
            {
                if (csvTarget == "-")
                {
                    using var buffer = new MemoryStream();
                    await s.Client.DownloadUsageCsvAsync(projectName, buffer, query, ct);
                    s.WriteText(Encoding.UTF8.GetString(buffer.ToArray()).TrimEnd('\r', '\n'));
                    return ExitCodes.Ok;
                }
                var defaultName = $"usage-{projectName ?? "all"}.csv";
                return await FileDownload.RunAsync(s, csvTarget, defaultName, p.GetValue(force), null,
                    (stream, token) => s.Client.DownloadUsageCsvAsync(projectName, stream, query, token), ct);
            }
            var report = projectName is null
                ? await s.Client.GetAllUsageAsync(query, ct)
                : await s.Client.GetUsageAsync(projectName, query, ct);
            if (s.Json)
            {
                s.WriteJson(report);
                return ExitCodes.Ok;
            }
            var names = report.GroupBy.Contains("project") ? await ProjectNamesAsync(s, ct) : null;
            UsageViews.WriteUsage(s, projectName, report, names);
            return ExitCodes.Ok;
        });
        return usage;
    }

    /// <summary>Project names by id, to show instead of ids; empty when the key may not list them.</summary>
    private static async Task<Dictionary<string, string>> ProjectNamesAsync(Session s, CancellationToken ct)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            string? after = null;
            do
            {
                var page = await s.Client.ListProjectsAsync(200, after, ct);
                foreach (var project in page.Items)
                {
                    names[project.Id] = project.Name;
                }
                after = page.Next;
            }
            while (after is not null);
        }
        catch (GureumApiException)
        {
        }
        return names;
    }

    // ---- invoices ----

    private Command Invoices()
    {
        var project = ProjectArgument();
        var invoices = new Command("invoices", "A project's invoices, one per month with usage (open for this month, closed before)") { project };
        Show(invoices, (s, p, ct) => s.Client.ListInvoicesAsync(p.GetValue(project)!, ct), UsageViews.WriteInvoices);
        return invoices;
    }

    private Command Invoice()
    {
        var project = ProjectArgument();
        var month = new Argument<string?>("MONTH")
        {
            Description = "yyyy-MM, e.g. 2026-12 (default: this month, UTC)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        month.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && !MonthPattern().IsMatch(r.Tokens[0].Value))
            {
                r.AddError($"'{r.Tokens[0].Value}' is not a month: write it as yyyy-MM, e.g. 2026-12.");
            }
        });
        var invoice = new Command("invoice", "One month's invoice of a project: a line per service and meter (quantity, free, billable, unit price, amount) and the total")
        {
            project, month,
        };
        Set(invoice, async (s, p, ct) =>
        {
            var projectName = p.GetValue(project)!;
            var found = await s.Client.GetInvoiceAsync(projectName, p.GetValue(month) ?? DateTimeOffset.UtcNow.ToString("yyyy-MM", CultureInfo.InvariantCulture), ct);
            if (s.Json)
            {
                s.WriteJson(found);
                return ExitCodes.Ok;
            }
            UsageViews.WriteInvoice(s, projectName, found);
            return ExitCodes.Ok;
        });
        return invoice;
    }

    // ---- quotas ----

    private Command Quotas()
    {
        var project = ProjectArgument();
        project.Hidden = true; // shown in the description: 'quotas set PROJECT' would otherwise read 'quotas <PROJECT> set <PROJECT>'
        var quotas = new Command("quotas", "gureum quotas PROJECT: monthly quotas with this month's use (a fill bar each); 'quotas set' and 'quotas clear' change them")
        {
            project,
        };
        Set(quotas, async (s, p, ct) =>
        {
            var list = await s.Client.GetQuotasAsync(p.GetValue(project)!, ct);
            if (s.Json)
            {
                s.WriteJson(list);
                return ExitCodes.Ok;
            }
            UsageViews.WriteQuotas(s, list, await SpendCurrencyAsync(s, list, ct));
            return ExitCodes.Ok;
        });

        var set = new Command("set", "Add a quota, or change the limit of the one with the same key, service and meter (admin key)");
        var setProject = ProjectArgument();
        var service = ServiceOption("A service (ocr, tts, stt, translate, faces, predict:ENDPOINT) or '*' for every service", required: true);
        var meter = new Option<string>("--meter")
        {
            Description = "What is counted, e.g. pages, characters, images; or spend: a cap on the month's spend in the price list's currency",
            HelpName = "METER",
            Required = true,
        };
        var limit = NumberOption<double>("--limit", "The most units (or spend) a month", "N", required: true);
        var keyId = KeyIdOption("Only this key of the project (default: the whole project)");
        set.Add(setProject);
        set.Add(service);
        set.Add(meter);
        set.Add(limit);
        set.Add(keyId);
        Set(set, (s, p, ct) => NeedsAdminAsync("Setting quotas", async () =>
        {
            var projectName = p.GetValue(setProject)!;
            var rule = new QuotaRule(p.GetValue(keyId), p.GetValue(service)!, p.GetValue(meter)!, p.GetValue(limit));
            var current = await s.Client.GetQuotasAsync(projectName, ct);
            var rules = current.Quotas.Select(q => q.Rule).ToList();
            bool Same(QuotaRule r) => r.KeyId == rule.KeyId && r.Service == rule.Service && r.Meter == rule.Meter;
            // The server accepts the same key, service and meter twice (the lower limit wins); set leaves one.
            var index = rules.FindIndex(Same);
            rules.RemoveAll(Same);
            rules.Insert(index >= 0 ? index : rules.Count, rule);
            var saved = await s.Client.SetQuotasAsync(projectName, rules, ct);
            if (s.Json)
            {
                s.WriteJson(saved);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]{(index >= 0 ? "Changed" : "Added")} quota[/] {Markup.Escape(UsageViews.QuotaName(rule.KeyId, rule.Service, rule.Meter))}: " +
                $"limit {Markup.Escape(UsageViews.Quantity(rule.Limit))} a month");
            UsageViews.WriteQuotas(s, saved, await SpendCurrencyAsync(s, saved, ct));
            return ExitCodes.Ok;
        }));

        var clear = new Command("clear", "Remove quotas (admin key): those matching every option given, or all of the project's without options");
        var clearProject = ProjectArgument();
        var clearService = ServiceOption("Only quotas of this service ('*' names the every-service quotas)", required: false);
        var clearMeter = new Option<string?>("--meter") { Description = "Only quotas of this meter", HelpName = "METER" };
        var clearKey = KeyIdOption("Only this key's quotas");
        clear.Add(clearProject);
        clear.Add(clearService);
        clear.Add(clearMeter);
        clear.Add(clearKey);
        Set(clear, (s, p, ct) => NeedsAdminAsync("Clearing quotas", async () =>
        {
            var projectName = p.GetValue(clearProject)!;
            var (serviceFilter, meterFilter, keyFilter) = (p.GetValue(clearService), p.GetValue(clearMeter), p.GetValue(clearKey));
            bool Matches(Quota q) =>
                (serviceFilter is null || q.Service == serviceFilter) && (meterFilter is null || q.Meter == meterFilter) && (keyFilter is null || q.KeyId == keyFilter);
            var current = await s.Client.GetQuotasAsync(projectName, ct);
            var removed = current.Quotas.Count(Matches);
            var saved = removed == 0 ? current : await s.Client.SetQuotasAsync(projectName, [.. current.Quotas.Where(q => !Matches(q)).Select(q => q.Rule)], ct);
            if (s.Json)
            {
                s.WriteJson(saved);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine(removed == 0 ? "[yellow]No quota matched; nothing was removed.[/]" : $"[green]Removed {removed} quota{(removed == 1 ? "" : "s")}.[/]");
            UsageViews.WriteQuotas(s, saved, await SpendCurrencyAsync(s, saved, ct));
            return ExitCodes.Ok;
        }));

        quotas.Add(set);
        quotas.Add(clear);
        return quotas;
    }

    /// <summary>The price list's currency where a spend quota needs it; null when there is none or it cannot be read.</summary>
    private static async Task<string?> SpendCurrencyAsync(Session s, QuotaList quotas, CancellationToken ct)
    {
        if (!quotas.Quotas.Any(q => q.Meter == "spend"))
        {
            return null;
        }
        try
        {
            return (await s.Client.GetPricesAsync(ct)).Currency;
        }
        catch (GureumApiException)
        {
            return null;
        }
    }

    // ---- rate limits ----

    private Command RateLimits()
    {
        var project = ProjectArgument();
        project.Hidden = true; // shown in the description: 'rate-limits set PROJECT' would otherwise read 'rate-limits <PROJECT> set <PROJECT>'
        var rateLimits = new Command("rate-limits", "gureum rate-limits PROJECT: requests per second and burst per key; 'rate-limits set' and 'rate-limits clear' change them")
        {
            project,
        };
        Show(rateLimits, (s, p, ct) => s.Client.GetRateLimitsAsync(p.GetValue(project)!, ct), UsageViews.WriteRateLimits);

        var set = new Command("set", "Add a rate limit, or change the one with the same key and service (admin key)");
        var setProject = ProjectArgument();
        var service = ServiceOption("A service (ocr, tts, stt, translate, faces, predict:ENDPOINT) or '*' for every service", required: true);
        var rps = NumberOption<double>("--rps", "Requests per second, sustained", "N", required: true);
        var burst = NumberOption<int>("--burst", "Requests at once after a quiet spell (the bucket's size)", "N", required: true);
        var keyId = KeyIdOption("Only this key (default: each key of the project, separately)");
        set.Add(setProject);
        set.Add(service);
        set.Add(rps);
        set.Add(burst);
        set.Add(keyId);
        Set(set, (s, p, ct) => NeedsAdminAsync("Setting rate limits", async () =>
        {
            var projectName = p.GetValue(setProject)!;
            var limit = new RateLimit(p.GetValue(keyId), p.GetValue(service)!, p.GetValue(rps), p.GetValue(burst));
            var limits = (await s.Client.GetRateLimitsAsync(projectName, ct)).RateLimits.ToList();
            var index = limits.FindIndex(r => r.KeyId == limit.KeyId && r.Service == limit.Service);
            if (index >= 0)
            {
                limits[index] = limit;
            }
            else
            {
                limits.Add(limit);
            }
            var saved = await s.Client.SetRateLimitsAsync(projectName, limits, ct);
            if (s.Json)
            {
                s.WriteJson(saved);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]{(index >= 0 ? "Changed" : "Added")} rate limit[/] for {Markup.Escape(UsageViews.RateLimitName(limit.KeyId, limit.Service))}");
            UsageViews.WriteRateLimits(s, saved);
            return ExitCodes.Ok;
        }));

        var clear = new Command("clear", "Remove rate limits (admin key): those matching every option given, or all of the project's without options");
        var clearProject = ProjectArgument();
        var clearService = ServiceOption("Only the limits of this service ('*' names the every-service limits)", required: false);
        var clearKey = KeyIdOption("Only this key's limits");
        clear.Add(clearProject);
        clear.Add(clearService);
        clear.Add(clearKey);
        Set(clear, (s, p, ct) => NeedsAdminAsync("Clearing rate limits", async () =>
        {
            var projectName = p.GetValue(clearProject)!;
            var (serviceFilter, keyFilter) = (p.GetValue(clearService), p.GetValue(clearKey));
            bool Matches(RateLimit r) => (serviceFilter is null || r.Service == serviceFilter) && (keyFilter is null || r.KeyId == keyFilter);
            var current = await s.Client.GetRateLimitsAsync(projectName, ct);
            var removed = current.RateLimits.Count(Matches);
            var saved = removed == 0 ? current : await s.Client.SetRateLimitsAsync(projectName, [.. current.RateLimits.Where(r => !Matches(r))], ct);
            if (s.Json)
            {
                s.WriteJson(saved);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine(removed == 0 ? "[yellow]No rate limit matched; nothing was removed.[/]" : $"[green]Removed {removed} rate limit{(removed == 1 ? "" : "s")}.[/]");
            UsageViews.WriteRateLimits(s, saved);
            return ExitCodes.Ok;
        }));

        rateLimits.Add(set);
        rateLimits.Add(clear);
        return rateLimits;
    }

    // ---- prices ----

    private Command Prices()
    {
        var prices = new Command("prices", "The price list: a unit price and free units a month per service and meter; 'prices set' and 'prices remove' change it");
        Show(prices, (s, _, ct) => s.Client.GetPricesAsync(ct), UsageViews.WritePrices);

        var set = new Command("set", "Add a price, or change the one of the same service and meter (admin key)");
        var service = ServiceOption("A service: ocr, tts, stt, translate, faces, or predict for every endpoint", required: true);
        var meter = new Option<string>("--meter") { Description = "What is counted, e.g. pages, characters, images", HelpName = "METER", Required = true };
        var unitPrice = NumberOption<decimal>("--unit-price", "The price of one unit, in the list's currency", "PRICE", required: true);
        var free = NumberOption<double?>("--free", "Free units per project and month (default: unchanged, 0 for a new price)", "N", required: false);
        var currency = new Option<string?>("--currency") { Description = "Change the whole list's currency, e.g. EUR (the prices are not converted)", HelpName = "CODE" };
        set.Add(service);
        set.Add(meter);
        set.Add(unitPrice);
        set.Add(free);
        set.Add(currency);
        Set(set, (s, p, ct) => NeedsAdminAsync("Setting prices", async () =>
        {
            var (serviceName, meterName) = (p.GetValue(service)!, p.GetValue(meter)!);
            var list = await s.Client.GetPricesAsync(ct);
            var entries = list.Prices.ToList();
            var index = entries.FindIndex(e => e.Service == serviceName && e.Meter == meterName);
            var price = new Price(serviceName, meterName, p.GetValue(unitPrice),
                p.GetValue(free) ?? (index >= 0 ? entries[index].FreeUnitsPerMonth : 0));
            if (index >= 0)
            {
                entries[index] = price;
            }
            else
            {
                entries.Add(price);
            }
            var saved = await s.Client.SetPricesAsync(new PriceList(p.GetValue(currency) ?? list.Currency, entries), ct);
            if (s.Json)
            {
                s.WriteJson(saved);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]{(index >= 0 ? "Changed" : "Added")} price[/] of {Markup.Escape(serviceName)} {Markup.Escape(meterName)}");
            UsageViews.WritePrices(s, saved);
            return ExitCodes.Ok;
        }));

        var remove = new Command("remove", "Remove the price of a service and meter (admin key); its use is then free");
        var removeService = ServiceOption("The service", required: true);
        var removeMeter = new Option<string>("--meter") { Description = "The meter", HelpName = "METER", Required = true };
        remove.Add(removeService);
        remove.Add(removeMeter);
        Set(remove, (s, p, ct) => NeedsAdminAsync("Removing prices", async () =>
        {
            var (serviceName, meterName) = (p.GetValue(removeService)!, p.GetValue(removeMeter)!);
            var list = await s.Client.GetPricesAsync(ct);
            if (!list.Prices.Any(e => e.Service == serviceName && e.Meter == meterName))
            {
                throw new GureumApiException(404, null, "No such price", $"The price list has no price for {serviceName} {meterName}; see gureum prices.",
                    new Dictionary<string, string[]>(), null);
            }
            var saved = await s.Client.SetPricesAsync(list with { Prices = [.. list.Prices.Where(e => e.Service != serviceName || e.Meter != meterName)] }, ct);
            if (s.Json)
            {
                s.WriteJson(saved);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]Removed price[/] of {Markup.Escape(serviceName)} {Markup.Escape(meterName)}");
            UsageViews.WritePrices(s, saved);
            return ExitCodes.Ok;
        }));

        prices.Add(set);
        prices.Add(remove);
        return prices;
    }

    // ---- shared ----

    /// <summary>Runs a change that needs an admin key; a 403 then says so besides the server's detail.</summary>
    private static async Task<int> NeedsAdminAsync(string what, Func<Task<int>> change)
    {
        try
        {
            return await change();
        }
        catch (GureumApiException e) when (e.Status == 403)
        {
            throw new GureumApiException(e.Status, e.Type, e.Title,
                $"{what} needs an admin key: pass one with --key or GUREUM_KEY. ({e.Detail ?? "The server refused this key."})", e.Errors, e.TraceId);
        }
    }

    private static Option<DateTimeOffset?> TimeOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "ISO",
        CustomParser = r => Parsers.ParseTime(r.Tokens.Count > 0 ? r.Tokens[0].Value : "", r.AddError),
    };

    private static Option<string?> ServiceOption(string description, bool required) => new("--service")
    {
        Description = description,
        HelpName = "SERVICE",
        Required = required,
    };

    /// <summary>Not <c>--key</c>: that option names the API key every command calls with.</summary>
    private static Option<string?> KeyIdOption(string description) => new("--key-id") { Description = description, HelpName = "KEYID" };

    /// <summary>A number read the same in every culture (0.0015, never 0,0015); negative numbers are refused.</summary>
    private static Option<T> NumberOption<T>(string name, string description, string helpName, bool required) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Required = required,
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
            object? value = type == typeof(int)
                ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null
                : type == typeof(decimal)
                    ? decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var m) ? m : null
                    : double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null;
            if (value is null)
            {
                r.AddError($"{name} '{text}' is not a {(type == typeof(int) ? "whole number" : "number")} of 0 or more, e.g. {(type == typeof(int) ? "20" : "0.0015")}.");
                return default!;
            }
            return (T)value;
        },
    };
}
