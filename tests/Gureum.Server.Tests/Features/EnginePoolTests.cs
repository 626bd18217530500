using Gureum.AI;
using Gureum.Server.Features.Ai;
using Gureum.Server.Infrastructure.Problems;

namespace Gureum.Server.Tests.Features;

/// <summary>The pool every AI engine runs in: a missing engine, a failing instance and a full queue.</summary>
public sealed class EnginePoolTests
{
    private sealed class Engine : IDisposable
    {
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }

    [Fact]
    public async Task AMissingEngine_Answers503NamingItsPackages_WithoutRetryingTheLoadOnEveryCall()
    {
        var loads = 0;
        using var pool = new EnginePool<Engine>("Ocr", 1, 4, () =>
        {
            loads++;
            throw new EngineUnavailableException("ocr", "libtesseract5 tesseract-ocr-eng", "libtesseract.so.5 could not be loaded.");
        });

        var first = await Assert.ThrowsAsync<GureumException>(() => pool.RunAsync((_, _) => 1, CancellationToken.None));
        var second = await Assert.ThrowsAsync<GureumException>(() => pool.RunAsync((_, _) => 1, CancellationToken.None));

        Assert.Equal(ProblemCode.EngineUnavailable, first.Code);
        Assert.Contains("libtesseract5 tesseract-ocr-eng", first.Message);
        Assert.Equal(first.Message, second.Message);
        Assert.Equal((1, EngineStatus.Unavailable), (loads, pool.Status));
    }

    [Fact]
    public async Task AnInstanceThatFails_IsDisposedAndReplaced_ButBadInputKeepsIt()
    {
        var created = new List<Engine>();
        using var pool = new EnginePool<Engine>("Faces", 1, 4, () => { var e = new Engine(); created.Add(e); return e; });

        await Assert.ThrowsAsync<AiInputException>(() => pool.RunAsync<int>((_, _) => throw new AiInputException("file", "not an image"), CancellationToken.None));
        Assert.Single(created);
        await Assert.ThrowsAsync<InvalidOperationException>(() => pool.RunAsync<int>((_, _) => throw new InvalidOperationException("native state broken"), CancellationToken.None));
        Assert.True(created[0].Disposed);

        var used = await pool.RunAsync((engine, _) => engine, CancellationToken.None);
        Assert.Equal(2, created.Count);
        Assert.Same(created[1], used);
        Assert.Equal(1, pool.Failures);
    }

    [Fact]
    public async Task BeyondWorkersAndQueue_CallsAreShedWith429()
    {
        using var pool = new EnginePool<Engine>("Tts", workers: 1, queue: 1, () => new Engine());
        using var release = new ManualResetEventSlim();
        var running = pool.RunAsync((_, _) => release.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None);
        var waiting = pool.RunAsync((_, _) => true, CancellationToken.None);
        while (pool.Pending < 2) await Task.Delay(10);

        var shed = await Assert.ThrowsAsync<GureumException>(() => pool.RunAsync((_, _) => true, CancellationToken.None));
        Assert.Equal(ProblemCode.TooManyRequests, shed.Code);
        Assert.Contains("Gureum:Ai:Tts:Workers", shed.Message);

        release.Set();
        Assert.True(await running);
        Assert.True(await waiting);
        Assert.True(await pool.RunAsync((_, _) => true, CancellationToken.None));
    }
}
