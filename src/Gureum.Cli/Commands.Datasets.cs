using System.CommandLine;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>The <c>datasets</c> commands.</summary>
internal sealed partial class Commands
{
    private Command Datasets()
    {
        var list = new Command("list", "List a project's datasets");
        var project = ProjectArgument();
        var limit = LimitOption();
        var after = AfterOption();
        list.Add(project);
        list.Add(limit);
        list.Add(after);
        Set(list, async (s, p, ct) =>
        {
            var page = await s.Client.ListDatasetsAsync(p.GetValue(project)!, p.GetValue(limit), p.GetValue(after), ct);
            if (s.Json)
            {
                s.WriteJson(page);
                return ExitCodes.Ok;
            }
            var table = Views.Table("ID", "NAME", "LATEST", "PENDING ROWS", "DESCRIPTION", "CREATED");
            foreach (var dataset in page.Items)
            {
                table.AddRow(Views.Cells(dataset.Id, dataset.Name, Views.Version(dataset.LatestVersion), Views.Count(dataset.PendingRows),
                    dataset.Description, Views.Time(dataset.CreatedAt)));
            }
            Views.WritePage(s, table, page.Items.Count, page.Next, "--after");
            return ExitCodes.Ok;
        });

        var create = new Command("create", "Create an empty dataset (then upload a file to it)");
        var createProject = ProjectArgument();
        var name = new Argument<string>("NAME") { Description = "Lower-case letters, digits, '.', '_' and '-'" };
        var description = new Option<string?>("--description") { Description = "Free text, at most 1024 characters", HelpName = "TEXT" };
        create.Add(createProject);
        create.Add(name);
        create.Add(description);
        Set(create, async (s, p, ct) =>
        {
            var dataset = await s.Client.CreateDatasetAsync(p.GetValue(createProject)!, p.GetValue(name)!, p.GetValue(description), ct);
            if (s.Json)
            {
                s.WriteJson(dataset);
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]Created dataset[/] [bold]{Markup.Escape(dataset.Name)}[/] ({Markup.Escape(dataset.Id)})");
            return ExitCodes.Ok;
        });

        var get = new Command("get", "Show a dataset");
        var getProject = ProjectArgument();
        var getDataset = DatasetArgument();
        get.Add(getProject);
        get.Add(getDataset);
        Set(get, async (s, p, ct) =>
        {
            var found = await s.Client.GetDatasetAsync(p.GetValue(getProject)!, p.GetValue(getDataset)!, ct);
            if (s.Json)
            {
                s.WriteJson(found);
                return ExitCodes.Ok;
            }
            s.Out.Write(Views.Details(
                ("id", found.Id), ("name", found.Name), ("description", found.Description), ("latest version", Views.Version(found.LatestVersion)),
                ("pending rows", Views.Count(found.PendingRows)), ("created", Views.Time(found.CreatedAt))));
            return ExitCodes.Ok;
        });

        var delete = new Command("delete", "Delete a dataset with all its versions");
        var deleteProject = ProjectArgument();
        var toDelete = DatasetArgument();
        delete.Add(deleteProject);
        delete.Add(toDelete);
        Set(delete, async (s, p, ct) =>
        {
            var reference = p.GetValue(toDelete)!;
            await s.Client.DeleteDatasetAsync(p.GetValue(deleteProject)!, reference, ct);
            if (s.Json)
            {
                s.WriteJson(new { deleted = reference });
                return ExitCodes.Ok;
            }
            s.Out.MarkupLine($"[green]Deleted dataset[/] [bold]{Markup.Escape(reference)}[/]");
            return ExitCodes.Ok;
        });

        return new Command("datasets", "Datasets of a project: uploads, immutable versions, profiles")
        {
            list, create, get, delete, Upload(), Versions(), Profile(), Preview(),
        };
    }

    private Command Upload()
    {
        var upload = new Command("upload", """
            Upload a file (CSV/TSV, JSON Lines, Parquet, optionally .gz) as the dataset's next version.
            Its type comes from the extension: .csv .tsv .jsonl/.ndjson .parquet .gz (else detected by the server).
            A file the server cannot read exits with code 6 and names the line and column.
            """);
        var project = ProjectArgument();
        var dataset = DatasetArgument();
        var file = new Argument<string>("FILE") { Description = "The local file to upload" };
        var format = new Option<string?>("--format") { Description = "Read it as this format instead of detecting it", HelpName = "csv|tsv|jsonl|parquet" };
        format.AcceptOnlyFromAmong("csv", "tsv", "jsonl", "parquet");
        var delimiter = new Option<string?>("--delimiter") { Description = "CSV field separator: , ; | or tab (default: detected)", HelpName = "DELIMITER" };
        delimiter.AcceptOnlyFromAmong(",", ";", "tab", "|");
        var header = new Option<string?>("--header") { Description = "Whether the first CSV line names the columns (default: detected)", HelpName = "true|false" };
        header.AcceptOnlyFromAmong("true", "false");
        var encoding = new Option<string?>("--encoding") { Description = "CSV text encoding (default: detected)", HelpName = "utf-8|utf-16|latin1|cp949|euc-kr" };
        encoding.AcceptOnlyFromAmong("utf-8", "utf-16", "latin1", "cp949", "euc-kr");
        var onError = new Option<string?>("--on-error")
        {
            Description = "reject: a bad row fails the upload (default); skip: bad rows are left out and reported",
            HelpName = "reject|skip",
        };
        onError.AcceptOnlyFromAmong("reject", "skip");
        var target = new Option<string?>("--target") { Description = "The target column, for the leakage warning", HelpName = "COLUMN" };
        var create = new Option<bool>("--create") { Description = "Create the dataset first when it does not exist" };
        upload.Add(project);
        upload.Add(dataset);
        upload.Add(file);
        upload.Add(format);
        upload.Add(delimiter);
        upload.Add(header);
        upload.Add(encoding);
        upload.Add(onError);
        upload.Add(target);
        upload.Add(create);
        Set(upload, (s, p, ct) => DatasetUpload.RunAsync(s, new DatasetUpload.Request(
            p.GetValue(project)!, p.GetValue(dataset)!, p.GetValue(file)!, p.GetValue(create),
            new DatasetUploadOptions(p.GetValue(format), p.GetValue(delimiter), p.GetValue(header) is { } h ? h == "true" : null,
                p.GetValue(encoding), p.GetValue(onError), p.GetValue(target))), ct));
        return upload;
    }

    private Command Versions()
    {
        var versions = new Command("versions", "List a dataset's versions, newest first");
        var project = ProjectArgument();
        var dataset = DatasetArgument();
        versions.Add(project);
        versions.Add(dataset);
        Set(versions, async (s, p, ct) =>
        {
            var found = await s.Client.ListDatasetVersionsAsync(p.GetValue(project)!, p.GetValue(dataset)!, ct);
            if (s.Json)
            {
                s.WriteJson(found);
                return ExitCodes.Ok;
            }
            var table = Views.Table("VERSION", "ROWS", "SKIPPED", "COLUMNS", "SIZE", "FORMAT", "SOURCE", "CREATED");
            foreach (var version in found)
            {
                table.AddRow(Views.Cells(Views.Version(version.Number), Views.Count(version.RowCount), Views.Count(version.SkippedRows),
                    Views.Count(version.Schema.Columns.Count), Views.Bytes(version.SizeBytes), Views.Format(version.Format),
                    version.DerivedFrom is { } from ? $"{version.Source} of v{from}" : version.Source, Views.Time(version.CreatedAt)));
            }
            Views.WritePage(s, table, found.Count, null, "");
            return ExitCodes.Ok;
        });
        return versions;
    }

    private Command Profile()
    {
        var profile = new Command("profile", "Show a version's profile: per column type, missing values, distinct values, range or top values, and warnings");
        var project = ProjectArgument();
        var dataset = DatasetArgument();
        var version = VersionOption();
        profile.Add(project);
        profile.Add(dataset);
        profile.Add(version);
        Set(profile, async (s, p, ct) =>
        {
            var (projectName, datasetName) = (p.GetValue(project)!, p.GetValue(dataset)!);
            var number = await ResolveVersionAsync(s, projectName, datasetName, p.GetValue(version), ct);
            var found = await s.Client.GetDatasetProfileAsync(projectName, datasetName, number, ct);
            if (s.Json)
            {
                s.WriteJson(found);
                return ExitCodes.Ok;
            }
            Views.WriteProfile(s, datasetName, number, found);
            return ExitCodes.Ok;
        });
        return profile;
    }

    private Command Preview()
    {
        var preview = new Command("preview", "Show the first rows of a version, typed");
        var project = ProjectArgument();
        var dataset = DatasetArgument();
        var version = VersionOption();
        var rows = new Option<int?>("--rows") { Description = "How many rows, 1-1000 (default 50)", HelpName = "N" };
        preview.Add(project);
        preview.Add(dataset);
        preview.Add(version);
        preview.Add(rows);
        Set(preview, async (s, p, ct) =>
        {
            var (projectName, datasetName) = (p.GetValue(project)!, p.GetValue(dataset)!);
            var number = await ResolveVersionAsync(s, projectName, datasetName, p.GetValue(version), ct);
            var found = await s.Client.PreviewDatasetVersionAsync(projectName, datasetName, number, p.GetValue(rows), ct);
            if (s.Json)
            {
                s.WriteJson(found);
                return ExitCodes.Ok;
            }
            Views.WritePreview(s, found);
            return ExitCodes.Ok;
        });
        return preview;
    }

    /// <summary>The version asked for, else the dataset's latest one (a 404 problem when it has none yet).</summary>
    private static async Task<int> ResolveVersionAsync(Session s, string project, string dataset, int? version, CancellationToken ct)
    {
        if (version is { } number)
        {
            return number;
        }
        var found = await s.Client.GetDatasetAsync(project, dataset, ct);
        return found.LatestVersion ?? throw new GureumApiException(404, "urn:gureum:problem:not-found", "Not found",
            $"Dataset '{found.Name}' has no version yet. Upload one with: gureum datasets upload {project} {found.Name} FILE",
            new Dictionary<string, string[]>(), null);
    }

    private static Argument<string> DatasetArgument() => new("DATASET") { Description = "Dataset id or name" };

    private static Option<int?> VersionOption() => new("--version") { Description = "Version number (default: the latest)", HelpName = "N" };
}
