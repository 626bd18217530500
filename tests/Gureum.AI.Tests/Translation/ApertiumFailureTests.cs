using System.Diagnostics;
using System.Runtime.InteropServices;
using Gureum.AI.Translation;

namespace Gureum.AI.Tests.Translation;

/// <summary>Dead and stalled stages, missing installs, and cleanup. Each test starts its own pipeline.</summary>
public sealed partial class ApertiumFailureTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly LanguagePair EngSpa = ApertiumPipeline.Resolve("eng", "spa");

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Signal(int pid, int signal);

    private const int SigStop = 19;

    [Fact]
    public void DurabilityAndConcurrency_KilledStage_ThrowsNamingIt_ThenANewPipelineWorks()
    {
        using (var pipeline = new ApertiumPipeline(EngSpa))
        {
            int tagger = pipeline.StageProcessIds[1];
            Process.GetProcessById(tagger).Kill();

            var e = Assert.Throws<TranslationEngineException>(() => pipeline.Translate("The cat is in the house.", Timeout));
            Assert.False(e.TimedOut);
            Assert.Contains("stage 2 (apertium-tagger)", e.Message);
            Assert.True(pipeline.IsBroken);
            // Broken stays broken, without waiting for the timeout again.
            Assert.Throws<TranslationEngineException>(() => pipeline.Translate("Hello.", Timeout));
        }
        using var replacement = new ApertiumPipeline(EngSpa);
        Assert.Equal("El gato es en la casa.", replacement.Translate("The cat is in the house.", Timeout));
    }

    [Fact]
    public void DurabilityAndConcurrency_StalledStage_TimesOut_ThenANewPipelineWorks()
    {
        int[] stages;
        using (var pipeline = new ApertiumPipeline(EngSpa))
        {
            stages = [.. pipeline.StageProcessIds];
            Assert.Equal(0, Signal(stages[4], SigStop));

            var watch = Stopwatch.StartNew();
            var e = Assert.Throws<TranslationEngineException>(() => pipeline.Translate("The cat is in the house.", TimeSpan.FromSeconds(1)));
            Assert.True(e.TimedOut);
            Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
            Assert.True(pipeline.IsBroken);
        }
        AssertGone(stages);
        using var replacement = new ApertiumPipeline(EngSpa);
        Assert.Equal("El gato es en la casa.", replacement.Translate("The cat is in the house.", Timeout));
    }

    [Fact]
    public void Dispose_LeavesNoProcessOrZombie()
    {
        var pipeline = new ApertiumPipeline(EngSpa);
        var stages = pipeline.StageProcessIds;
        Assert.Equal(11, stages.Count);
        Assert.All(stages, pid => Assert.True(Directory.Exists($"/proc/{pid}")));
        pipeline.Translate("The cat is in the house.", Timeout);

        pipeline.Dispose();

        AssertGone(stages);
        Assert.Throws<ObjectDisposedException>(() => pipeline.Translate("Hello.", Timeout));
        pipeline.Dispose();
    }

    [Fact]
    public void Dispose_DuringARequest_EndsItWithAnException()
    {
        var pipeline = new ApertiumPipeline(EngSpa);
        var stages = pipeline.StageProcessIds;
        Assert.Equal(0, Signal(stages[3], SigStop));
        var request = Task.Run(() => pipeline.Translate("The cat is in the house.", Timeout));
        Thread.Sleep(200);

        pipeline.Dispose();

        Assert.ThrowsAny<Exception>(() => request.GetAwaiter().GetResult());
        AssertGone(stages);
    }

    [Fact]
    public void MissingModeFile_IsEngineUnavailable()
    {
        var e = Assert.Throws<EngineUnavailableException>(() => new ApertiumPipeline(new LanguagePair("eng", "xxx", "/nonexistent/eng-xxx.mode")));
        Assert.Equal(("translate", "apertium apertium-eng-spa"), (e.Engine, e.Packages));
    }

    [Fact]
    public void MissingProgram_IsEngineUnavailable()
    {
        string mode = Path.GetTempFileName();
        try
        {
            File.WriteAllText(mode, "cat | gureum-no-such-apertium-program '/usr/share/apertium/apertium-eng-spa/x.bin'");
            var e = Assert.Throws<EngineUnavailableException>(() => new ApertiumPipeline(new LanguagePair("eng", "spa", mode)));
            Assert.Equal(("translate", "apertium apertium-eng-spa"), (e.Engine, e.Packages));
        }
        finally
        {
            File.Delete(mode);
        }
    }

    [Fact]
    public void StageThatExitsAtOnce_IsEngineUnavailable()
    {
        string mode = Path.GetTempFileName();
        try
        {
            File.WriteAllText(mode, "lt-proc '/nonexistent/eng-spa.automorf.bin'");
            var e = Assert.Throws<EngineUnavailableException>(() => new ApertiumPipeline(new LanguagePair("eng", "spa", mode)));
            Assert.True(e.Message.Contains("stage 1 (lt-proc) exited", StringComparison.Ordinal), e.Message);
        }
        finally
        {
            File.Delete(mode);
        }
    }

    /// <summary>A zombie keeps its /proc entry until reaped, so a missing entry means killed and reaped.</summary>
    private static void AssertGone(IReadOnlyList<int> pids)
    {
        var watch = Stopwatch.StartNew();
        while (pids.Any(pid => Directory.Exists($"/proc/{pid}")) && watch.Elapsed < TimeSpan.FromSeconds(5))
            Thread.Sleep(20);
        Assert.All(pids, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"process {pid} is still there"));
    }
}
