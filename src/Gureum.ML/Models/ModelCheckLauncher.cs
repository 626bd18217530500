using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gureum.ML.Models;

/// <summary>
/// Starts the isolated load check: <c>FILE ARGUMENTS... check-model &lt;onnx|mlnet&gt; &lt;path&gt;</c> in a child process
/// that answers one JSON line (<see cref="ModelCheckChild"/>). The child gets a private temp folder as working directory,
/// TMPDIR and HOME, and an environment cleared of everything but what the .NET host needs, so a model that subverts the
/// loader finds no server secrets. Bounds: wall-clock time (the process tree is killed at
/// <see cref="ModelFileLimits.LoadTimeout"/>) and memory (<see cref="ModelFileLimits.LoadMemoryBytes"/>: the GC heap hard
/// limit, and RLIMIT_DATA set by the child on itself before it reads the model).
/// </summary>
public sealed class ModelCheckLauncher(string fileName, IReadOnlyList<string> arguments)
{
    public const string Command = "check-model";
    /// <summary>The child's RLIMIT_DATA in bytes, read by <see cref="ModelCheckChild"/>.</summary>
    internal const string MemoryVariable = "GUREUM_MODEL_CHECK_MEMORY_BYTES";
    private const int MaxAnswerBytes = 1 << 20;
    private const int StderrTailBytes = 4 << 10;
    private static readonly string[] KeptVariables = ["PATH", "LD_LIBRARY_PATH", "DOTNET_ROOT", "DOTNET_ROOT_X64", "DOTNET_ROOT_ARM64", "LANG", "LC_ALL"];

    /// <summary>
    /// A launcher running an application's entry assembly (e.g. Gureum.Server.dll, whose Program hands
    /// <c>check-model</c> to <see cref="ModelCheckChild"/>) with the current <c>dotnet</c> host: this process's own
    /// executable when it is dotnet, else DOTNET_HOST_PATH (set by the dotnet CLI), else <c>dotnet</c> on PATH. The
    /// assembly's runtimeconfig.json and deps.json must lie beside it (they do in build, publish and test output folders).
    /// </summary>
    public static ModelCheckLauncher ForAssembly(string entryDllPath)
    {
        var self = Environment.ProcessPath;
        var host = self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } fromCli ? fromCli
            : "dotnet";
        return new ModelCheckLauncher(host, ["exec", Path.GetFullPath(entryDllPath)]);
    }

    public ProcessStartInfo CreateStartInfo(ModelFormat format, string path, ModelFileLimits limits, string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.ArgumentList.Add(Command);
        info.ArgumentList.Add(ModelFiles.Name(format));
        info.ArgumentList.Add(Path.GetFullPath(path));
        var kept = KeptVariables.Select(v => (v, Environment.GetEnvironmentVariable(v))).Where(p => p.Item2 is not null).ToList();
        info.Environment.Clear();
        foreach (var (name, value) in kept) info.Environment[name] = value;
        info.Environment["TMPDIR"] = workingDirectory;
        info.Environment["HOME"] = workingDirectory;
        // Workstation GC: one heap, sized by the hard limit (given in hex, as the runtime reads it).
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment["DOTNET_GCHeapHardLimit"] = "0x" + limits.LoadMemoryBytes.ToString("X", CultureInfo.InvariantCulture);
        info.Environment[MemoryVariable] = limits.LoadMemoryBytes.ToString(CultureInfo.InvariantCulture);
        return info;
    }

    /// <summary>Runs the child and reads its answer; every way it can fail becomes a <see cref="ModelFileException"/>.</summary>
    internal async Task<ModelFileSignature> RunAsync(ModelFormat format, string path, ModelFileLimits limits, CancellationToken ct)
    {
        var work = Directory.CreateTempSubdirectory("gureum-check-");
        try
        {
            using var process = Process.Start(CreateStartInfo(format, path, limits, work.FullName))
                ?? throw LoadFailed("the load check process could not be started");
            process.StandardInput.Close();
            var stdout = ReadCappedAsync(process.StandardOutput.BaseStream, MaxAnswerBytes, keepTail: false);
            var stderr = ReadCappedAsync(process.StandardError.BaseStream, StderrTailBytes, keepTail: true);
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                timeout.CancelAfter(limits.LoadTimeout);
                try
                {
                    await process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync(CancellationToken.None);
                    ct.ThrowIfCancellationRequested();
                    throw LoadFailed($"loading the model took longer than the {limits.LoadTimeout.TotalSeconds:0.#} s limit");
                }
            }
            var (answer, complete) = await stdout;
            var (errors, _) = await stderr;
            return Parse(answer, complete, process.ExitCode, limits, errors);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static ModelFileSignature Parse(byte[] output, bool complete, int exitCode, ModelFileLimits limits, byte[] stderr)
    {
        var line = complete
            ? Encoding.UTF8.GetString(output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
            : null;
        ModelCheckAnswer? answer = null;
        try
        {
            if (line is not null) answer = JsonSerializer.Deserialize<ModelCheckAnswer>(line, ModelCheckAnswer.Json);
        }
        catch (JsonException)
        {
            answer = null;
        }
        if (answer?.Error is { } error)
        {
            var code = error.Code is ModelFileException.Invalid or ModelFileException.Unsupported ? error.Code : ModelFileException.LoadFailed;
            throw new ModelFileException(code, "file", error.Message);
        }
        if (answer?.Signature is { } signature && exitCode == 0) return signature;
        var why = exitCode == 0
            ? "the load check gave no answer"
            : $"the load check process crashed (exit code {exitCode}); the model may need more than the {limits.LoadMemoryBytes}-byte memory limit";
        var failure = LoadFailed(why);
        failure.Data["stderr"] = Encoding.UTF8.GetString(stderr); // for the server's log, never for the client
        throw failure;
    }

    /// <summary>Reads a stream to its end, keeping at most <paramref name="cap"/> bytes (the first, or the last); reports whether all fitted.</summary>
    private static async Task<(byte[] Bytes, bool Complete)> ReadCappedAsync(Stream stream, int cap, bool keepTail)
    {
        var kept = new MemoryStream();
        var buffer = new byte[16 << 10];
        var complete = true;
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            if (keepTail)
            {
                kept.Write(buffer, 0, n);
                if (kept.Length > 2 * cap)
                {
                    var last = kept.ToArray()[^cap..];
                    kept.SetLength(0);
                    kept.Write(last);
                }
            }
            else if (kept.Length + n <= cap)
            {
                kept.Write(buffer, 0, n);
            }
            else
            {
                complete = false; // keep draining so the child never blocks on a full pipe
            }
        }
        var bytes = kept.ToArray();
        return (keepTail && bytes.Length > cap ? bytes[^cap..] : bytes, complete);
    }

    private static ModelFileException LoadFailed(string why) => new(ModelFileException.LoadFailed, "file", $"The model could not be loaded: {why}.");
}

/// <summary>The child's one line: a signature, or an error.</summary>
internal sealed record ModelCheckAnswer(ModelFileSignature? Signature, ModelCheckError? Error)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}

internal sealed record ModelCheckError(string Code, string Message);
