using System.Text.RegularExpressions;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Infrastructure;

/// <summary>
/// Names of projects, keys, models, endpoints and datasets: lower-case letters, digits, '.', '_' and '-',
/// starting with a letter or digit, at most 64 characters. No separators, no control characters, no "..".
/// </summary>
public static partial class ResourceNames
{
    public const string Pattern = "^[a-z0-9][a-z0-9._-]{0,63}$";
    public const string Rule = "lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters";

    public static void Validate(string field, string? value)
    {
        if (value is null || !NamePattern().IsMatch(value) || value.Contains("..", StringComparison.Ordinal))
        {
            throw GureumException.Invalid(field, $"'{field}' must be {Rule}.");
        }
    }

    [GeneratedRegex(Pattern)]
    private static partial Regex NamePattern();
}

/// <summary>Cursor paging shared by list routes: <c>?limit=</c> (1–200) and <c>?after=&lt;last id&gt;</c>.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

public static class Paging
{
    public const int MaxLimit = 200;

    public static int Limit(int? limit)
    {
        if (limit is < 1 or > MaxLimit)
        {
            throw GureumException.Invalid("limit", $"'limit' must be between 1 and {MaxLimit}.");
        }
        return limit ?? 50;
    }

    public static Page<T> From<T>(List<T> rows, int limit, Func<T, string> id) =>
        rows.Count > limit ? new Page<T>(rows[..limit], id(rows[limit - 1])) : new Page<T>(rows, null);
}
