using System.Globalization;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Infrastructure;

/// <summary>Times in query strings (<c>from</c>, <c>to</c>): ISO 8601, UTC unless an offset is given.</summary>
public static class QueryTime
{
    public static DateTimeOffset Parse(string field, string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t : throw GureumException.Invalid(field, $"'{field}' must be an ISO 8601 date or date-time, e.g. 2026-12-01 or 2026-12-01T09:00:00Z.");
}
