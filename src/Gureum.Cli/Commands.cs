using System.CommandLine;
using System.Text.Json;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>The command tree. Built per run: System.CommandLine symbols are not meant to be shared between trees.</summary>
internal sealed partial class Commands(SessionFactory factory)
{
    private readonly Option<Uri> _url = new("--url")
    {
        Description = "Server address [env GUREUM_URL]",
        HelpName = "URL",
        Recursive = true,
        CustomParser = r => Parsers.ParseUrl(r.Tokens.Count > 0 ? r.Tokens[0].Value : "", r.AddError)!,
        DefaultValueFactory = r => Environment.GetEnvironmentVariable("GUREUM_URL") is { Length: > 0 } env
            ? Parsers.ParseUrl(env, m => r.AddError("GUREUM_URL: " + m))!
            : new Uri(CliApp.DefaultUrl),
    };

    private readonly Option<string?> _key = new("--key")
    {
        Description = "API key [env GUREUM_KEY, else ./.gureum-data/bootstrap-key]",
        HelpName = "KEY",
        Recursive = true,
        // No DefaultValueFactory: help would print the key as the default. Resolved in Set instead.
    };

    private readonly Option<bool> _json = new("--json")
    {
        Description = "Print raw JSON instead of tables (for scripts)",
        Recursive = true,
    };

    public RootCommand Build()
    {
        var root = new RootCommand($"""
            gureum: manage a Gureum server (projects, API keys, jobs, datasets, training, experiments and runs, models, serving, AI APIs, usage and billing).
            Start the server itself with ./gureum serve from the repository root.

            {ExitCodes.HelpText}
            """)
        {
            _url, _key, _json,
            Projects(), Keys(), Jobs(), Datasets(), Train(), Training(), Experiments(), Runs(), Models(), Deploy(), Predict(), Endpoints(), Drift(), Alerts(), AlertRules(), RetrainingPolicy(),
            Approvals(), RetrainingRuns(), Nodes(), Ai(),
            Usage(), Invoices(), Invoice(), Quotas(), RateLimits(), Prices(), Admin(), Health(),
            RepositoryOnly("serve", "Start the server (use ./gureum serve from the repository root)"),
            RepositoryOnly("test", "Run the test suites (use ./gureum test from the repository root)"),
        };
        return root;
    }

    // ---- projects ----

    private Command Projects()
    {
        var list = new Command("list", "List the projects this key can see");
        var limit = LimitOption();
        var after = AfterOption();
        list.Add(limit);
        list.Add(after);
        Set(list, async (s, p, ct) =>
        {
            var page = await s.Client.ListProjectsAsync(p.GetValue(limit), p.GetValue(after), ct);
            if (s.Json)
            {
                s.WriteJson(page);
                return ExitCodes.Ok;
            }
            var table = Views.Table("ID", "NAME", "DESCRIPTION", "CREATED");
            foreach (var project in page.Items)
            {
                table.AddRow(Views.Cells(project.Id, project.Name, project.Description, Views.Time(project.CreatedAt)));
            }
            Views.WritePage(s, table, page.Items.Count, page.Next, "--after");
            return ExitCodes.Ok;
        });

        var create = new Command("create", "Create a project (admin)");
        var name = new Argument<string>("NAME") { Description = "Lower-case letters, digits, '.', '_' and '-'" };
        var description = new Option<string?>("--description") { Description = "Free text, at most 1024 characters", HelpName = "TEXT" };
        create.Add(name);
        create.Add(description);
        Set(create, async (s, p, ct) =>
        {
            var project = await s.Client.CreateProjectAsync(p.GetValue(name)!, p.GetValue(description), ct);
            if (s.Json)
            {
                s.WriteJson(project);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]Created project[/] [bold]{Markup.Escape(project.Name)}[/] ({Markup.Escape(project.Id)})");
            return ExitCodes.Ok;
        });

        var get = new Command("get", "Show a project");
        var project = ProjectArgument();
        get.Add(project);
        Set(get, async (s, p, ct) =>
        {
            var found = await s.Client.GetProjectAsync(p.GetValue(project)!, ct);
            if (s.Json)
            {
                s.WriteJson(found);
                return ExitCodes.Ok;
            }
            s.Out.Write(Views.Details(
                ("id", found.Id), ("name", found.Name), ("description", found.Description), ("created", Views.Time(found.CreatedAt))));
            return ExitCodes.Ok;
        });

        var delete = new Command("delete", "Delete a project with its keys and jobs (admin)");
        var toDelete = ProjectArgument();
        delete.Add(toDelete);
        Set(delete, async (s, p, ct) =>
        {
            var reference = p.GetValue(toDelete)!;
            await s.Client.DeleteProjectAsync(reference, ct);
            if (s.Json)
            {
                s.WriteJson(new { deleted = reference });
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]Deleted project[/] [bold]{Markup.Escape(reference)}[/]");
            return ExitCodes.Ok;
        });

        return new Command("projects", "Projects: the tenancy unit") { list, create, get, delete };
    }

    // ---- keys ----

    private Command Keys()
    {
        var list = new Command("list", "List a project's keys (never their secrets)");
        var project = ProjectArgument();
        var limit = LimitOption();
        var after = AfterOption();
        list.Add(project);
        list.Add(limit);
        list.Add(after);
        Set(list, async (s, p, ct) =>
        {
            var page = await s.Client.ListKeysAsync(p.GetValue(project)!, p.GetValue(limit), p.GetValue(after), ct);
            if (s.Json)
            {
                s.WriteJson(page);
                return ExitCodes.Ok;
            }
            var table = Views.Table("ID", "NAME", "SCOPES", "STATUS", "CREATED", "EXPIRES", "LAST USED");
            foreach (var key in page.Items)
            {
                table.AddRow(Views.Cells(key.Id, key.Name, string.Join(' ', key.Scopes), key.Status,
                    Views.Time(key.CreatedAt), Views.Time(key.ExpiresAt), Views.Time(key.LastUsedAt)));
            }
            Views.WritePage(s, table, page.Items.Count, page.Next, "--after");
            return ExitCodes.Ok;
        });

        var create = new Command("create", "Create a key for a project; its secret is shown once");
        var createProject = ProjectArgument();
        var name = new Argument<string>("NAME") { Description = "A label for the key" };
        var scopes = new Option<string[]>("--scope")
        {
            Description = "project:write, project:read, predict or ai (repeatable; default project:read)",
            HelpName = "SCOPE",
            AllowMultipleArgumentsPerToken = false,
        };
        var expires = ExpiresOption();
        create.Add(createProject);
        create.Add(name);
        create.Add(scopes);
        create.Add(expires);
        Set(create, async (s, p, ct) =>
        {
            var requested = (p.GetValue(scopes) ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            return WriteCreatedKey(s, await s.Client.CreateKeyAsync(p.GetValue(createProject)!, p.GetValue(name)!, requested, p.GetValue(expires), ct));
        });

        var revoke = new Command("revoke", "Revoke a key; it stops working at once");
        var revokeProject = ProjectArgument();
        var keyId = new Argument<string>("KEYID") { Description = "The key's id (see keys list)" };
        revoke.Add(revokeProject);
        revoke.Add(keyId);
        Set(revoke, async (s, p, ct) =>
        {
            await s.Client.RevokeKeyAsync(p.GetValue(revokeProject)!, p.GetValue(keyId)!, ct);
            if (s.Json)
            {
                s.WriteJson(new { revoked = p.GetValue(keyId) });
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]Revoked key[/] [bold]{Markup.Escape(p.GetValue(keyId)!)}[/]");
            return ExitCodes.Ok;
        });

        return new Command("keys", "API keys of a project") { list, create, revoke };
    }

    // ---- jobs ----

    private Command Jobs()
    {
        var list = new Command("list", "List a project's jobs, newest first");
        var project = ProjectArgument();
        var status = new Option<JobStatus?>("--status") { Description = "Only jobs in this status", HelpName = "queued|running|succeeded|failed|cancelled" };
        var limit = LimitOption();
        var before = new Option<string?>("--before") { Description = "Cursor: the 'next' value of the previous page", HelpName = "CURSOR" };
        list.Add(project);
        list.Add(status);
        list.Add(limit);
        list.Add(before);
        Set(list, async (s, p, ct) =>
        {
            var page = await s.Client.ListJobsAsync(p.GetValue(project)!, p.GetValue(status), p.GetValue(limit), p.GetValue(before), ct);
            if (s.Json)
            {
                s.WriteJson(page);
                return ExitCodes.Ok;
            }
            var table = Views.Table("ID", "KIND", "STATUS", "PROGRESS", "MESSAGE", "CREATED");
            foreach (var job in page.Items)
            {
                table.AddRow(Views.Escape(job.Id), Views.Escape(job.Kind), Views.Status(job.Status),
                    Views.Escape(Views.Percent(job.Percent)), Views.Escape(job.Error ?? job.Message), Views.Escape(Views.Time(job.CreatedAt)));
            }
            Views.WritePage(s, table, page.Items.Count, page.Next, "--before");
            return ExitCodes.Ok;
        });

        var get = new Command("get", "Show a job's status, progress and result");
        var getProject = ProjectArgument();
        var getJob = JobArgument();
        get.Add(getProject);
        get.Add(getJob);
        Set(get, async (s, p, ct) =>
        {
            var job = await s.Client.GetJobAsync(p.GetValue(getProject)!, p.GetValue(getJob)!, ct);
            if (s.Json)
            {
                s.WriteJson(job);
                return ExitCodes.Ok;
            }
            Views.WriteJob(s, job);
            return ExitCodes.Ok;
        });

        var submit = new Command("submit", "Submit a job");
        var submitProject = ProjectArgument();
        var kind = new Argument<string>("KIND") { Description = "Job kind, e.g. diagnostics.wait" };
        var input = new Option<JsonElement?>("--input")
        {
            Description = """The job's input as JSON, e.g. '{"steps":3,"stepMilliseconds":100}'""",
            HelpName = "JSON",
            CustomParser = r => Parsers.ParseJson(r.Tokens.Count > 0 ? r.Tokens[0].Value : "", r.AddError),
        };
        var watch = new Option<bool>("--watch") { Description = "Then follow it like 'jobs watch' (exit code 8 unless it succeeds)" };
        submit.Add(submitProject);
        submit.Add(kind);
        submit.Add(input);
        submit.Add(watch);
        Set(submit, async (s, p, ct) =>
        {
            var job = await s.Client.SubmitJobAsync(p.GetValue(submitProject)!, p.GetValue(kind)!, p.GetValue(input), ct);
            if (s.Json)
            {
                s.WriteJson(job, indented: !p.GetValue(watch));
            }
            else
            {
                s.Out.MarkupLine($"[green]Submitted job[/] [bold]{Markup.Escape(job.Id)}[/] ({Markup.Escape(job.Kind)}, {Views.Status(job.Status)})");
                if (!p.GetValue(watch))
                {
                    s.Out.MarkupLine($"Follow it with [bold]gureum jobs watch {Markup.Escape(p.GetValue(submitProject)!)} {Markup.Escape(job.Id)}[/]");
                }
            }
            return p.GetValue(watch) ? await JobWatch.RunAsync(s, p.GetValue(submitProject)!, job.Id, ct) : ExitCodes.Ok;
        });

        var cancel = new Command("cancel", "Cancel a queued or running job");
        var cancelProject = ProjectArgument();
        var cancelJob = JobArgument();
        cancel.Add(cancelProject);
        cancel.Add(cancelJob);
        Set(cancel, async (s, p, ct) =>
        {
            var job = await s.Client.CancelJobAsync(p.GetValue(cancelProject)!, p.GetValue(cancelJob)!, ct);
            if (s.Json)
            {
                s.WriteJson(job);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[yellow]Cancellation requested[/] for job [bold]{Markup.Escape(job.Id)}[/] (now {Views.Status(job.Status)})");
            return ExitCodes.Ok;
        });

        var watchCommand = new Command("watch", "Follow a job live until it ends (exit code 0 only if it succeeds, else 8)");
        var watchProject = ProjectArgument();
        var watchJob = JobArgument();
        watchCommand.Add(watchProject);
        watchCommand.Add(watchJob);
        Set(watchCommand, (s, p, ct) => JobWatch.RunAsync(s, p.GetValue(watchProject)!, p.GetValue(watchJob)!, ct));

        return new Command("jobs", "Background jobs of a project") { list, get, submit, cancel, watchCommand };
    }

    // ---- admin keys ----

    private Command Admin()
    {
        var list = new Command("list", "List admin keys");
        var limit = LimitOption();
        var after = AfterOption();
        list.Add(limit);
        list.Add(after);
        Set(list, async (s, p, ct) =>
        {
            var page = await s.Client.ListAdminKeysAsync(p.GetValue(limit), p.GetValue(after), ct);
            if (s.Json)
            {
                s.WriteJson(page);
                return ExitCodes.Ok;
            }
            var table = Views.Table("ID", "NAME", "STATUS", "CREATED", "EXPIRES", "LAST USED");
            foreach (var key in page.Items)
            {
                table.AddRow(Views.Cells(key.Id, key.Name, key.Status, Views.Time(key.CreatedAt), Views.Time(key.ExpiresAt), Views.Time(key.LastUsedAt)));
            }
            Views.WritePage(s, table, page.Items.Count, page.Next, "--after");
            return ExitCodes.Ok;
        });

        var create = new Command("create", "Create an admin key (for rotation); its secret is shown once");
        var name = new Argument<string>("NAME") { Description = "A label for the key" };
        var expires = ExpiresOption();
        create.Add(name);
        create.Add(expires);
        Set(create, async (s, p, ct) => WriteCreatedKey(s, await s.Client.CreateAdminKeyAsync(p.GetValue(name)!, p.GetValue(expires), ct)));

        var revoke = new Command("revoke", "Revoke an admin key (not the last active one)");
        var keyId = new Argument<string>("KEYID") { Description = "The key's id (see admin keys list)" };
        revoke.Add(keyId);
        Set(revoke, async (s, p, ct) =>
        {
            await s.Client.RevokeAdminKeyAsync(p.GetValue(keyId)!, ct);
            if (s.Json)
            {
                s.WriteJson(new { revoked = p.GetValue(keyId) });
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]Revoked admin key[/] [bold]{Markup.Escape(p.GetValue(keyId)!)}[/]");
            return ExitCodes.Ok;
        });

        return new Command("admin", "Administration (admin keys only)")
        {
            new Command("keys", "Admin keys: full access to every project") { list, create, revoke },
        };
    }

    private static int WriteCreatedKey(Session s, CreatedApiKey created)
    {
        if (s.Json)
        {
            s.WriteJson(created);
            s.Err.MarkupLine("[yellow]The secret is shown only once: store it now.[/]");
            return ExitCodes.Ok;
        }
        s.Out.MarkupLine($"[green]Created key[/] [bold]{Markup.Escape(created.Key.Name)}[/] ({Markup.Escape(created.Key.Id)}) with scopes {Markup.Escape(string.Join(' ', created.Key.Scopes))}");
        s.Out.WriteLine();
        s.Out.WriteLine(created.Secret);
        s.Out.WriteLine();
        s.Out.MarkupLine("[yellow bold]This secret is shown only once: store it now. It cannot be read back; revoke the key and create another if it is lost.[/]");
        return ExitCodes.Ok;
    }

    // ---- health ----

    private Command Health()
    {
        var health = new Command("health", "Show whether the server is ready (exit code 7 when it is not)");
        Set(health, async (s, _, ct) =>
        {
            var report = await s.Client.GetReadyAsync(ct);
            if (s.Json)
            {
                s.WriteJson(report);
            }
            else
            {
                var table = Views.Table("CHECK", "STATUS", "DESCRIPTION");
                foreach (var (name, check) in report.Checks)
                {
                    table.AddRow(Views.Cells(name, check.Status, check.Description));
                }
                s.Out.Write(table);
                s.Out.MarkupLine(report.IsHealthy ? "[green]ready[/]" : $"[red]{Markup.Escape(report.Status)}[/]");
            }
            return report.IsHealthy ? ExitCodes.Ok : ExitCodes.Unreachable;
        });
        return health;
    }

    private Command RepositoryOnly(string name, string description)
    {
        var command = new Command(name, description) { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(_ =>
        {
            Actions.Problem(factory.Err, $"'gureum {name}' is not part of this command line",
                $"Run ./gureum {name} from the repository root: the repository's entry script handles it.", null);
            return ExitCodes.Usage;
        });
        return command;
    }

    // ---- shared symbols ----

    private void Set(Command command, Func<Session, ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction((parse, ct) => Actions.RunAsync(
            factory, parse.GetValue(_url) ?? new Uri(CliApp.DefaultUrl), parse.GetValue(_key) ?? Parsers.DefaultKey(), parse.GetValue(_json),
            (session, token) => action(session, parse, token), ct));

    /// <summary>A command that answers one value: printed as JSON with --json, else drawn by <paramref name="view"/>.</summary>
    private void Show<T>(Command command, Func<Session, ParseResult, CancellationToken, Task<T>> fetch, Action<Session, T> view) =>
        Set(command, async (s, p, ct) =>
        {
            var value = await fetch(s, p, ct);
            if (s.Json)
            {
                s.WriteJson(value);
            }
            else
            {
                view(s, value);
            }
            return ExitCodes.Ok;
        });

    private static Option<string[]> TagOption() => new("--tag")
    {
        Description = "A tag as key=value (repeatable)",
        HelpName = "KEY=VALUE",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The <c>--tag key=value</c> pairs as a dictionary; null when there are none.</summary>
    private static Dictionary<string, string>? ParseTags(string[]? pairs)
    {
        if (pairs is not { Length: > 0 })
        {
            return null;
        }
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new UsageException($"--tag '{pair}' must look like key=value, e.g. team=vision.");
            }
            tags[pair[..equals]] = pair[(equals + 1)..];
        }
        return tags;
    }

    private static Argument<string> ProjectArgument() => new("PROJECT") { Description = "Project id or name" };

    private static Option<string?> AfterOption() => new("--after") { Description = "Cursor: the 'next' value of the previous page", HelpName = "CURSOR" };

    private static Option<DateTimeOffset?> ExpiresOption() => new("--expires")
    {
        Description = "Expiry time, ISO 8601 (e.g. 2030-01-31T00:00:00Z)",
        HelpName = "ISO",
        CustomParser = r => Parsers.ParseTime(r.Tokens.Count > 0 ? r.Tokens[0].Value : "", r.AddError),
    };

    private static Argument<string> JobArgument() => new("JOB") { Description = "Job id" };

    private static Option<int?> LimitOption() => new("--limit") { Description = "Page size, 1-200 (default 50)", HelpName = "N" };
}
