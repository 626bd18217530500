using System.IO.Compression;
using System.Text;
using Gureum.ML.Data;

namespace Gureum.ML.Tests;

internal static class TestData
{
    private static readonly Lazy<string> DatasetsDir = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gureum.slnx"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("Gureum.slnx not found above " + AppContext.BaseDirectory);
        return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "testdata", "datasets"));
    });

    public static string Dataset(string name) => Path.Combine(DatasetsDir.Value, name);

    public static IEnumerable<string> DatasetFiles() =>
        Directory.GetFiles(DatasetsDir.Value, "*.csv").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);

    public static async Task<DatasetAnalysis> AnalyzeFileAsync(string name, ReadOptions? options = null)
    {
        await using var s = File.OpenRead(Dataset(name));
        return await DatasetReader.AnalyzeAsync(s, options ?? new ReadOptions(), TestContext.Current.CancellationToken);
    }

    public static Task<DatasetAnalysis> AnalyzeTextAsync(string text, ReadOptions? options = null) =>
        AnalyzeBytesAsync(Encoding.UTF8.GetBytes(text), options);

    public static async Task<DatasetAnalysis> AnalyzeBytesAsync(byte[] bytes, ReadOptions? options = null)
    {
        using var s = new MemoryStream(bytes, writable: false);
        return await DatasetReader.AnalyzeAsync(s, options ?? new ReadOptions(), TestContext.Current.CancellationToken);
    }

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    public static ColumnProfile Column(this DatasetAnalysis a, string name) => a.Profile.Columns.Single(c => c.Name == name);

    public static ColumnSchema SchemaOf(this DatasetAnalysis a, string name) => a.Schema.Columns.Single(c => c.Name == name);

    public static async Task<List<IReadOnlyDictionary<string, object?>>> ReadAllAsync(Stream s, DatasetAnalysis a)
    {
        var rows = new List<IReadOnlyDictionary<string, object?>>();
        await foreach (var row in DatasetReader.ReadRowsAsync(s, a.Format, a.Schema, TestContext.Current.CancellationToken)) rows.Add(row);
        return rows;
    }
}
