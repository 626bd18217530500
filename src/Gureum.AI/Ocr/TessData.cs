using System.Text.RegularExpressions;

namespace Gureum.AI.Ocr;

/// <summary>The installed traineddata files, and the checks that keep a request's language list to them.</summary>
internal static partial class TessData
{
    /// <summary>Debian's tesseract-ocr-LANG packages, newest layout first; TESSDATA_PREFIX (the tessdata folder itself in 5.x) wins.</summary>
    static readonly Lazy<string?> Folder = new(Find);
    static readonly Lazy<IReadOnlyList<string>> Languages = new(List);

    internal static string? Directory => Folder.Value;
    internal static IReadOnlyList<string> Installed => Languages.Value;

    internal static string PackageOf(string language) => "tesseract-ocr-" + language.Replace('_', '-').ToLowerInvariant();

    /// <summary>"eng+kor" checked against the installed languages, duplicates dropped; 422 naming what is installed.</summary>
    internal static string Normalize(string languages)
    {
        var names = languages.Split('+', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct().ToArray();
        var installed = string.Join(", ", Installed);
        if (names.Length == 0)
            throw AiInputException.Unusable("languages", $"Name at least one language; installed: {installed}.");
        foreach (var name in names)
        {
            if (Installed.Contains(name)) continue;
            var shown = SafeName().IsMatch(name) ? $"'{name}'" : "A language name";
            throw AiInputException.Unusable("languages", $"{shown} is not installed; installed: {installed} (join several with '+').");
        }
        return string.Join('+', names);
    }

    static string? Find()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("TESSDATA_PREFIX");
        var versioned = System.IO.Directory.Exists("/usr/share/tesseract-ocr")
            ? System.IO.Directory.GetDirectories("/usr/share/tesseract-ocr").OrderByDescending(VersionOf).Select(d => Path.Combine(d, "tessdata"))
            : [];
        string?[] candidates = [fromEnvironment, .. versioned, "/usr/share/tessdata", "/usr/local/share/tessdata"];
        return candidates.FirstOrDefault(d => d is not null && System.IO.Directory.Exists(d)
            && System.IO.Directory.EnumerateFiles(d, "*.traineddata").Any());
    }

    static Version VersionOf(string directory) =>
        Version.TryParse(Path.GetFileName(directory) is var name && name.Contains('.') ? name : name + ".0", out var v) ? v : new();

    // osd only detects orientation and script; it recognises no text.
    static IReadOnlyList<string> List() => Directory is null
        ? []
        : System.IO.Directory.EnumerateFiles(Directory, "*.traineddata")
            .Select(f => Path.GetFileNameWithoutExtension(f))
            .Where(n => n != "osd" && SafeName().IsMatch(n))
            .Order(StringComparer.Ordinal)
            .ToArray();

    [GeneratedRegex("^[A-Za-z0-9_]{1,32}$")]
    private static partial Regex SafeName();
}
