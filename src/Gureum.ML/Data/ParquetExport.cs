using Parquet;
using Parquet.Schema;

namespace Gureum.ML.Data;

/// <summary>Writes typed rows (as <see cref="DatasetReader.ReadRowsAsync"/> yields them) to Parquet, one row group per 100 000 rows.</summary>
public static class ParquetExport
{
    private const int RowGroupSize = 100_000;

    /// <param name="output">Must be seekable (Parquet writes its footer last); a temp file is the usual choice.</param>
    public static async Task WriteAsync(IAsyncEnumerable<IReadOnlyDictionary<string, object?>> rows, DatasetSchema schema, Stream output, CancellationToken ct)
    {
        var columns = schema.Columns.Where(c => !c.Ignored).ToList();
        var fields = columns.Select(FieldFor).ToArray();
        var parquetSchema = new ParquetSchema(fields);
        var buffers = columns.Select(_ => new List<object?>(RowGroupSize)).ToArray();
        await using var writer = await ParquetWriter.CreateAsync(parquetSchema, output, cancellationToken: ct);
        await foreach (var row in rows.WithCancellation(ct))
        {
            for (var i = 0; i < columns.Count; i++)
            {
                buffers[i].Add(row.GetValueOrDefault(columns[i].Name));
            }
            if (buffers[0].Count == RowGroupSize)
            {
                await FlushAsync(writer, fields, columns, buffers, ct);
            }
        }
        if (buffers.Length > 0 && buffers[0].Count > 0)
        {
            await FlushAsync(writer, fields, columns, buffers, ct);
        }
    }

    private static DataField FieldFor(ColumnSchema column) => column.Type switch
    {
        ColumnType.Integer => new DataField<long?>(column.Name),
        ColumnType.Float => new DataField<double?>(column.Name),
        ColumnType.Boolean => new DataField<bool?>(column.Name),
        ColumnType.DateTime => new DataField<DateTime?>(column.Name),
        _ => new DataField<string>(column.Name),
    };

    private static async Task FlushAsync(ParquetWriter writer, DataField[] fields, List<ColumnSchema> columns, List<object?>[] buffers, CancellationToken ct)
    {
        using var group = writer.CreateRowGroup();
        for (var i = 0; i < columns.Count; i++)
        {
            var values = buffers[i];
            var field = fields[i];
            var culture = System.Globalization.CultureInfo.InvariantCulture;
            switch (columns[i].Type)
            {
                case ColumnType.Integer:
                    await group.WriteAsync<long>(field, (ReadOnlyMemory<long?>)values.Select(v => v is null ? (long?)null : Convert.ToInt64(v, culture)).ToArray(), null, null, ct);
                    break;
                case ColumnType.Float:
                    await group.WriteAsync<double>(field, (ReadOnlyMemory<double?>)values.Select(v => v is null ? (double?)null : Convert.ToDouble(v, culture)).ToArray(), null, null, ct);
                    break;
                case ColumnType.Boolean:
                    await group.WriteAsync<bool>(field, (ReadOnlyMemory<bool?>)values.Select(v => v as bool?).ToArray(), null, null, ct);
                    break;
                case ColumnType.DateTime:
                    await group.WriteAsync<DateTime>(field, (ReadOnlyMemory<DateTime?>)values.Select(v => v is DateTimeOffset d ? d.UtcDateTime : (DateTime?)null).ToArray(), null, null, ct);
                    break;
                default:
                    await group.WriteAsync(field, (IReadOnlyCollection<string?>)values.Select(v => v switch
                    {
                        null => null,
                        IFormattable f => f.ToString(null, culture),
                        _ => v.ToString(),
                    }).ToArray());
                    break;
            }
            values.Clear();
        }
    }
}
