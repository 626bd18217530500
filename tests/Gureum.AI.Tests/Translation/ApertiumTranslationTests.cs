using Gureum.AI.Translation;

namespace Gureum.AI.Tests.Translation;

/// <summary>Known outputs, recorded from `echo TEXT | apertium [-u] PAIR` (Apertium 3.8.3, apertium-eng-spa 0.8.1).</summary>
public sealed class ApertiumTranslationTests(ApertiumFixture engines) : IClassFixture<ApertiumFixture>
{
    [Theory]
    [InlineData("The cat is in the house.", "El gato es en la casa.")]
    [InlineData("I would like a cup of coffee, please.", "Me gustaría una taza de café, complacer.")]
    [InlineData("My brother works in a big hospital.", "Mis obras de hermano en un hospital grande.")]
    [InlineData("Where is the train station?", "Dónde es la canal de tren?")]
    [InlineData("I saw the xyzzyq yesterday.", "Vi el xyzzyq ayer.")]
    public void EnglishToSpanish_GivesTheCliOutput(string english, string spanish) =>
        Assert.Equal(spanish, engines.EngSpa.Translate(english, ApertiumFixture.Timeout));

    [Theory]
    [InlineData("El perro come carne.", "The dog eats flesh.")]
    [InlineData("Mañana vamos a la playa con mis amigos.", "Tomorrow we go to the beach with my friends.")]
    [InlineData("¿Dónde está la biblioteca?", "Where it is the library?")]
    [InlineData("Mi hermana vive en una ciudad pequeña.", "My sister lives in a small city.")]
    public void SpanishToEnglish_GivesTheCliOutput(string spanish, string english) =>
        Assert.Equal(english, engines.SpaEng.Translate(spanish, ApertiumFixture.Timeout));

    [Fact]
    public void MarkedMode_KeepsApertiumsUnknownWordMarks()
    {
        using var marked = new ApertiumPipeline(ApertiumPipeline.Resolve("eng", "spa"), markUnknownWords: true);
        // `apertium eng-spa` (without -u): * not in the dictionary, # could not be generated.
        Assert.Equal("Vi el *xyzzyq ayer.", marked.Translate("I saw the xyzzyq yesterday.", ApertiumFixture.Timeout));
        Assert.Equal("Dónde es la #canal de tren?", marked.Translate("Where is the train station?", ApertiumFixture.Timeout));
    }

    [Fact]
    public void HundredSentences_ThroughOnePipeline_MatchTheCliLineByLine()
    {
        string[] subjects = ["The dog", "My sister", "The old man", "A teacher", "The children"];
        string[] predicates = ["eats an apple", "reads a book", "walks to the market", "sleeps in the garden", "writes a letter",
            "drinks water", "opens the door", "sees the sea", "buys bread", "plays in the park",
            "likes the music", "cleans the kitchen", "visits the city", "sings a song", "closes the window",
            "finds a key", "paints the wall", "waits for the bus", "answers the question", "sells the car"];
        var sentences = subjects.SelectMany(s => predicates.Select(p => $"{s} {p}.")).ToArray();
        Assert.Equal(100, sentences.Length);

        var expected = ApertiumCli.Translate("eng-spa", string.Join("\n", sentences)).Split('\n');
        var actual = sentences.Select(s => engines.EngSpa.Translate(s, ApertiumFixture.Timeout)).ToArray();

        Assert.Equal(expected, actual);
        Assert.False(engines.EngSpa.IsBroken);
    }

    [Fact]
    public void TextWithNewlines_IsOneTranslation_WithItsLineBreaksKept()
    {
        const string text = "The first line is short.\nThe second line is longer than the first.\r\n\nThe end.";
        string translated = engines.EngSpa.Translate(text, ApertiumFixture.Timeout);

        Assert.Equal(ApertiumCli.Translate("eng-spa", text), translated);
        Assert.Equal(["\n", "\r\n\n"], System.Text.RegularExpressions.Regex.Matches(translated, @"[\r\n]+").Select(m => m.Value));
        // The pipeline is still in step: the next answer belongs to the next question.
        Assert.Equal("El gato es en la casa.", engines.EngSpa.Translate("The cat is in the house.", ApertiumFixture.Timeout));
    }

    [Fact]
    public void EmptyOrBlankText_IsEmpty_WithoutARequest()
    {
        Assert.Equal("", engines.EngSpa.Translate("", ApertiumFixture.Timeout));
        Assert.Equal("", engines.EngSpa.Translate(" \n\t", ApertiumFixture.Timeout));
    }
}
