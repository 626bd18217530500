using System.ComponentModel;
using System.Diagnostics;

namespace Gureum.AI.Imaging;

/// <summary>An upload written for poppler's tools: a private directory (0700) holding the file (0600), named by us.</summary>
internal sealed class TempUpload : IDisposable
{
    readonly DirectoryInfo _directory;

    public string Path { get; }

    public TempUpload(ReadOnlySpan<byte> data)
    {
        _directory = Directory.CreateTempSubdirectory("gureum-ocr-"); // mkdtemp: 0700
        Path = System.IO.Path.Combine(_directory.FullName, "upload.pdf");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(Path, options);
        file.Write(data);
    }

    public void Dispose()
    {
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Already gone, or the tool still held it open: the temp cleaner removes what is left.
        }
    }
}

/// <summary>Starts poppler-utils' command-line tools (no shell; arguments passed as a list).</summary>
internal static class Poppler
{
    internal const string Packages = "poppler-utils";

    internal static Process Start(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        try
        {
            var process = Process.Start(start)!;
            process.ErrorDataReceived += static (_, _) => { }; // drained so a chatty PDF cannot fill the pipe and stall it
            process.BeginErrorReadLine();
            return process;
        }
        catch (Win32Exception e)
        {
            throw new EngineUnavailableException("ocr", Packages, $"PDF support is not available: {tool} is not installed; install {Packages}.", e);
        }
    }

    internal static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill();
            process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
    }
}
