using System.Text;
using System.Text.RegularExpressions;

namespace Gureum.AI.Translation;

/// <summary>The installed language pairs and the stages of their .mode files.</summary>
internal static partial class ApertiumModes
{
    public const string ModesDirectory = "/usr/share/apertium/modes";
    public const string Packages = "apertium apertium-eng-spa";

    /// <summary>
    /// Translation modes are named source-target(.mode), optionally with a variant (spa-eng_US). Debug and
    /// intermediate modes (eng-spa-tagger, eng-spa-morph, ...) have a third part and are skipped.
    /// </summary>
    [GeneratedRegex(@"^(?<source>[a-z]{2,3}(?:_[A-Za-z0-9]+)?)-(?<target>[a-z]{2,3}(?:_[A-Za-z0-9]+)?)\.mode$")]
    private static partial Regex ModeName();

    /// <summary>Names echoed in error messages; anything else (paths, control characters) is not repeated back.</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,16}$")]
    private static partial Regex PlainName();

    [GeneratedRegex(@"/usr/share/apertium/(?<package>apertium-[a-z_]+-[a-z_]+)/")]
    private static partial Regex DataPackage();

    public static IReadOnlyList<LanguagePair> Find(string directory)
    {
        if (!Directory.Exists(directory))
            return [];
        return [.. Directory.EnumerateFiles(directory, "*.mode")
            .Select(path => (path, match: ModeName().Match(Path.GetFileName(path))))
            .Where(m => m.match.Success)
            .Select(m => new LanguagePair(m.match.Groups["source"].Value, m.match.Groups["target"].Value, m.path))
            .OrderBy(p => p.Source, StringComparer.Ordinal).ThenBy(p => p.Target, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The installed pair for (source, target), case-insensitively; 422 naming the installed pairs when there is
    /// none ("source" when no pair starts from that language, else "target"), 503 when no pair is installed at all.
    /// </summary>
    public static LanguagePair Resolve(IReadOnlyList<LanguagePair> pairs, string source, string target)
    {
        if (pairs.Count == 0)
            throw new EngineUnavailableException("translate", Packages, "No Apertium language pair is installed.");
        var pair = pairs.FirstOrDefault(p => Same(p.Source, source) && Same(p.Target, target));
        if (pair is not null)
            return pair;
        string field = pairs.Any(p => Same(p.Source, source)) ? "target" : "source";
        string installed = string.Join(", ", pairs.Select(p => $"{p.Source}->{p.Target}"));
        throw AiInputException.Unusable(field, $"No translation from {Shown(source)} to {Shown(target)} is installed. Installed pairs: {installed}.");
    }

    private static string Shown(string language) => PlainName().IsMatch(language) ? $"'{language}'" : "the requested language";

    private static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>The Debian packages a pair needs, read from the data paths its mode file names.</summary>
    public static string PackagesFor(string modeText)
    {
        var match = DataPackage().Match(modeText);
        return match.Success ? "apertium " + match.Groups["package"].Value : Packages;
    }

    /// <summary>
    /// The argv of each stage of a mode file ("a x | b 'y z' | ..."), each with -z so it flushes at every NUL.
    /// $1 is lt-proc's generation mode: -g marks unknown words (*word, @word, #word), -n leaves them unmarked;
    /// $2 (the tagger's option) is empty for plain text. Anything else a shell would interpret is refused.
    /// </summary>
    public static List<string[]> Stages(string modeText, bool markUnknownWords)
    {
        var stages = new List<string[]>();
        foreach (var stage in Split(modeText.Trim()))
        {
            var argv = new List<string>();
            foreach (var (word, quoted) in stage)
            {
                if (quoted)
                    argv.Add(word);
                else if (word == "$1")
                    argv.Add(markUnknownWords ? "-g" : "-n");
                else if (word == "$2")
                    continue;
                else if (word.IndexOfAny(['$', '`', '<', '>', ';', '&', '(', ')', '*', '?']) >= 0)
                    throw new FormatException($"unsupported shell syntax '{word}' in the mode file");
                else
                    argv.Add(word);
            }
            if (argv.Count == 0)
                throw new FormatException("empty stage in the mode file");
            if (!argv.Contains("-z"))
                argv.Insert(1, "-z");
            stages.Add([.. argv]);
        }
        return stages;
    }

    /// <summary>Splits a pipeline into stages of words, honouring single and double quotes.</summary>
    private static List<List<(string Word, bool Quoted)>> Split(string text)
    {
        var stages = new List<List<(string, bool)>> { new() };
        var word = new StringBuilder();
        bool inWord = false, quoted = false;
        char quote = '\0';
        void EndWord()
        {
            if (inWord)
                stages[^1].Add((word.ToString(), quoted));
            word.Clear();
            inWord = quoted = false;
        }
        foreach (char c in text)
        {
            if (quote != '\0')
            {
                if (c == quote)
                    quote = '\0';
                else
                    word.Append(c);
            }
            else if (c is '\'' or '"')
            {
                quote = c;
                inWord = quoted = true;
            }
            else if (char.IsWhiteSpace(c))
                EndWord();
            else if (c == '|')
            {
                EndWord();
                stages.Add([]);
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }
        if (quote != '\0')
            throw new FormatException("unterminated quote in the mode file");
        EndWord();
        return stages;
    }
}
