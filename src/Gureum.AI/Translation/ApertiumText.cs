using System.Text;

namespace Gureum.AI.Translation;

/// <summary>
/// Plain text to and from Apertium's stream format, as apertium-destxt/retxt would do it but without their processes.
/// </summary>
internal static class ApertiumText
{
    /// <summary>Characters with a meaning in the stream format (word boundaries ^$, tags &lt;&gt;, superblanks [] ...).</summary>
    private const string Special = "\\^$@[]{}/<>";

    /// <summary>
    /// One request: escaped text, newlines kept as superblanks (passed through verbatim, so a multi-line text stays
    /// one request and keeps its line breaks), NUL (our frame end) as a space, then a newline (without it the last
    /// sentence's full stop is lost), the request's <see cref="Marker"/> and NUL.
    /// </summary>
    public static byte[] Frame(string text, long id)
    {
        var sb = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is '\n' or '\r')
            {
                sb.Append('[');
                while (i < text.Length && text[i] is '\n' or '\r')
                    sb.Append(text[i++]);
                sb.Append(']');
                i--;
            }
            else if (c == '\0')
                sb.Append(' ');
            else
            {
                if (Special.Contains(c))
                    sb.Append('\\');
                sb.Append(c);
            }
        }
        sb.Append(Marker(id)).Append('\0');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>
    /// A superblank that comes back verbatim at the end of a complete answer. Stages flush a NUL when their input
    /// ends, so a stage that dies yields empty or cut-short "answers": only one ending in its request's marker is
    /// real. User text cannot forge it: its brackets are escaped.
    /// </summary>
    private static string Marker(long id) => $"\n[#{id}]";

    /// <summary>
    /// One answer (without its NUL) to request <paramref name="id"/>, or null when it does not end in that request's
    /// marker. Escapes undone, superblank brackets dropped, and trimmed: Apertium leaves a blank where it drops a
    /// word (English "I" has no Spanish counterpart).
    /// </summary>
    public static string? Unframe(ReadOnlySpan<byte> answer, long id)
    {
        string raw = Encoding.UTF8.GetString(answer);
        string marker = Marker(id);
        if (!raw.EndsWith(marker, StringComparison.Ordinal))
            return null;
        raw = raw[..^marker.Length];
        var sb = new StringBuilder(raw.Length);
        for (int i = 0; i < raw.Length; i++)
        {
            char c = raw[i];
            if (c == '\\' && i + 1 < raw.Length)
                sb.Append(raw[++i]);
            else if (c is not ('[' or ']'))
                sb.Append(c);
        }
        return sb.ToString().Trim();
    }
}
