namespace Gureum.AI.Tests.Ocr;

/// <summary>Character error rate: edit distance over the expected length, whitespace runs counted as one space.</summary>
internal static class Cer
{
    internal static double Of(string expected, string actual)
    {
        var e = Normalize(expected);
        var a = Normalize(actual);
        var previous = new int[a.Length + 1];
        var current = new int[a.Length + 1];
        for (var j = 0; j <= a.Length; j++) previous[j] = j;
        for (var i = 1; i <= e.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= a.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (e[i - 1] == a[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return (double)previous[a.Length] / e.Length;
    }

    static string Normalize(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
