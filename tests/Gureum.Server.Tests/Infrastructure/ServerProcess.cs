using System.Diagnostics;
using System.Net.Http.Headers;

namespace Gureum.Server.Tests.Infrastructure;

/// <summary>The server as a separate OS process (the built Gureum.Server.dll), for tests that kill or signal it.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    private ServerProcess(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    public string Url { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static async Task<ServerProcess> StartAsync(string dataDirectory, string? database, params string[] extraArgs)
    {
        var url = $"http://127.0.0.1:{GureumApp.FreePort()}";
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["GUREUM_BOOTSTRAP_KEY"] = GureumApp.AdminKey,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
            },
        };
        if (database is not null)
        {
            start.Environment["GUREUM_DATABASE"] = database;
        }
        foreach (var arg in new[]
        {
            ServerDll(), "--data", dataDirectory, "--urls", url,
            "--silo-port", GureumApp.FreePort().ToString(), "--gateway-port", GureumApp.FreePort().ToString(),
        }.Concat(extraArgs))
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start)!;
        var server = new ServerProcess(process, url);
        process.OutputDataReceived += (_, e) => server.Record(e.Data);
        process.ErrorDataReceived += (_, e) => server.Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await server.WaitReadyAsync(TimeSpan.FromSeconds(60));
        return server;
    }

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Record(string? line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    public HttpClient Admin()
    {
        var client = new HttpClient { BaseAddress = new Uri(Url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", GureumApp.AdminKey);
        return client;
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = new Uri(Url) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"server exited with {_process.ExitCode} before it was ready");
            }
            try
            {
                using var response = await client.GetAsync("/health/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("server not ready in time");
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a power cut of the process.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then waits for the exit; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }
        _process.Dispose();
    }

    /// <summary>The server built beside this test assembly's configuration (Debug or Release).</summary>
    private static string ServerDll()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var path = Path.Combine(Repository.Root, "src", "Gureum.Server", "bin", configuration, "net10.0", "Gureum.Server.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("build the server first", path);
    }
}
