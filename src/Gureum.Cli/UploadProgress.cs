using Spectre.Console;

namespace Gureum.Cli;

/// <summary>
/// Shows how far an upload is: a redrawn bar on a terminal, a plain line at each quarter elsewhere (CI logs, pipes), nothing
/// without a console. A retried upload starts again from 0, and so does what is shown.
/// </summary>
internal static class UploadProgress
{
    /// <param name="console">Where progress goes; null: nowhere (e.g. --json on a redirected stream).</param>
    /// <param name="name">The file's name.</param>
    /// <param name="destination">Markup naming where it goes, e.g. <c>dataset [bold]iris[/]</c>.</param>
    /// <param name="upload">Sends the file, reporting the bytes sent so far to the progress it is given.</param>
    public static async Task<T> RunAsync<T>(IAnsiConsole? console, string name, string destination, long length, Func<IProgress<long>?, Task<T>> upload)
    {
        if (console is null)
        {
            return await upload(null);
        }
        if (!console.Profile.Capabilities.Interactive)
        {
            console.MarkupLine($"Uploading [bold]{Markup.Escape(name)}[/] ({Views.Bytes(length)}) to {destination}");
            var quarter = 0;
            return await upload(new ImmediateProgress<long>(sent =>
            {
                var reached = length == 0 ? 4 : (int)(sent * 4 / length);
                if (sent == 0)
                {
                    quarter = 0;
                }
                else if (reached > quarter)
                {
                    quarter = reached;
                    console.WriteLine($"{Views.Percent(length == 0 ? 100 : sent * 100.0 / length),6}  {Views.Bytes(sent)} of {Views.Bytes(length)} sent");
                }
            }));
        }
        return await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new DownloadedColumn(), new TransferSpeedColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape($"uploading {Shorten(name)}"), maxValue: Math.Max(length, 1));
                var uploaded = await upload(new ImmediateProgress<long>(sent =>
                {
                    task.Value = sent;
                    task.Description = Markup.Escape(sent >= length ? $"{Shorten(name)}: sent, the server is reading it" : $"uploading {Shorten(name)}");
                }));
                task.Value = task.MaxValue;
                task.Description = Markup.Escape($"{Shorten(name)}: uploaded");
                task.StopTask();
                return uploaded;
            });
    }

    private static string Shorten(string text) =>
        text.Length <= 40 ? text : text[..37] + "...";
}
