using Gureum.AI.Translation;

namespace Gureum.AI.Tests.Translation;

public sealed class ApertiumModesTests
{
    [Fact]
    public void InstalledPairs_AreTheTranslationModes()
    {
        var pairs = ApertiumPipeline.InstalledPairs();
        Assert.Contains(pairs, p => p is { Source: "eng", Target: "spa" } && p.ModeFile == "/usr/share/apertium/modes/eng-spa.mode");
        Assert.Contains(pairs, p => p is { Source: "spa", Target: "eng" });
    }

    [Fact]
    public void Find_SkipsDebugAndIntermediateModes()
    {
        var dir = Directory.CreateTempSubdirectory("gureum-modes-");
        try
        {
            foreach (var name in new[] { "eng-spa", "spa-eng_US", "eng-spa-tagger", "eng-spa-morph", "spa-eng-postchunk", "README" })
                File.WriteAllText(Path.Combine(dir.FullName, name + ".mode"), "lt-proc x");
            var pairs = ApertiumModes.Find(dir.FullName);
            Assert.Equal(["eng->spa", "spa->eng_US"], pairs.Select(p => $"{p.Source}->{p.Target}"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Find_InAMissingDirectory_IsEmpty() => Assert.Empty(ApertiumModes.Find("/nonexistent/apertium/modes"));

    [Fact]
    public void Stages_AddNullFlush_AndChooseTheGenerationMode()
    {
        const string mode = "lt-proc 'a b.bin' | apertium-tagger -g $2 \"c.prob\" | lt-proc $1 d.bin | cg-proc -z e.bin";
        var clean = ApertiumModes.Stages(mode, markUnknownWords: false);
        Assert.Equal(["lt-proc", "-z", "a b.bin"], clean[0]);
        Assert.Equal(["apertium-tagger", "-z", "-g", "c.prob"], clean[1]);
        Assert.Equal(["lt-proc", "-z", "-n", "d.bin"], clean[2]);
        Assert.Equal(["cg-proc", "-z", "e.bin"], clean[3]);
        Assert.Equal(["lt-proc", "-z", "-g", "d.bin"], ApertiumModes.Stages(mode, markUnknownWords: true)[2]);
    }

    [Theory]
    [InlineData("lt-proc a.bin > /tmp/x")]
    [InlineData("lt-proc $(id)")]
    [InlineData("lt-proc a.bin; rm x")]
    [InlineData("lt-proc 'unterminated")]
    [InlineData("lt-proc a | | b")]
    public void Stages_RefuseShellSyntaxTheyDoNotRun(string mode) =>
        Assert.Throws<FormatException>(() => ApertiumModes.Stages(mode, markUnknownWords: false));

    [Fact]
    public void Resolve_IsCaseInsensitive() => Assert.Equal("eng", ApertiumPipeline.Resolve("ENG", "Spa").Source);

    [Fact]
    public void Resolve_UnknownTarget_Is422ListingTheInstalledPairs()
    {
        var e = Assert.Throws<AiInputException>(() => ApertiumPipeline.Resolve("eng", "kor"));
        Assert.Equal((422, "target"), (e.Status, e.Field));
        Assert.Contains("eng->spa", e.Message);
        Assert.Contains("spa->eng", e.Message);
    }

    [Fact]
    public void Resolve_UnknownSource_Is422OnSource()
    {
        var e = Assert.Throws<AiInputException>(() => ApertiumPipeline.Resolve("kor", "eng"));
        Assert.Equal((422, "source"), (e.Status, e.Field));
    }

    [Fact]
    public void Resolve_WithNothingInstalled_IsEngineUnavailable()
    {
        var e = Assert.Throws<EngineUnavailableException>(() => ApertiumModes.Resolve([], "eng", "spa"));
        Assert.Equal(("translate", "apertium apertium-eng-spa"), (e.Engine, e.Packages));
    }
}
