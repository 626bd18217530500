using System.CommandLine;
using System.Globalization;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>The <c>models</c> commands: the model registry (registered models, versions, aliases, lineage).</summary>
internal sealed partial class Commands
{
    private Command Models()
    {
        var listProject = ProjectArgument();
        var limit = LimitOption();
        var after = AfterOption();
        var list = new Command("list", "List a project's registered models") { listProject, limit, after };
        Show(list, (s, p, ct) => s.Client.ListModelsAsync(p.GetValue(listProject)!, p.GetValue(limit), p.GetValue(after), ct), (s, page) =>
        {
            var table = Views.Table("NAME", "LATEST", "ALIASES", "DESCRIPTION", "UPDATED");
            foreach (var model in page.Items)
            {
                table.AddRow(Views.Cells(model.Name, Views.Version(model.LatestVersion), RegistryViews.Aliases(model.Aliases), model.Description,
                    Views.Time(model.UpdatedAt)));
            }
            Views.WritePage(s, table, page.Items.Count, page.Next, "--after");
        });

        var createProject = ProjectArgument();
        var name = new Argument<string>("NAME") { Description = "Lower-case letters, digits, '.', '_' and '-'" };
        var description = new Option<string?>("--description") { Description = "Free text, at most 5000 characters", HelpName = "TEXT" };
        var tags = TagOption();
        var create = new Command("create", "Register a model name (then upload versions to it)") { createProject, name, description, tags };
        Show(create, (s, p, ct) => s.Client.CreateModelAsync(p.GetValue(createProject)!, p.GetValue(name)!, p.GetValue(description), ParseTags(p.GetValue(tags)), ct: ct),
            (s, model) => s.Out.MarkupLine($"[green]Registered model[/] [bold]{Markup.Escape(model.Name)}[/] ({Markup.Escape(model.Id)})"));

        var getProject = ProjectArgument();
        var getModel = ModelArgument();
        var getVersion = new Option<string?>("--version") { Description = "Show this version (a number or an alias) instead: its file, signature and metrics", HelpName = "VERSION" };
        var get = new Command("get", "Show a registered model with its aliases, or one of its versions") { getProject, getModel, getVersion };
        Set(get, async (s, p, ct) =>
        {
            var (project, model) = (p.GetValue(getProject)!, p.GetValue(getModel)!);
            if (p.GetValue(getVersion) is { } version)
            {
                var found = await s.Client.GetModelVersionAsync(project, model, version, ct);
                if (s.Json) s.WriteJson(found);
                else RegistryViews.WriteVersion(s, found);
                return ExitCodes.Ok;
            }
            var registered = await s.Client.GetModelAsync(project, model, ct);
            if (s.Json) s.WriteJson(registered);
            else RegistryViews.WriteModel(s, registered);
            return ExitCodes.Ok;
        });

        var versionsProject = ProjectArgument();
        var versionsModel = ModelArgument();
        var versions = new Command("versions", "List a model's versions, newest first") { versionsProject, versionsModel };
        Show(versions, (s, p, ct) => s.Client.ListModelVersionsAsync(p.GetValue(versionsProject)!, p.GetValue(versionsModel)!, ct), (s, found) =>
        {
            var table = Views.Table("VERSION", "FORMAT", "SIZE", "ALIASES", "SOURCE", "RUN", "METRICS", "CREATED");
            foreach (var v in found)
            {
                table.AddRow(Views.Cells(Views.Version(v.Version), v.Format, Views.Bytes(v.SizeBytes), string.Join(' ', v.Aliases), v.Source, v.RunId,
                    RegistryViews.Metrics(v.Metrics, 3), Views.Time(v.CreatedAt)));
            }
            Views.WritePage(s, table, found.Count, null, "");
        });

        var deleteProject = ProjectArgument();
        var deleteModel = ModelArgument();
        var deleteVersion = new Option<string?>("--version") { Description = "Delete only this version (a number or an alias); its aliases go too", HelpName = "VERSION" };
        var delete = new Command("delete", "Delete a registered model with all its versions and aliases, or one version") { deleteProject, deleteModel, deleteVersion };
        Set(delete, async (s, p, ct) =>
        {
            var (project, model, version) = (p.GetValue(deleteProject)!, p.GetValue(deleteModel)!, p.GetValue(deleteVersion));
            if (version is null)
            {
                await s.Client.DeleteModelAsync(project, model, ct);
            }
            else
            {
                await s.Client.DeleteModelVersionAsync(project, model, version, ct);
            }
            if (s.Json)
            {
                s.WriteJson(new { deleted = model, version });
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine(version is null
                ? $"[green]Deleted model[/] [bold]{Markup.Escape(model)}[/] with its versions"
                : $"[green]Deleted version[/] [bold]{Markup.Escape(version)}[/] of model [bold]{Markup.Escape(model)}[/]");
            return ExitCodes.Ok;
        });

        return new Command("models", "The model registry: registered models, their versions, aliases and lineage")
        {
            list, create, get, versions, ModelUploadCommand(), ModelRegister(), ModelDownload(), ModelAlias(), ModelAliasesCommand(), ModelLineageCommand(), delete,
        };
    }

    private Command ModelUploadCommand()
    {
        var project = ProjectArgument();
        var model = ModelArgument();
        var file = new Argument<string>("FILE") { Description = "The model file: .onnx, or an ML.NET model .zip" };
        var run = new Option<string?>("--run") { Description = "The run that made it: links the version to the run (and its training job and dataset) in lineage", HelpName = "RUN" };
        var description = new Option<string?>("--description") { Description = "Free text, at most 5000 characters", HelpName = "TEXT" };
        var tags = TagOption();
        var create = new Option<bool>("--create") { Description = "Register the model name first when it does not exist" };
        var key = new Option<string?>("--idempotency-key")
        {
            Description = "Sent as Idempotency-Key (default: a new random one): repeat a failed upload with the same key and it is stored at most once",
            HelpName = "KEY",
        };
        var upload = new Command("upload", """
            Upload a model file as the model's next version, streamed with a progress bar (on stderr).
            The server checks the file (format, structure, an isolated load) before the version exists: a refused file exits with
            code 6 and says why. The upload is retried on a dropped connection under the same Idempotency-Key, so it adds one version.
            """)
        {
            project, model, file, run, description, tags, create, key,
        };
        Set(upload, (s, p, ct) => ModelUpload.RunAsync(s, new ModelUpload.Request(
            p.GetValue(project)!, p.GetValue(model)!, p.GetValue(file)!, p.GetValue(create),
            new ModelVersionUpload(p.GetValue(description), ParseTags(p.GetValue(tags)), p.GetValue(run)),
            p.GetValue(key) is { Length: > 0 } given ? given : Guid.NewGuid().ToString()), ct));
        return upload;
    }

    private Command ModelRegister()
    {
        var project = ProjectArgument();
        var model = ModelArgument();
        var trainingJob = new Option<string?>("--training-job") { Description = "A succeeded training job of this project: its model, run and test metrics", HelpName = "ID" };
        var source = new Option<string?>("--source") { Description = "A run artifact, e.g. runs:/RUN/model/model.zip", HelpName = "URI" };
        var description = new Option<string?>("--description") { Description = "Free text, at most 5000 characters", HelpName = "TEXT" };
        var tags = TagOption();
        var create = new Option<bool>("--create") { Description = "Register the model name first when it does not exist" };
        var register = new Command("register", """
            Make a model the server already holds the model's next version, with its lineage: a training job's model
            (--training-job ID) or a run artifact (--source runs:/RUN/PATH). The file is checked as an upload is.
            """)
        {
            project, model, trainingJob, source, description, tags, create,
        };
        Set(register, async (s, p, ct) =>
        {
            var (projectName, modelName, job, uri) = (p.GetValue(project)!, p.GetValue(model)!, p.GetValue(trainingJob), p.GetValue(source));
            if ((job is null) == (uri is null))
            {
                throw new UsageException("Name exactly one of --training-job ID or --source runs:/RUN/PATH (to send a local file, use models upload).");
            }
            if (p.GetValue(create))
            {
                await ModelUpload.EnsureModelAsync(s, projectName, modelName, ct);
            }
            var version = await s.Client.RegisterModelVersionAsync(projectName, modelName, job, uri, p.GetValue(description), ParseTags(p.GetValue(tags)), ct: ct);
            if (s.Json)
            {
                s.WriteJson(version);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]Created version {version.Version}[/] of model [bold]{Markup.Escape(version.Model)}[/]");
            RegistryViews.WriteVersion(s, version);
            return ExitCodes.Ok;
        });
        return register;
    }

    private Command ModelDownload()
    {
        var project = ProjectArgument();
        var model = ModelArgument();
        var version = VersionArgument();
        var output = OutputOption();
        var force = ForceOption();
        var download = new Command("download", "Download a version's model file (streamed to disk, its SHA-256 checked); default name MODEL-vN.onnx or .zip")
        {
            project, model, version, output, force,
        };
        Set(download, async (s, p, ct) =>
        {
            var (projectName, modelName) = (p.GetValue(project)!, p.GetValue(model)!);
            // Resolves an alias to its number (so the file is named after what was fetched) and gives the hash to check.
            var found = await s.Client.GetModelVersionAsync(projectName, modelName, p.GetValue(version)!, ct);
            var number = found.Version.ToString(CultureInfo.InvariantCulture);
            return await FileDownload.RunAsync(s, p.GetValue(output), $"{found.Model}-v{number}.{(found.Format == "onnx" ? "onnx" : "zip")}",
                p.GetValue(force), found.Sha256, (stream, token) => s.Client.DownloadModelVersionAsync(projectName, modelName, number, stream, token), ct);
        });
        return download;
    }

    private Command ModelAlias()
    {
        var project = ProjectArgument();
        var model = ModelArgument();
        var alias = new Argument<string>("ALIAS") { Description = "Letters, digits, '_' and '-', e.g. champion (not 'latest' or 'v1')" };
        var version = new Argument<int?>("VERSION") { Description = "The version number to point it at", Arity = ArgumentArity.ZeroOrOne };
        var delete = new Option<bool>("--delete") { Description = "Remove the alias instead" };
        var command = new Command("alias", """
            Point an alias at a version (moving it atomically if it pointed elsewhere), or remove it with --delete.
              gureum models alias PROJECT MODEL champion 3
              gureum models alias PROJECT MODEL champion --delete
            """)
        {
            project, model, alias, version, delete,
        };
        Set(command, async (s, p, ct) =>
        {
            var (projectName, modelName, aliasName, number) = (p.GetValue(project)!, p.GetValue(model)!, p.GetValue(alias)!, p.GetValue(version));
            if (p.GetValue(delete) == number is not null)
            {
                throw new UsageException(number is null
                    ? $"Give the VERSION to point '{aliasName}' at, or --delete to remove it."
                    : "Give either a VERSION or --delete, not both.");
            }
            if (number is null)
            {
                await s.Client.DeleteModelAliasAsync(projectName, modelName, aliasName, ct);
                if (s.Json) s.WriteJson(new { deleted = aliasName });
                else s.Out.MarkupLine($"[green]Removed alias[/] [bold]{Markup.Escape(aliasName)}[/] of model [bold]{Markup.Escape(modelName)}[/]");
                return ExitCodes.Ok;
            }
            var set = await s.Client.SetModelAliasAsync(projectName, modelName, aliasName, number.Value, ct);
            if (s.Json) s.WriteJson(set);
            else s.Out.MarkupLine($"[green]Alias[/] [bold]{Markup.Escape(set.Alias)}[/] of model [bold]{Markup.Escape(modelName)}[/] now points at [bold]v{set.Version}[/]");
            return ExitCodes.Ok;
        });
        return command;
    }

    private Command ModelAliasesCommand()
    {
        var project = ProjectArgument();
        var model = ModelArgument();
        var command = new Command("aliases", "Show a model's aliases and every move of them, newest first") { project, model };
        Show(command, (s, p, ct) => s.Client.GetModelAliasesAsync(p.GetValue(project)!, p.GetValue(model)!, ct), (s, aliases) =>
        {
            RegistryViews.WriteAliases(s, aliases.Aliases);
            var table = Views.Table("WHEN", "ALIAS", "FROM", "TO", "BY");
            foreach (var move in aliases.History)
            {
                table.AddRow(Views.Cells(Views.Time(move.At), move.Alias, move.FromVersion is null ? "(new)" : Views.Version(move.FromVersion),
                    move.ToVersion is null ? "(removed)" : Views.Version(move.ToVersion), move.By));
            }
            if (aliases.History.Count > 0)
            {
                s.Out.Write(table);
            }
        });
        return command;
    }

    private Command ModelLineageCommand()
    {
        var project = ProjectArgument();
        var model = ModelArgument();
        var version = VersionArgument();
        var command = new Command("lineage", "Show where a version came from: run ← training job ← dataset versions") { project, model, version };
        Show(command, (s, p, ct) => s.Client.GetModelLineageAsync(p.GetValue(project)!, p.GetValue(model)!, p.GetValue(version)!, ct), RegistryViews.WriteLineage);
        return command;
    }

    private static Argument<string> ModelArgument() => new("MODEL") { Description = "Registered model name" };

    private static Argument<string> VersionArgument() => new("VERSION") { Description = "Version number, or an alias such as champion" };
}

/// <summary>How registered models, versions, aliases and lineage look.</summary>
internal static class RegistryViews
{
    /// <summary>e.g. <c>champion→v3 challenger→v4</c>.</summary>
    public static string Aliases(IEnumerable<ModelAlias> aliases) =>
        string.Join(' ', aliases.OrderBy(a => a.Alias, StringComparer.Ordinal).Select(a => $"{a.Alias}→v{a.Version}"));

    /// <summary>The first few metrics as <c>name=value</c>.</summary>
    public static string Metrics(IReadOnlyDictionary<string, double> metrics, int count)
    {
        var shown = metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Take(count).Select(m => $"{m.Key}={Views.Number(m.Value)}");
        return string.Join(' ', shown) + (metrics.Count > count ? " ..." : "");
    }

    public static void WriteModel(Session s, RegisteredModel model)
    {
        s.Out.Write(Views.Details(
            [("id", model.Id), ("name", model.Name), ("description", model.Description), ("latest version", Views.Version(model.LatestVersion)),
             ("created", Views.Time(model.CreatedAt)), ("updated", Views.Time(model.UpdatedAt)),
             .. model.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => ("tag " + t.Key, (string?)t.Value))]));
        WriteAliases(s, model.Aliases);
    }

    public static void WriteAliases(Session s, IReadOnlyList<ModelAlias> aliases)
    {
        if (aliases.Count == 0)
        {
            s.Out.MarkupLine("[grey]No aliases. Set one with: gureum models alias PROJECT MODEL ALIAS VERSION[/]");
            return;
        }
        var table = Views.Table("ALIAS", "VERSION", "MOVED", "BY");
        foreach (var alias in aliases.OrderBy(a => a.Alias, StringComparer.Ordinal))
        {
            table.AddRow(Views.Cells(alias.Alias, Views.Version(alias.Version), Views.Time(alias.UpdatedAt), alias.UpdatedBy));
        }
        s.Out.Write(table);
    }

    public static void WriteVersion(Session s, ModelVersion v)
    {
        s.Out.Write(Views.Details(
            [("model", v.Model), ("version", Views.Version(v.Version)), ("aliases", string.Join(' ', v.Aliases)), ("format", v.Format),
             ("size", Views.Bytes(v.SizeBytes)), ("sha256", v.Sha256), ("source", v.Source), ("run", v.RunId), ("training job", v.TrainingJobId),
             ("description", v.Description), ("created", $"{Views.Time(v.CreatedAt)} by {v.CreatedBy}"),
             .. v.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => ("metric " + m.Key, (string?)Views.Number(m.Value))),
             .. v.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => ("tag " + t.Key, (string?)t.Value))]));
        var table = Views.Table("SIDE", "NAME", "TYPE", "SHAPE");
        foreach (var (side, fields) in new[] { ("input", v.Signature.Inputs), ("output", v.Signature.Outputs) })
        {
            foreach (var field in fields)
            {
                table.AddRow(Views.Cells(side, field.Name, field.Type,
                    field.Shape is null ? "" : "[" + string.Join(", ", field.Shape.Select(d => d < 0 ? "?" : d.ToString(CultureInfo.InvariantCulture))) + "]"));
            }
        }
        if (v.Signature.Inputs.Count + v.Signature.Outputs.Count > 0)
        {
            s.Out.Write(table);
        }
    }

    /// <summary>
    /// The version at the root and, under each node, what it was made from (the edges into it), so the tree reads from
    /// the model back to its data. A node reached twice is drawn twice; a cycle (none is expected) stops at the repeat.
    /// </summary>
    public static void WriteLineage(Session s, ModelLineage lineage)
    {
        var nodes = lineage.Nodes.ToDictionary(n => n.Id);
        var roots = lineage.Nodes.Where(n => lineage.Edges.All(e => e.From != n.Id)).ToList();
        if (roots.Count == 0)
        {
            s.Out.MarkupLine("[grey]No lineage.[/]");
            return;
        }
        foreach (var root in roots)
        {
            var tree = new Tree(Label(root, null));
            AddSources(tree.AddNode, root.Id, [root.Id]);
            s.Out.Write(tree);
        }

        void AddSources(Func<string, TreeNode> add, string id, HashSet<string> path)
        {
            foreach (var edge in lineage.Edges.Where(e => e.To == id && nodes.ContainsKey(e.From)))
            {
                var child = add(Label(nodes[edge.From], edge.Relation));
                if (path.Add(edge.From))
                {
                    AddSources(child.AddNode, edge.From, path);
                    path.Remove(edge.From);
                }
            }
        }
    }

    private static string Label(LineageNode node, string? relation)
    {
        var kind = node.Kind switch
        {
            "datasetVersion" => "dataset",
            "trainingJob" => "training job",
            "modelVersion" => "model",
            _ => node.Kind,
        };
        var id = node.Id[(node.Id.IndexOf(':', StringComparison.Ordinal) + 1)..];
        var suffix = node.Kind is "run" or "trainingJob" ? $" [grey]{Markup.Escape(id)}[/]" : "";
        return (relation is null ? "" : $"[grey]{Markup.Escape(relation)}:[/] ") + $"{Markup.Escape(kind)} [bold]{Markup.Escape(node.Label)}[/]{suffix}";
    }
}
