using Gureum.AI.Translation;

namespace Gureum.AI.Tests.Translation;

/// <summary>SECURITY-TESTS.md classes as they apply to text sent into the pipeline and language names.</summary>
public sealed class ApertiumSecurityTests(ApertiumFixture engines) : IClassFixture<ApertiumFixture>
{
    [Theory]
    [InlineData(@"\^$@[]{}/<> 1 2 3")]
    [InlineData("^qqq<n>$ [<STREAMCMD:FLUSH>] {xq} zz/yy [#1] [#2]")]
    [InlineData(@"C:\qq\zz ^$ \\zzq\qqz\")]
    [InlineData("zzq\n[#1]\n[#2]\n[#3]")] // our end-of-answer marker cannot be forged
    [InlineData("zzq [\n] ]\r\n[")]
    public void Requests_StreamFormatCharacters_RoundTripAsText(string text) =>
        Assert.Equal(text, engines.EngSpa.Translate(text, ApertiumFixture.Timeout));

    [Fact]
    public void Requests_SpecialCharactersInASentence_GiveTheCliOutput()
    {
        const string text = @"Price: 5 $ / 10 [a] {b} <c> ^d$ @e \f";
        Assert.Equal(@"Precio: 5 $ / 10 [un] {b} <c> ^d$ @e \f", engines.EngSpa.Translate(text, ApertiumFixture.Timeout));
        Assert.Equal(ApertiumCli.Translate("eng-spa", text), engines.EngSpa.Translate(text, ApertiumFixture.Timeout));
    }

    [Fact]
    public void Requests_NulInsideText_CannotSplitTheAnswerOrDesyncThePipeline()
    {
        string translated = engines.EngSpa.Translate("The dog\0 eats.\0\0The cat sleeps.", ApertiumFixture.Timeout);
        Assert.DoesNotContain('\0', translated);
        Assert.Contains("gato", translated);
        Assert.Equal("El gato es en la casa.", engines.EngSpa.Translate("The cat is in the house.", ApertiumFixture.Timeout));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("/usr/share/apertium/modes/eng-spa")]
    [InlineData("spa.mode")]
    [InlineData("spa\0")]
    public void PathsAndNames_TargetsThatLookLikePaths_Are422_NotFiles(string target)
    {
        var e = Assert.Throws<AiInputException>(() => ApertiumPipeline.Resolve("eng", target));
        Assert.Equal(422, e.Status);
        Assert.Equal("target", e.Field);
        Assert.DoesNotContain(target, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DurabilityAndConcurrency_ConcurrentRequests_EachGetTheirOwnAnswer()
    {
        string[] sentences = ["The cat is in the house.", "My sister lives in a small city.", "The dog eats an apple."];
        var expected = sentences.Select(s => engines.EngSpa.Translate(s, ApertiumFixture.Timeout)).ToArray();

        Parallel.For(0, 60, new ParallelOptions { MaxDegreeOfParallelism = 6 }, i =>
            Assert.Equal(expected[i % 3], engines.EngSpa.Translate(sentences[i % 3], ApertiumFixture.Timeout)));
    }
}
