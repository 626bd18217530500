using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>The <c>gureum</c> command line: parses arguments, calls the API, renders tables or JSON, maps failures to <see cref="ExitCodes"/>.</summary>
public static class CliApp
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Runs one command line.</summary>
    /// <param name="http">The HttpClient to use (its BaseAddress wins over <c>--url</c>); null: one is made for <c>--url</c>.</param>
    /// <param name="output">Where tables, JSON and progress go.</param>
    /// <param name="error">Where problems go (in red on a terminal).</param>
    public static async Task<int> RunAsync(string[] args, HttpClient? http, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        var isConsole = ReferenceEquals(output, Console.Out);
        var session = new SessionFactory(
            http,
            output,
            Terminal.Create(output, isConsole && !Console.IsOutputRedirected),
            Terminal.Create(error, ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected));
        var root = new Commands(session).Build();
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors)
            {
                session.Err.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
            }
            session.Err.MarkupLine("Run [bold]gureum --help[/] (or [bold]gureum COMMAND --help[/]) for usage.");
            return ExitCodes.Usage;
        }
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            // Ctrl+C cancels the action's token only when we own the process console.
            ProcessTerminationTimeout = isConsole ? TimeSpan.FromSeconds(2) : null,
        };
        return await parsed.InvokeAsync(configuration, ct);
    }
}

/// <summary>The state one command needs: the client, the two consoles, the JSON switch.</summary>
internal sealed class Session(GureumClient client, Uri baseUrl, bool json, TextWriter rawOutput, IAnsiConsole output, IAnsiConsole err) : IDisposable
{
    public GureumClient Client { get; } = client;
    public Uri BaseUrl { get; } = baseUrl;
    public bool Json { get; } = json;
    public IAnsiConsole Out { get; } = output;
    public IAnsiConsole Err { get; } = err;

    private static readonly JsonSerializerOptions Indented = new(GureumClient.JsonOptions)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never,
    };

    private static readonly JsonSerializerOptions Compact = new(Indented) { WriteIndented = false };

    /// <summary>Writes a value as JSON, bypassing Spectre (no wrapping, no markup).</summary>
    public void WriteJson<T>(T value, bool indented = true)
    {
        rawOutput.WriteLine(JsonSerializer.Serialize(value, indented ? Indented : Compact));
        rawOutput.Flush();
    }

    /// <summary>Writes a line as it is, bypassing Spectre: recognised or translated text that a script may redirect into a file.</summary>
    public void WriteText(string text)
    {
        rawOutput.WriteLine(text);
        rawOutput.Flush();
    }

    public void Dispose() => Client.Dispose();
}

internal sealed class SessionFactory(HttpClient? http, TextWriter rawOutput, IAnsiConsole output, IAnsiConsole err)
{
    public IAnsiConsole Out { get; } = output;
    public IAnsiConsole Err { get; } = err;

    public Session Create(Uri url, string? key, bool json)
    {
        var client = http is null ? new GureumClient(url, key) : new GureumClient(http, key);
        return new Session(client, http?.BaseAddress ?? url, json, rawOutput, Out, Err);
    }
}

internal static class Terminal
{
    public static IAnsiConsole Create(TextWriter writer, bool isTerminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = isTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = isTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = isTerminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!isTerminal)
        {
            // Redirected output is read by programs and people with wide viewers: do not wrap at 80 columns.
            console.Profile.Width = 240;
        }
        return console;
    }
}

/// <summary>Runs an action with a <see cref="Session"/> and turns every failure into a message and an exit code.</summary>
internal static class Actions
{
    public static async Task<int> RunAsync(
        SessionFactory factory, Uri url, string? key, bool json, Func<Session, CancellationToken, Task<int>> action, CancellationToken ct)
    {
        using var session = factory.Create(url, key, json);
        try
        {
            return await action(session, ct);
        }
        catch (GureumApiException e)
        {
            Problem(factory.Err, e.Title, WithRetryAfter(e.Detail, e.RetryAfter), e.Errors);
            return ExitCodes.FromHttpStatus(e.Status);
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            Problem(factory.Err, $"Cannot reach the Gureum server at {session.BaseUrl}",
                $"{e.Message.TrimEnd('.')}. Is it running? Start it with ./gureum serve, or point --url (or GUREUM_URL) at it.", null);
            return ExitCodes.Unreachable;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            factory.Err.MarkupLine("[yellow]Interrupted.[/]");
            return ExitCodes.Interrupted;
        }
        catch (OperationCanceledException e)
        {
            Problem(factory.Err, $"The Gureum server at {session.BaseUrl} did not answer in time", e.Message, null);
            return ExitCodes.Unreachable;
        }
        catch (UsageException e)
        {
            Problem(factory.Err, "Invalid usage", e.Message, null);
            return ExitCodes.Usage;
        }
        catch (Exception e)
        {
            Problem(factory.Err, "Unexpected error", $"{e.GetType().Name}: {e.Message}", null);
            return ExitCodes.Unexpected;
        }
    }

    /// <summary>
    /// The detail with the server's Retry-After (a busy engine, a rate limit) when it is under an hour and the detail does not
    /// already say it; a longer wait (a monthly quota) is the detail's to explain.
    /// </summary>
    private static string? WithRetryAfter(string? detail, TimeSpan? retryAfter)
    {
        if (retryAfter is not { } wait || wait >= TimeSpan.FromHours(1))
        {
            return detail;
        }
        var text = wait.TotalSeconds < 120
            ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + " s"
            : Math.Ceiling(wait.TotalMinutes).ToString(CultureInfo.InvariantCulture) + " min";
        return detail?.Contains(text, StringComparison.Ordinal) == true ? detail : $"{detail} Try again in {text}.".TrimStart();
    }

    public static void Problem(IAnsiConsole err, string title, string? detail, IReadOnlyDictionary<string, string[]>? errors)
    {
        err.MarkupLine(detail is null ? $"[red bold]{Markup.Escape(title)}[/]" : $"[red bold]{Markup.Escape(title)}:[/] [red]{Markup.Escape(detail)}[/]");
        foreach (var (field, messages) in errors ?? new Dictionary<string, string[]>())
        {
            foreach (var message in messages)
            {
                err.MarkupLine($"[red]  {Markup.Escape(field)}: {Markup.Escape(message)}[/]");
            }
        }
    }
}

/// <summary>A mistake in how the command was called that the parser cannot see (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

internal static class Parsers
{
    public static Uri? ParseUrl(string text, Action<string> error)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }
        error($"'{text}' is not an http:// or https:// URL.");
        return null;
    }

    public static string? DefaultKey()
    {
        var key = Environment.GetEnvironmentVariable("GUREUM_KEY");
        if (!string.IsNullOrWhiteSpace(key))
        {
            return key.Trim();
        }
        var data = Environment.GetEnvironmentVariable("GUREUM_DATA") is { Length: > 0 } d ? d : ".gureum-data";
        var path = Path.Combine(data, "bootstrap-key");
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static DateTimeOffset? ParseTime(string text, Action<string> error)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
        {
            return value;
        }
        error($"'{text}' is not an ISO 8601 time, e.g. 2030-01-31 or 2030-01-31T12:00:00Z.");
        return null;
    }

    public static JsonElement? ParseJson(string text, Action<string> error)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            error($"--input is not valid JSON: {e.Message}");
            return null;
        }
    }
}
