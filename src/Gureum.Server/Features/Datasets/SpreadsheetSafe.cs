namespace Gureum.Server.Features.Datasets;

/// <summary>
/// Cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) are prefixed with a quote in
/// previews and exports, so opening an export never executes data someone uploaded.
/// </summary>
public static class SpreadsheetSafe
{
    public static string Cell(string value) =>
        value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + value : value;

    /// <summary>A CSV field: made safe, then quoted when it holds a comma, quote or line break.</summary>
    public static string CsvField(string value)
    {
        value = Cell(value);
        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
