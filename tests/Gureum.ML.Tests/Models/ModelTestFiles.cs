using Gureum.ML.Models;

namespace Gureum.ML.Tests.Models;

/// <summary>The shared test models, a private folder per test, and the launcher that runs the real child process.</summary>
internal sealed class ModelTestFiles : IDisposable
{
    private static readonly Lazy<string> ModelsDir = new(() =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(TestData.Dataset("iris.csv"))!, "..", "models")));

    public static string Shared(string name) => Path.Combine(ModelsDir.Value, name);

    /// <summary>Gureum.Server.dll in this test's output folder, as the server runs itself in production.</summary>
    public static ModelCheckLauncher Launcher => ModelCheckLauncher.ForAssembly(Path.Combine(AppContext.BaseDirectory, "Gureum.Server.dll"));

    public DirectoryInfo Dir { get; } = Directory.CreateTempSubdirectory("gureum-model-tests-");

    public string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(Dir.FullName, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string Write(string name, Proto model) => Write(name, model.ToArray());

    public void Dispose() => Dir.Delete(recursive: true);
}
