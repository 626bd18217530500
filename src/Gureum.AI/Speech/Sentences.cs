using System.Text;

namespace Gureum.AI.Speech;

/// <summary>
/// Splits text into the pieces synthesised one at a time, so the first audio of a long text arrives after one sentence
/// rather than after all of it. Control characters are dropped on the way: a NUL would end the C string early.
/// </summary>
internal static class Sentences
{
    /// <summary>
    /// A sentence longer than this (no punctuation) is cut at a space or comma so it still streams; one without either is
    /// cut at twice this.
    /// </summary>
    public const int MaxChars = 300;

    public static IEnumerable<string> Split(string text)
    {
        var current = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n' && current.Length > 0 && i + 1 < text.Length && text[i + 1] is '\n' or '\r')
            {
                // A blank line ends a paragraph, even without a full stop (headings, lists).
                if (Flush(current) is { } paragraph) yield return paragraph;
                continue;
            }
            current.Append(char.IsControl(c) ? ' ' : c);
            var ends = IsSentenceEnd(c) && (i + 1 == text.Length || char.IsWhiteSpace(text[i + 1]));
            var tooLong = current.Length >= MaxChars && (char.IsWhiteSpace(c) || c == ',')
                || current.Length >= 2 * MaxChars && !char.IsHighSurrogate(c);
            if (ends || tooLong)
                if (Flush(current) is { } sentence) yield return sentence;
        }
        if (Flush(current) is { } last) yield return last;
    }

    private static bool IsSentenceEnd(char c) => c is '.' or '!' or '?' or ';' or '…' or '。' or '！' or '？';

    private static string? Flush(StringBuilder current)
    {
        var s = current.ToString().Trim();
        current.Clear();
        return s.Length == 0 ? null : s;
    }
}
