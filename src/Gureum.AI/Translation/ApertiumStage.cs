using System.Diagnostics;

namespace Gureum.AI.Translation;

/// <summary>One process of a pipeline, a child of ours so that .NET reaps it however it ends.</summary>
internal sealed class ApertiumStage : IDisposable
{
    private readonly Process _process;
    private volatile string? _lastError;
    private int _disposed;

    /// <exception cref="System.ComponentModel.Win32Exception">The program is not installed.</exception>
    public ApertiumStage(int number, string[] argv)
    {
        var info = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in argv.Skip(1))
            info.ArgumentList.Add(arg);
        // The tools read and write text as UTF-8 only under a UTF-8 locale.
        info.Environment["LC_ALL"] = "C.UTF-8";
        _process = Process.Start(info)!;
        // Drained so a chatty stage never blocks on a full stderr pipe; the last line explains a death.
        _process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrWhiteSpace(e.Data))
                _lastError = e.Data;
        };
        _process.BeginErrorReadLine();
        Id = _process.Id;
        Name = $"stage {number} ({Path.GetFileName(argv[0])})";
    }

    public int Id { get; }
    public string Name { get; }
    public Stream Input => _process.StandardInput.BaseStream;
    public Stream Output => _process.StandardOutput.BaseStream;

    /// <summary>The exit code once the process has exited (and not been disposed), else null.</summary>
    public int? ExitCode
    {
        get
        {
            try
            {
                return Volatile.Read(ref _disposed) == 0 && _process.HasExited ? _process.ExitCode : null;
            }
            catch (InvalidOperationException)
            {
                return null; // disposed meanwhile
            }
        }
    }

    /// <summary>"stage 3 (apertium-tagger) exited with code 1: its last stderr line", or null while it runs.</summary>
    public string? ExitDescription() =>
        ExitCode is { } code ? $"{Name} exited with code {code}" + (_lastError is { } error ? $": {error}" : "") : null;

    public void Kill()
    {
        try
        {
            _process.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already exited (or disposed): nothing to kill.
        }
    }

    /// <summary>Kills the process and waits until it is reaped.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Kill();
        _process.WaitForExit();
        _process.Dispose();
    }
}
