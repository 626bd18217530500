namespace Gureum.Cli;

/// <summary>Entry point of <c>gureum</c>. Not top-level statements: their global <c>Program</c> class would clash with the server's in tests.</summary>
internal static class Entry
{
    public static Task<int> Main(string[] args) => CliApp.RunAsync(args, http: null, Console.Out, Console.Error);
}
