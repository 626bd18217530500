using Xunit;

namespace Gureum.Cli.Tests;

public sealed class TrainingTests(GureumServer server)
{
    private static string Iris()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Gureum.slnx"))) directory = directory.Parent;
        return Path.GetFullPath(Path.Combine(directory!.FullName, "..", "shared", "testdata", "datasets", "iris.csv"));
    }

    [Fact]
    public async Task Train_FollowsTheLeaderboard_PrintsTheSummary_AndTheModelDownloads()
    {
        var project = GureumServer.UniqueName("p");
        Assert.Equal(0, (await server.RunAsync("projects", "create", project)).ExitCode);
        Assert.Equal(0, (await server.RunAsync("datasets", "upload", project, "iris", Iris(), "--create")).ExitCode);

        var trained = await server.RunAsync("train", project, "iris", "--target", "species", "--budget", "6", "--seed", "2");

        Assert.True(trained.ExitCode == 0, trained.ToString());
        Assert.Contains("multiclass on species", trained.Out);
        Assert.Contains("trial   1  lightGbm", trained.Out); // redirected output: one line per trial
        Assert.Contains("succeeded", trained.Out);
        Assert.Contains("test metrics", trained.Out);
        Assert.Contains("permutation importance", trained.Out);
        Assert.Contains("petal", trained.Out);

        var id = trained.Out.Split('\n').First(l => l.StartsWith("Training ", StringComparison.Ordinal)).Split(' ')[1].TrimEnd(':');
        var board = await server.RunAsync("training", "trials", project, id);
        Assert.True(board.ExitCode == 0, board.ToString());
        Assert.Contains("MACROACCURACY", board.Out);

        var file = Path.Combine(Path.GetTempPath(), GureumServer.UniqueName("model") + ".zip");
        var model = await server.RunAsync("training", "model", project, id, "--output", file);
        Assert.True(model.ExitCode == 0, model.ToString());
        Assert.True(new FileInfo(file).Length > 1000);
        File.Delete(file);
    }

    [Fact]
    public async Task Train_WithABadTarget_ExitsSixNamingTheField()
    {
        var project = GureumServer.UniqueName("p");
        Assert.Equal(0, (await server.RunAsync("projects", "create", project)).ExitCode);
        Assert.Equal(0, (await server.RunAsync("datasets", "upload", project, "iris", Iris(), "--create")).ExitCode);
        var run = await server.RunAsync("train", project, "iris", "--target", "colour");
        Assert.Equal(6, run.ExitCode);
        Assert.Contains("colour", run.Err);
    }
}
