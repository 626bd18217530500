using Xunit;

namespace Gureum.Cli.Tests;

/// <summary>The shared test data beside the repository: <c>&lt;repository root&gt;/../shared/testdata/</c>.</summary>
internal static class TestData
{
    public static string Dataset(string name) => Find("datasets", name);

    /// <summary>ONNX models with fixed weights (see the folder's README): linear.onnx takes x [batch, 4], mlp.onnx features [batch, 32].</summary>
    public static string Model(string name) => Find("models", name);

    private static string Find(string folder, string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Gureum.slnx")))
        {
            directory = directory.Parent;
        }
        Assert.True(directory is not null, $"No Gureum.slnx above {AppContext.BaseDirectory}.");
        var path = Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared", "testdata", folder, name));
        Assert.True(File.Exists(path), $"Test data {path} is missing.");
        return path;
    }
}
