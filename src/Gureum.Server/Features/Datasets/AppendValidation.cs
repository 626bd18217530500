using System.Globalization;
using System.Text.Json;
using Gureum.ML.Data;

namespace Gureum.Server.Features.Datasets;

/// <summary>Checks appended records against a version's schema; errors are keyed <c>rows[i].column</c>.</summary>
internal static class AppendValidation
{
    private const int MaxErrors = 20;

    public static Dictionary<string, string[]> Validate(JsonElement records, DatasetSchema schema)
    {
        var columns = schema.Columns.ToDictionary(c => c.Name);
        var errors = new Dictionary<string, string[]>();
        var index = 0;
        foreach (var record in records.EnumerateArray())
        {
            if (record.ValueKind != JsonValueKind.Object)
            {
                errors[$"rows[{index}]"] = ["Each record must be a JSON object."];
            }
            else
            {
                foreach (var field in record.EnumerateObject())
                {
                    var key = $"rows[{index}].{field.Name}";
                    if (!columns.TryGetValue(field.Name, out var column))
                    {
                        errors[key] = [$"Unknown column '{field.Name}'. Columns: {string.Join(", ", columns.Keys)}."];
                    }
                    else if (!column.Ignored && !Fits(field.Value, column.Type))
                    {
                        errors[key] = [$"'{field.Value}' is not a valid {column.Type.ToString().ToLowerInvariant()} value."];
                    }
                }
            }
            if (errors.Count >= MaxErrors)
            {
                break;
            }
            index++;
        }
        return errors;
    }

    private static bool Fits(JsonElement value, ColumnType type) => value.ValueKind == JsonValueKind.Null || type switch
    {
        ColumnType.Integer => value.ValueKind == JsonValueKind.Number ? value.TryGetInt64(out _) : long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out _),
        ColumnType.Float => value.ValueKind == JsonValueKind.Number || double.TryParse(value.ValueKind == JsonValueKind.String ? value.GetString() : null, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
        ColumnType.Boolean => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        ColumnType.DateTime => value.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _),
        _ => value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False,
    };
}
