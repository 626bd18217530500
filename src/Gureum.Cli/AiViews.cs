using System.Globalization;
using Gureum.Client;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>
/// How AI results look. Recognised and translated text goes to stdout as it is (no markup, no wrapping), so it can be
/// redirected into a file; tables and notes are drawn as elsewhere.
/// </summary>
internal static class AiViews
{
    public static void WriteEngines(Session s, IReadOnlyList<AiEngine> engines)
    {
        var table = Views.Table("ENGINE", "STATUS", "WORKERS", "WAITING", "NOTE");
        foreach (var e in engines)
        {
            var status = e.Status switch
            {
                "ready" => "[green]ready[/]",
                "unavailable" => "[red]unavailable[/]",
                _ => $"[yellow]{Views.Escape(e.Status)}[/]",
            };
            table.AddRow(Views.Escape(e.Name), status, Views.Count(e.Workers), Views.Count(e.Pending), Views.Escape(e.Reason));
        }
        Views.WritePage(s, table, engines.Count, null, "");
    }

    /// <summary>Each page's text; a document of several pages gets a marker line before each page.</summary>
    public static void WriteOcrText(Session s, OcrResult result)
    {
        foreach (var page in result.Pages)
        {
            if (result.Pages.Count > 1)
            {
                s.WriteText($"--- page {page.Number} of {result.Pages.Count} ---");
            }
            s.WriteText(page.Text.TrimEnd());
        }
        if (result.Pages.All(p => string.IsNullOrWhiteSpace(p.Text)))
        {
            s.Err.MarkupLine("[yellow]No text was found.[/]");
        }
    }

    public static void WriteVoices(Session s, VoiceList voices)
    {
        var table = Views.Table("ID", "NAME", "LANGUAGE", "ENGINE", "GENDER");
        foreach (var v in voices.Items)
        {
            table.AddRow(Views.Cells(v.Id, v.Name, v.Language, v.Engine, v.Gender));
        }
        Views.WritePage(s, table, voices.Items.Count, null, "");
    }

    public static void WriteSpeech(Session s, string path, long bytes, string format, SpokenAudio audio)
    {
        var seconds = AudioSeconds(bytes, format, audio);
        s.Out.MarkupLine($"[green]Saved[/] {Markup.Escape(path)} ({Views.Bytes(bytes)}" +
            (seconds is { } t ? $", {t.ToString("0.0", CultureInfo.InvariantCulture)} s at {audio.SampleRate} Hz" : "") + ")");
    }

    /// <summary>16-bit mono samples after the 44-byte header (none for pcm); null when the server did not give the rate.</summary>
    public static double? AudioSeconds(long bytes, string format, SpokenAudio audio) =>
        audio.SampleRate > 0 ? Math.Round(Math.Max(0, bytes - (format == "wav" ? 44 : 0)) / 2.0 / audio.SampleRate, 3) : null;

    public static void WriteTranscript(Session s, Transcript transcript, bool words)
    {
        if (transcript.Text.Length > 0)
        {
            s.WriteText(transcript.Text);
        }
        else
        {
            s.Err.MarkupLine($"[yellow]No speech was recognised in {Duration(transcript.Seconds)} of audio.[/]");
        }
        if (!words || transcript.Words.Count == 0)
        {
            return;
        }
        var table = Views.Table("WORD", "START", "END", "CONFIDENCE");
        foreach (var w in transcript.Words)
        {
            table.AddRow(Views.Cells(w.Word, Duration(w.Start), Duration(w.End), w.Confidence.ToString("0.00", CultureInfo.InvariantCulture)));
        }
        s.Out.Write(table);
    }

    /// <summary>One target: each translation on its own line, in order (a file translates line for line); several: a table.</summary>
    public static void WriteTranslations(Session s, TranslateResult result, IReadOnlyList<string> targets)
    {
        if (targets.Count == 1)
        {
            foreach (var text in result.Results)
            {
                s.WriteText(text.Translations.FirstOrDefault()?.Text ?? "");
            }
            return;
        }
        var table = Views.Table([result.Source, .. targets]);
        foreach (var text in result.Results)
        {
            table.AddRow(Views.Cells([text.Text, .. targets.Select(t => text.Translations.FirstOrDefault(x => x.Target == t)?.Text)]));
        }
        s.Out.Write(table);
    }

    public static void WriteFaces(Session s, FacesResult result)
    {
        var size = $"{result.Width}×{result.Height}";
        if (result.Faces.Count == 0)
        {
            s.Out.MarkupLine($"No faces found in the {size} image.");
            return;
        }
        var table = Views.Table("#", "X", "Y", "WIDTH", "HEIGHT", "CONFIDENCE");
        var number = 0;
        foreach (var face in result.Faces)
        {
            var box = face.Box;
            table.AddRow(Views.Cells((++number).ToString(CultureInfo.InvariantCulture), Pixels(box.X), Pixels(box.Y), Pixels(box.Width), Pixels(box.Height),
                face.Confidence.ToString("0.00", CultureInfo.InvariantCulture)));
        }
        s.Out.Write(table);
        s.Out.MarkupLine($"{result.Faces.Count} face{(result.Faces.Count == 1 ? "" : "s")} in the {size} image (boxes in pixels from the top-left corner).");
    }

    private static string Duration(double seconds) => seconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    private static string Pixels(int value) => value.ToString(CultureInfo.InvariantCulture);
}
