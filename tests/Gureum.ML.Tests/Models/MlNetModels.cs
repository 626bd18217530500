using System.IO.Compression;
using Gureum.ML.Tests.Training;
using Gureum.ML.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Gureum.ML.Tests.Models;

/// <summary>Real ML.NET model zips, trained once per test run: a plain pipeline and a Gureum AutoML model.</summary>
internal static class MlNetModels
{
    public sealed class Row
    {
        public float A { get; set; }
        [VectorType(3)]
        public float[] V { get; set; } = [];
        public string Tag { get; set; } = "";
        public float Label { get; set; }
    }

    private static readonly Lazy<byte[]> PlainZip = new(TrainPlain);
    private static readonly Lazy<Task<byte[]>> AutoMlZip = new(TrainAutoMlAsync);

    /// <summary>Inputs A (Single), V (Vector&lt;Single,3&gt;), Tag (String), Label; adds Features (Vector&lt;Single,4&gt;) and Score.</summary>
    public static byte[] Plain => PlainZip.Value;

    /// <summary>Iris, LightGBM only: inputs the four measurements, outputs label + probabilities (multiclass).</summary>
    public static Task<byte[]> AutoMl => AutoMlZip.Value;

    private static byte[] TrainPlain()
    {
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 40).Select(i => new Row { A = i, V = [i % 3, i % 5, 1], Tag = $"t{i % 2}", Label = 2 * i + i % 3 });
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Concatenate("Features", nameof(Row.A), nameof(Row.V))
            .Append(ml.Regression.Trainers.Sdca(nameof(Row.Label), "Features", maximumNumberOfIterations: 5));
        var model = pipeline.Fit(data);
        using var saved = new MemoryStream();
        ml.Model.Save(model, data.Schema, saved);
        return saved.ToArray();
    }

    private static async Task<byte[]> TrainAutoMlAsync()
    {
        var (outcome, _) = await TrainingHarness.TrainFileAsync("iris.csv", new TrainingOptions { Target = "species", Trainer = "lightGbm", BudgetSeconds = 30 });
        using var saved = new MemoryStream();
        outcome.Model.Save(saved);
        return saved.ToArray();
    }

    /// <summary>A zip of the given entries; <paramref name="tweak"/> may change an entry as it is created (attributes, time).</summary>
    public static byte[] Zip(IEnumerable<(string Name, byte[] Data)> entries, CompressionLevel level = CompressionLevel.Optimal, Action<ZipArchiveEntry>? tweak = null)
    {
        using var bytes = new MemoryStream();
        using (var zip = new ZipArchive(bytes, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data) in entries)
            {
                var entry = zip.CreateEntry(name, level);
                tweak?.Invoke(entry);
                using var s = entry.Open();
                s.Write(data);
            }
        }
        return bytes.ToArray();
    }

    /// <summary>Entries that look like an ML.NET model to format detection and the static checks (not loadable).</summary>
    public static (string, byte[])[] LooksLikeMlNet => [("TransformerChain/Version.txt", "1.0"u8.ToArray()), ("TransformerChain/Model.key", new byte[64])];
}
