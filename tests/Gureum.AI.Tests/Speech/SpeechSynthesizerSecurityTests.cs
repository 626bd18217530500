using Gureum.AI.Speech;

namespace Gureum.AI.Tests.Speech;

/// <summary>SECURITY-TESTS.md, "Paths and names" (no field accepts a server path; control characters and NUL) for TTS.</summary>
public sealed class SpeechSynthesizerSecurityTests
{
    private static readonly SpeechSynthesizer Tts = new();

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v/m1")]
    [InlineData("gmw/en-US")]                       // an eSpeak voice file, not one of our ids
    [InlineData("en-us\0ko")]
    [InlineData("flite:../../tmp/x")]
    public void PathsAndNames_VoiceThatIsAPathOrFile_Is422(string voice)
    {
        var e = Assert.Throws<AiInputException>(() => Tts.Synthesize("Hi.", new TtsOptions(voice), _ => { }, default));
        Assert.Equal((422, "voice"), (e.Status, e.Field));
    }

    [Fact]
    public void PathsAndNames_NulAndControlCharactersInText_AreSpokenPast()
    {
        // A NUL would end the C string: the words after it must still be spoken.
        var withNul = 0;
        var plain = 0;
        Tts.Synthesize("one two\0 three four\u0007 five", new TtsOptions(), a => withNul += a.Length, default);
        Tts.Synthesize("one two three four five", new TtsOptions(), a => plain += a.Length, default);

        Assert.InRange(withNul, plain * 0.8, plain * 1.25);
    }
}
