namespace Gureum.WebConsole.Tests.Infrastructure;

/// <summary>Paths in the checkout the tests run from (the folder holding Gureum.slnx) and the shared test data beside it.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Datasets => Path.Combine(Root, "..", "shared", "testdata", "datasets");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gureum.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new DirectoryNotFoundException("Gureum.slnx not found above " + AppContext.BaseDirectory);
    }
}
