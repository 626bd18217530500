using Gureum.AI.Speech;

namespace Gureum.AI.Tests.Speech;

public sealed class SpeechSynthesizerTests
{
    private static readonly SpeechSynthesizer Tts = new();

    private static List<short[]> Speak(string text, TtsOptions options, CancellationToken ct = default)
    {
        var chunks = new List<short[]>();
        Tts.Synthesize(text, options, audio => chunks.Add(audio.ToArray()), ct);
        return chunks;
    }

    [Fact]
    public void Voices_ListESpeakLanguagesAndFliteVoices()
    {
        Assert.Contains(Tts.Voices, v => v is { Id: "en-us", Engine: "espeak-ng", Language: "en-us" });
        Assert.Contains(Tts.Voices, v => v is { Id: "ko", Engine: "espeak-ng" });
        Assert.Contains(Tts.Voices, v => v is { Id: "flite:slt", Engine: "flite", Gender: "female" });
        Assert.DoesNotContain(Tts.Voices, v => v.Id.Contains("time"));
        Assert.Equal(Tts.Voices.Count, Tts.Voices.Select(v => v.Id).Distinct().Count());
    }

    [Theory]
    [InlineData("en-us", "Hello, this is a test.", null, 22_050)]
    [InlineData("ko", "안녕하세요. 만나서 반갑습니다.", null, 22_050)]
    [InlineData("en-us", "Hello, this is a test.", 16_000, 16_000)]
    [InlineData("ko", "안녕하세요.", 48_000, 48_000)]
    [InlineData("flite:slt", "Hello, this is a test.", null, 16_000)]
    [InlineData("flite:kal", "Hello, this is a test.", 16_000, 16_000)]
    public void Synthesize_GivesAudibleSpeechAtTheRequestedRate(string voice, string text, int? rate, int expectedRate)
    {
        var options = new TtsOptions(voice, SampleRate: rate);

        var audio = Speak(text, options).SelectMany(c => c).ToArray();

        Assert.Equal(expectedRate, Tts.OutputRate(options));
        Assert.InRange(audio.Length / (double)expectedRate, 0.5, 6);
        Assert.True(TestAudio.Rms(audio) > 0.02, $"RMS {TestAudio.Rms(audio)}");
    }

    [Fact]
    public void Synthesize_Resampled_KeepsTheDuration()
    {
        var native = Speak("One two three four five.", new TtsOptions()).Sum(c => c.Length) / 22_050.0;
        var at16k = Speak("One two three four five.", new TtsOptions(SampleRate: 16_000)).Sum(c => c.Length) / 16_000.0;

        Assert.Equal(native, at16k, 0.04);   // eSpeak NG calls rand(): its length varies by ~1% per call
    }

    [Theory]
    [InlineData("en-us")]
    [InlineData("flite:slt")]
    public void Synthesize_LongText_StreamsSentenceBySentence(string voice)
    {
        var chunks = Speak("The first sentence. The second one! Is this the third? And a fourth.", new TtsOptions(voice));

        Assert.Equal(4, chunks.Count);
        Assert.All(chunks, c => Assert.True(c.Length > 1_000));
    }

    [Theory]
    [InlineData("en-us", 100, 300)]
    [InlineData("flite:slt", 100, 300)]
    public void Synthesize_FasterRate_GivesShorterAudio(string voice, int slow, int fast)
    {
        const string text = "Counting slowly from one to ten, and then back again.";
        var slowLength = Speak(text, new TtsOptions(voice, Rate: slow)).Sum(c => c.Length);
        var fastLength = Speak(text, new TtsOptions(voice, Rate: fast)).Sum(c => c.Length);

        Assert.True(fastLength < slowLength * 0.6, $"{fastLength} vs {slowLength}");
    }

    [Fact]
    public void Synthesize_Cancelled_StopsBetweenSentences()
    {
        using var cts = new CancellationTokenSource();
        var chunks = 0;

        Assert.Throws<OperationCanceledException>(() =>
            Tts.Synthesize("One. Two. Three. Four. Five.", new TtsOptions(), _ => { chunks++; cts.Cancel(); }, cts.Token));
        Assert.Equal(1, chunks);
    }

    [Fact]
    public void Synthesize_EmptyOrWhitespaceText_GivesNoAudio() => Assert.Empty(Speak(" \n\t ", new TtsOptions()));

    [Fact]
    public void Synthesize_UnknownVoice_Is422ListingValidOnes()
    {
        var e = Assert.Throws<AiInputException>(() => Speak("Hi.", new TtsOptions("en-xx")));

        Assert.Equal((422, "voice"), (e.Status, e.Field));
        Assert.Contains("en-us", e.Message);
        Assert.Contains("flite:slt", e.Message);
        Assert.Equal(422, Assert.Throws<AiInputException>(() => Tts.OutputRate(new TtsOptions("flite:nobody"))).Status);
    }

    [Theory]
    [InlineData(79, 50, null, "rate")]
    [InlineData(451, 50, null, "rate")]
    [InlineData(175, -1, null, "pitch")]
    [InlineData(175, 101, null, "pitch")]
    [InlineData(175, 50, 100, "sampleRate")]
    public void Synthesize_OutOfRangeOption_Is400NamingIt(int rate, int pitch, int? sampleRate, string field)
    {
        var e = Assert.Throws<AiInputException>(() => Speak("Hi.", new TtsOptions(Rate: rate, Pitch: pitch, SampleRate: sampleRate)));

        Assert.Equal((400, field), (e.Status, e.Field));
    }

    [Fact]
    public async Task Synthesize_FromManyThreads_GivesTheSameAudioAsAlone()
    {
        // eSpeak NG has one global voice and callback: interleaved calls would mix voices or samples. Its output varies
        // a little from call to call (it calls rand(): ~1% of length), so "the same" is within 3%.
        string[] texts = ["Concurrency check.", "동시성 검사."];
        string[] voices = ["en-us", "ko"];
        var alone = texts.Select((t, i) => Speak(t, new TtsOptions(voices[i])).SelectMany(c => c).ToArray()).ToArray();

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() =>
            (i % 2, Speak(texts[i % 2], new TtsOptions(voices[i % 2])).SelectMany(c => c).ToArray()))));

        foreach (var (which, audio) in results)
        {
            Assert.InRange(audio.Length, alone[which].Length * 0.97, alone[which].Length * 1.03);
            Assert.InRange(TestAudio.Rms(audio), TestAudio.Rms(alone[which]) * 0.97, TestAudio.Rms(alone[which]) * 1.03);
        }
    }
}
