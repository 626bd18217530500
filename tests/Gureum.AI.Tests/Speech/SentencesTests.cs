using Gureum.AI.Speech;

namespace Gureum.AI.Tests.Speech;

public sealed class SentencesTests
{
    [Fact]
    public void Split_EndsSentencesAtPunctuationFollowedBySpace()
    {
        Assert.Equal(["Dr.", "Who?", "Yes!", "3.14 is pi…", "안녕하세요.", "끝"], Sentences.Split("Dr. Who? Yes! 3.14 is pi… 안녕하세요. 끝"));
        Assert.Equal(["a?b.", "c"], Sentences.Split("a?b. c"));
    }

    [Fact]
    public void Split_BlankLineEndsAParagraph_AndControlCharactersBecomeSpaces() =>
        Assert.Equal(["Title", "Body text", "x"], Sentences.Split("Title\n\nBody\u0000text\r\n\r\nx"));

    [Fact]
    public void Split_LongTextWithoutPunctuation_IsCutNearMaxChars()
    {
        var text = string.Join(' ', Enumerable.Repeat("word", 500));
        var pieces = Sentences.Split(text).ToList();

        Assert.True(pieces.Count >= 6);
        Assert.All(pieces, p => Assert.InRange(p.Length, 1, Sentences.MaxChars));
        Assert.Equal(text, string.Join(' ', pieces));

        var unbroken = new string('x', 2000);
        Assert.All(Sentences.Split(unbroken), p => Assert.True(p.Length <= 2 * Sentences.MaxChars));
    }
}
