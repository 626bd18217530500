using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gureum.Server.Features.Usage;
using Gureum.Server.Infrastructure.Db;
using Gureum.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenCvSharp;

namespace Gureum.Server.Tests.Features;

/// <summary>
/// The ready-made AI APIs through the real server on the real engines: OCR, TTS, STT, translation and faces, the
/// asynchronous operations, metering, pool limits, and every bad input refused with the field or limit named.
/// </summary>
public sealed class AiTests(AiTests.App app) : IClassFixture<AiTests.App>
{
    /// <summary>Small limits so the refusals are cheap to reach; audio over 4 s goes asynchronous.</summary>
    public sealed class App() : GureumApp(new Dictionary<string, string?>
    {
        ["Gureum:Ai:MaxImageBytes"] = (4 * 1024 * 1024).ToString(),
        ["Gureum:Ai:MaxSyncAudioSeconds"] = "4",
        ["Gureum:Ai:MaxTtsCharacters"] = "60000",
        ["Gureum:Ai:Tts:Queue"] = "0",
    });

    private async Task<(string Project, HttpClient Client)> ProjectWithAiKeyAsync()
    {
        var project = await app.CreateProjectAsync();
        var (_, key) = await app.CreateKeyAsync(project, "ai");
        return (project, app.Client(key));
    }

    private static ByteArrayContent Bytes(byte[] data, string type)
    {
        var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    /// <summary>A 300-dpi-like page: black text on white, rendered with OpenCV's Hershey font.</summary>
    internal static byte[] RenderText(params string[] lines)
    {
        using var page = new Mat(120 + 90 * lines.Length, 1800, MatType.CV_8UC1, OpenCvSharp.Scalar.White);
        for (var i = 0; i < lines.Length; i++)
        {
            Cv2.PutText(page, lines[i], new Point(60, 110 + 90 * i), HersheyFonts.HersheySimplex, 2.0, OpenCvSharp.Scalar.Black, 4, LineTypes.AntiAlias);
        }
        return page.ImEncode(".png");
    }

    internal static byte[] MultiPageTiff(params byte[][] pngs)
    {
        var path = Path.Combine(Path.GetTempPath(), $"gureum-{Guid.NewGuid():N}.tiff");
        var mats = pngs.Select(p => Cv2.ImDecode(p, ImreadModes.Grayscale)).ToArray();
        try
        {
            Cv2.ImWrite(path, mats);
            return File.ReadAllBytes(path);
        }
        finally
        {
            foreach (var m in mats) m.Dispose();
            File.Delete(path);
        }
    }

    private async Task<JsonElement> WaitOperationAsync(HttpClient client, string location)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var operation = await client.GetFromJsonAsync<JsonElement>(location);
            var status = operation.GetProperty("status").GetString();
            if (status is "succeeded" or "failed") return operation;
            Assert.True(DateTime.UtcNow < deadline, "operation did not end in time: " + operation);
            await Task.Delay(200);
        }
    }

    private async Task<List<UsageEvent>> UsageAsync(string project)
    {
        await app.Services.GetRequiredService<UsageMeter>().FlushAsync();
        await using var db = app.Services.GetRequiredService<GureumDbFactory>().Create();
        return await db.Set<UsageEvent>().Where(e => e.ProjectId == project).ToListAsync();
    }

    private static string Words(string text) => string.Join(' ', text.ToLowerInvariant().Split(' ', '\n', '\f', '.', ',').Where(w => w.Length > 0));

    // --- OCR -------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Ocr_ReadsAnImage_WithLinesWordsBoxes_AndMetersOnePage()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        using var response = await client.PostAsync($"/v1/projects/{project}/ai/ocr?languages=eng", Bytes(RenderText("THE QUICK BROWN FOX", "JUMPS OVER 42 DOGS"), "image/png"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        Assert.Contains("the quick brown fox jumps over 42 dogs", Words(body.GetProperty("text").GetString()!));
        var page = body.GetProperty("pages")[0];
        Assert.Equal(1, page.GetProperty("number").GetInt32());
        Assert.Equal(2, page.GetProperty("lines").GetArrayLength());
        var first = page.GetProperty("lines")[0].GetProperty("words")[0];
        Assert.Equal("THE", first.GetProperty("text").GetString());
        var box = first.GetProperty("box");
        Assert.InRange(box.GetProperty("x").GetInt32(), 40, 90);
        Assert.InRange(box.GetProperty("y").GetInt32(), 50, 110);
        Assert.InRange(first.GetProperty("confidence").GetDouble(), 50, 100);
        Assert.Equal(1, body.GetProperty("units").GetProperty("quantity").GetDouble());

        var usage = Assert.Single(await UsageAsync(project));
        Assert.Equal(("ocr", "pages", 1.0), (usage.Service, usage.Meter, usage.Quantity));
    }

    [Fact]
    public async Task Ocr_MultiPageTiff_IsAsynchronous_ReturnsPagesInOrder_AndIdempotencyKeyGivesTheSameOperation()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        var tiff = MultiPageTiff(RenderText("FIRST PAGE"), RenderText("SECOND PAGE"), RenderText("THIRD PAGE"));
        using var response = await client.PostAsync($"/v1/projects/{project}/ai/ocr", Bytes(tiff, "image/tiff"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.GetValues("Operation-Location").Single();
        Assert.StartsWith($"/v1/projects/{project}/ai/operations/", location);
        Assert.Contains((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString(), new[] { "notStarted", "running" });

        var operation = await WaitOperationAsync(client, location);
        Assert.True(operation.GetProperty("status").GetString() == "succeeded", operation.ToString());
        var pages = operation.GetProperty("result").GetProperty("pages");
        Assert.Equal(["first page", "second page", "third page"], pages.EnumerateArray().Select(p => Words(p.GetProperty("text").GetString()!)));
        Assert.Equal(3, Assert.Single(await UsageAsync(project)).Quantity);

        // A retried upload with the same Idempotency-Key is the same operation, not a second one.
        using var first = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/ai/ocr") { Content = Bytes(tiff, "image/tiff") };
        first.Headers.Add("Idempotency-Key", "scan-42");
        using var firstAnswer = await client.SendAsync(first);
        using var retry = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/ai/ocr") { Content = Bytes(tiff, "image/tiff") };
        retry.Headers.Add("Idempotency-Key", "scan-42");
        using var retryAnswer = await client.SendAsync(retry);
        Assert.Equal(HttpStatusCode.Accepted, retryAnswer.StatusCode);
        Assert.Equal(firstAnswer.Headers.GetValues("Operation-Location").Single(), retryAnswer.Headers.GetValues("Operation-Location").Single());
        await WaitOperationAsync(client, retryAnswer.Headers.GetValues("Operation-Location").Single());

        // Another project's key cannot see it; deleting it removes the result.
        var (other, otherClient) = await ProjectWithAiKeyAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await otherClient.GetAsync(location.Replace(project, other))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await otherClient.GetAsync(location)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(location)).StatusCode);
        await Problems.AssertProblemAsync(await client.GetAsync(location), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task Requests_Ocr_BadInputs_AreRefusedNamingTheFieldOrLimit()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        var url = $"/v1/projects/{project}/ai/ocr";

        var notImage = await Problems.AssertProblemAsync(await client.PostAsync(url, Bytes(Encoding.UTF8.GetBytes("just some text, not an image"), "application/octet-stream")),
            HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        Assert.True(notImage.GetProperty("errors").TryGetProperty("file", out _));
        var empty = await Problems.AssertProblemAsync(await client.PostAsync(url, Bytes([], "image/png")), HttpStatusCode.BadRequest, "validation");
        Assert.True(empty.GetProperty("errors").TryGetProperty("file", out _));
        await Problems.AssertProblemAsync(await client.PostAsync(url, new StringContent("hello", Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");

        // A decompression bomb: a valid 60 000 × 60 000 PNG header with almost no data.
        var bomb = await Problems.AssertProblemAsync(await client.PostAsync(url, Bytes(PngHeader(60_000, 60_000), "image/png")),
            HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Contains("60000", bomb.GetProperty("detail").GetString());

        var tooBig = await Problems.AssertProblemAsync(await client.PostAsync(url, Bytes(new byte[5 * 1024 * 1024], "image/png")),
            HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Contains("Gureum:Ai:MaxImageBytes", tooBig.GetProperty("detail").GetString());

        var language = await Problems.AssertProblemAsync(await client.PostAsync(url + "?languages=eng+xyz", Bytes(RenderText("HELLO"), "image/png")),
            (HttpStatusCode)422, "unprocessable");
        Assert.True(language.GetProperty("errors").TryGetProperty("languages", out _));
        Assert.Contains("kor", language.GetProperty("detail").GetString());

        // The engine still works after the refusals, and none of them was metered.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(url, Bytes(RenderText("STILL FINE"), "image/png"))).StatusCode);
        Assert.Single(await UsageAsync(project));
    }

    /// <summary>PNG signature + IHDR claiming the size + an empty IDAT + IEND (CRCs correct).</summary>
    internal static byte[] PngHeader(int width, int height)
    {
        var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 0;
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        Chunk(png, "IEND", []);
        return png.ToArray();

        static uint Crc32(byte[] data)
        {
            var crc = 0xFFFFFFFFu;
            foreach (var b in data)
            {
                crc ^= b;
                for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
            return ~crc;
        }

        static void Chunk(Stream s, string type, byte[] data)
        {
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
            s.Write(length);
            var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            s.Write(typed);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
            s.Write(crc);
        }
    }

    // --- TTS and STT -----------------------------------------------------------------------------------------------

    private static Task<HttpResponseMessage> SpeakAsync(HttpClient client, string project, object request) =>
        client.PostAsJsonAsync($"/v1/projects/{project}/ai/tts", request);

    [Fact]
    public async Task Tts_ReturnsWavAtTheRequestedRate_AndVoicesListLanguages()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        using var response = await SpeakAsync(client, project, new { text = "Hello from Gureum.", voice = "en-us", sampleRate = 16000 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("audio/wav", response.Content.Headers.ContentType?.MediaType);
        var wav = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal("RIFF", Encoding.ASCII.GetString(wav, 0, 4));
        Assert.Equal(16000, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24)));
        Assert.Equal(wav.Length - 44, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(40)));
        Assert.InRange((wav.Length - 44) / 2 / 16000.0, 0.5, 5);
        var samples = wav.AsSpan(44).ToArray();
        Assert.Contains(Enumerable.Range(0, samples.Length / 2), i => Math.Abs(BinaryPrimitives.ReadInt16LittleEndian(samples.AsSpan(2 * i))) > 1000);

        var voices = await client.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/ai/tts/voices");
        var items = voices.GetProperty("items").EnumerateArray().ToList();
        Assert.Contains(items, v => v.GetProperty("id").GetString() == "en-us");
        Assert.Contains(items, v => v.GetProperty("language").GetString()!.StartsWith("ko", StringComparison.Ordinal));
        var usage = Assert.Single(await UsageAsync(project));
        Assert.Equal(("tts", "characters", 18.0), (usage.Service, usage.Meter, usage.Quantity));
    }

    [Fact]
    public async Task Tts_LongText_StreamsBeforeTheWholeTextIsSpoken()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        var text = string.Concat(Enumerable.Repeat("This sentence is spoken again and again to make a long text. ", 80));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/ai/tts") { Content = JsonContent.Create(new { text, format = "pcm" }) };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Content.Headers.ContentLength);
        Assert.Equal("audio/L16", response.Content.Headers.ContentType?.MediaType);
        var rate = int.Parse(response.Headers.GetValues("X-Gureum-Sample-Rate").Single());
        var audio = await response.Content.ReadAsByteArrayAsync();
        Assert.InRange(audio.Length / 2.0 / rate, 60, 600);
    }

    [Fact]
    public async Task Requests_Tts_BadInputs_AreRefusedNamingTheField()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        var voice = await Problems.AssertProblemAsync(await SpeakAsync(client, project, new { text = "hi", voice = "klingon" }), (HttpStatusCode)422, "unprocessable");
        Assert.True(voice.GetProperty("errors").TryGetProperty("voice", out _));
        await Problems.AssertFieldErrorAsync(await SpeakAsync(client, project, new { text = "" }), "text");
        // A browser may post text/plain across origins without asking first: JSON routes refuse it.
        await Problems.AssertProblemAsync(await client.PostAsync($"/v1/projects/{project}/ai/tts", new StringContent("{\"text\": \"hi\"}", Encoding.UTF8, "text/plain")),
            HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        await Problems.AssertFieldErrorAsync(await SpeakAsync(client, project, new { text = "hi", format = "mp3" }), "format");
        await Problems.AssertFieldErrorAsync(await SpeakAsync(client, project, new { text = "hi", sampleRate = 1 }), "sampleRate");
        await Problems.AssertFieldErrorAsync(await SpeakAsync(client, project, new { text = "hi", rate = 5000 }), "rate");
        // 5 MB of text: refused by its length, naming the setting.
        var huge = await Problems.AssertProblemAsync(await SpeakAsync(client, project, new { text = new string('a', 5 * 1024 * 1024) }),
            HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Contains("Gureum:Ai:MaxTtsCharacters", huge.GetProperty("detail").GetString());
        Assert.Empty(await UsageAsync(project));
    }

    [Fact]
    public async Task DurabilityAndConcurrency_Tts_WhenTheOnlyVoiceIsBusy_ShedsLoadWith429AndRetryAfter()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        var text = string.Concat(Enumerable.Repeat("A long text keeps the one text to speech engine busy for a while. ", 800));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/projects/{project}/ai/tts") { Content = JsonContent.Create(new { text }) };
        using var busy = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, busy.StatusCode);
        // The stream is not read: the engine waits on the bounded buffer, holding its only slot (queue 0 here).
        using var shed = await SpeakAsync(client, project, new { text = "hello" });
        await Problems.AssertProblemAsync(shed, HttpStatusCode.TooManyRequests, "too-many-requests");
        Assert.Equal(TimeSpan.FromSeconds(1), shed.Headers.RetryAfter?.Delta);
        busy.Dispose();
        // Once the client left, the engine is free again.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var again = await SpeakAsync(client, project, new { text = "hello" });
            if (again.StatusCode == HttpStatusCode.OK) break;
            Assert.True(DateTime.UtcNow < deadline, "the engine was not freed after the client left");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Stt_TranscribesSpeech_RoundTripFromTts()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        using var spoken = await SpeakAsync(client, project, new { text = "Open the door and turn on the light.", voice = "flite:rms", sampleRate = 44100 });
        Assert.Equal(HttpStatusCode.OK, spoken.StatusCode);
        var wav = await spoken.Content.ReadAsByteArrayAsync();

        using var response = await client.PostAsync($"/v1/projects/{project}/ai/stt", Bytes(wav, "audio/wav"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        var words = body.GetProperty("words").EnumerateArray().ToList();
        var heard = words.Select(w => w.GetProperty("word").GetString()!.ToLowerInvariant()).ToList();
        // Flite's rms voice comes back nearly word for word (engine tests: 1.4–5.8 % WER over 25 runs; slt varies more,
        // 4–13 %, since Flite draws on rand()); require 5 of these 7 words.
        Assert.True(new[] { "open", "the", "door", "and", "turn", "on", "light" }.Count(heard.Contains) >= 5, string.Join(' ', heard));
        var starts = words.Select(w => w.GetProperty("start").GetDouble()).ToList();
        Assert.Equal(starts.Order(), starts);
        Assert.All(words, w => Assert.InRange(w.GetProperty("end").GetDouble(), 0, body.GetProperty("seconds").GetDouble() + 0.1));
        Assert.Contains(await UsageAsync(project), u => u.Service == "stt" && u.Meter == "audio-seconds" && u.Quantity > 1);
    }

    [Fact]
    public async Task Stt_LongAudio_IsAsynchronous()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        using var spoken = await SpeakAsync(client, project, new { text = "Turn on the light. Close the window. Open the door and go home.", voice = "flite:rms" });
        var wav = await spoken.Content.ReadAsByteArrayAsync();
        using var response = await client.PostAsync($"/v1/projects/{project}/ai/stt", Bytes(wav, "audio/wav"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var operation = await WaitOperationAsync(client, response.Headers.GetValues("Operation-Location").Single());
        Assert.True(operation.GetProperty("status").GetString() == "succeeded", operation.ToString());
        Assert.Contains("light", operation.GetProperty("result").GetProperty("text").GetString());
    }

    [Fact]
    public async Task Requests_Stt_BadAudio_IsRefusedNamingTheFile()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        var url = $"/v1/projects/{project}/ai/stt";
        // A header that claims far more data than the body holds, and a zero sample rate.
        var lying = Wav(16000, 1, new byte[3200]);
        BinaryPrimitives.WriteInt32LittleEndian(lying.AsSpan(40), int.MaxValue - 100);
        BinaryPrimitives.WriteInt32LittleEndian(lying.AsSpan(4), int.MaxValue - 64);
        var lyingAnswer = await client.PostAsync(url, Bytes(lying, "audio/wav"));
        Assert.True(lyingAnswer.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.OK, await lyingAnswer.Content.ReadAsStringAsync());
        var zeroRate = Wav(16000, 1, new byte[3200]);
        BinaryPrimitives.WriteInt32LittleEndian(zeroRate.AsSpan(24), 0);
        var zero = await Problems.AssertProblemAsync(await client.PostAsync(url, Bytes(zeroRate, "audio/wav")), HttpStatusCode.BadRequest, "validation");
        Assert.True(zero.GetProperty("errors").TryGetProperty("file", out _));
        await Problems.AssertProblemAsync(await client.PostAsync(url, Bytes(Encoding.ASCII.GetBytes("ID3 not a wav at all"), "audio/wav")),
            HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        var language = await Problems.AssertProblemAsync(await client.PostAsync(url + "?language=xx-XX", Bytes(Wav(16000, 1, new byte[3200]), "audio/wav")),
            (HttpStatusCode)422, "unprocessable");
        Assert.True(language.GetProperty("errors").TryGetProperty("language", out _));
    }

    [Fact]
    public async Task Stt_TenMinutesOfSilence_AnswersAnEmptyTranscriptQuickly()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        var silence = Wav(8000, 1, new byte[8000 * 2 * 600]);
        using var response = await client.PostAsync($"/v1/projects/{project}/ai/stt?async=true", Bytes(silence, "audio/wav"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var operation = await WaitOperationAsync(client, response.Headers.GetValues("Operation-Location").Single());
        Assert.Equal("succeeded", operation.GetProperty("status").GetString());
        Assert.Equal("", operation.GetProperty("result").GetProperty("text").GetString());
        Assert.Equal(600, operation.GetProperty("result").GetProperty("units").GetProperty("quantity").GetDouble(), 1);
    }

    internal static byte[] Wav(int rate, int channels, byte[] data)
    {
        var wav = new byte[44 + data.Length];
        Encoding.ASCII.GetBytes("RIFF").CopyTo(wav, 0);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(4), 36 + data.Length);
        Encoding.ASCII.GetBytes("WAVEfmt ").CopyTo(wav, 8);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(20), 1);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(22), (short)channels);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(24), rate);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(28), rate * channels * 2);
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(32), (short)(channels * 2));
        BinaryPrimitives.WriteInt16LittleEndian(wav.AsSpan(34), 16);
        Encoding.ASCII.GetBytes("data").CopyTo(wav, 36);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(40), data.Length);
        data.CopyTo(wav, 44);
        return wav;
    }

    // --- Translation -----------------------------------------------------------------------------------------------

    [Fact]
    public async Task Translate_EnglishToSpanish_GivesTheEnginesOutput_AndMetersCharacters()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        using var response = await client.PostAsJsonAsync($"/v1/projects/{project}/ai/translate",
            new { texts = new[] { "The house is big.", "I have a cat." }, source = "eng", target = "spa" });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        var results = body.GetProperty("results");
        Assert.Equal("La casa es grande.", results[0].GetProperty("translations")[0].GetProperty("text").GetString());
        Assert.Equal("spa", results[0].GetProperty("translations")[0].GetProperty("target").GetString());
        Assert.Equal("Tengo un gato.", results[1].GetProperty("translations")[0].GetProperty("text").GetString());
        var usage = Assert.Single(await UsageAsync(project));
        Assert.Equal(("translate", "characters", 30.0), (usage.Service, usage.Meter, usage.Quantity));

        var pairs = await client.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/ai/translate/languages");
        Assert.Contains(pairs.GetProperty("pairs").EnumerateArray(), p => p.GetProperty("source").GetString() == "spa" && p.GetProperty("target").GetString() == "eng");
    }

    [Fact]
    public async Task Requests_Translate_BadInputs_AreRefusedNamingTheField()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        var url = $"/v1/projects/{project}/ai/translate";
        var pair = await Problems.AssertProblemAsync(await client.PostAsJsonAsync(url, new { texts = new[] { "hi" }, source = "eng", target = "kor" }),
            (HttpStatusCode)422, "unprocessable");
        Assert.True(pair.GetProperty("errors").TryGetProperty("target", out _));
        Assert.Contains("eng->spa", pair.GetProperty("detail").GetString());
        await Problems.AssertFieldErrorAsync(await client.PostAsJsonAsync(url, new { texts = Array.Empty<string>(), source = "eng", target = "spa" }), "texts");
        await Problems.AssertFieldErrorAsync(await client.PostAsJsonAsync(url, new { texts = new[] { "hi" }, target = "spa" }), "source");
        await Problems.AssertFieldErrorAsync(await client.PostAsJsonAsync(url, new { texts = new[] { "hi" }, source = "eng" }), "target");
        await Problems.AssertFieldErrorAsync(await client.PostAsJsonAsync(url, new { texts = new[] { "hi", null }, source = "eng", target = "spa" }), "texts[1]");
        var huge = await Problems.AssertProblemAsync(await client.PostAsJsonAsync(url, new { texts = new[] { new string('a', 200_000) }, source = "eng", target = "spa" }),
            HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Contains("Gureum:Ai:MaxTranslateCharacters", huge.GetProperty("detail").GetString());
    }

    // --- Faces, scopes, health -------------------------------------------------------------------------------------

    [Fact]
    public async Task Faces_NoFaceInAPageOfText_AndPdfIsRefused()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        using var response = await client.PostAsync($"/v1/projects/{project}/ai/faces", Bytes(RenderText("NO FACES HERE"), "image/png"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        Assert.Equal(0, body.GetProperty("faces").GetArrayLength());
        Assert.Equal(1800, body.GetProperty("width").GetInt32());
        await Problems.AssertProblemAsync(await client.PostAsync($"/v1/projects/{project}/ai/faces", Bytes(Encoding.ASCII.GetBytes("%PDF-1.4\n"), "application/pdf")),
            HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        await Problems.AssertFieldErrorAsync(await client.PostAsync($"/v1/projects/{project}/ai/faces?minFaceSize=0", Bytes(RenderText("X"), "image/png")), "minFaceSize");
    }

    [Fact]
    public async Task Limits_AreTheConfiguredOnes_SoAClientCanCheckAFileBeforeSendingIt()
    {
        var (project, client) = await ProjectWithAiKeyAsync();
        var limits = await client.GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/ai/limits");
        Assert.Equal(4 * 1024 * 1024, limits.GetProperty("maxImageBytes").GetInt64());
        Assert.Equal(4, limits.GetProperty("maxSyncAudioSeconds").GetDouble());
        Assert.Equal(60000, limits.GetProperty("maxTtsCharacters").GetInt32());
        Assert.Equal(200L * 1024 * 1024, limits.GetProperty("maxAudioBytes").GetInt64());
        Assert.Equal(1, limits.GetProperty("maxSyncPages").GetInt32());

        // the limit it reports is the one enforced: one byte over is refused naming the setting
        var over = new byte[4 * 1024 * 1024 + 1];
        await Problems.AssertProblemAsync(await client.PostAsync($"/v1/projects/{project}/ai/faces", Bytes(over, "image/png")), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
    }

    [Fact]
    public async Task Authorisation_AiRoutes_NeedTheAiScope_AndReadinessListsTheEngines()
    {
        var project = await app.CreateProjectAsync();
        var (_, predictOnly) = await app.CreateKeyAsync(project, "predict");
        await Problems.AssertProblemAsync(await app.Client(predictOnly).GetAsync($"/v1/projects/{project}/ai/engines"), HttpStatusCode.Forbidden, "forbidden");
        var (_, writer) = await app.CreateKeyAsync(project, "project:write");
        var engines = await app.Client(writer).GetFromJsonAsync<JsonElement>($"/v1/projects/{project}/ai/engines");
        Assert.Equal(["faces", "ocr", "stt", "translate", "tts"], engines.EnumerateArray().Select(e => e.GetProperty("name").GetString()).Order());

        var ready = await app.Client().GetFromJsonAsync<JsonElement>("/health/ready");
        var ai = ready.GetProperty("checks").GetProperty("ai-engines");
        Assert.Contains("translate: ready", ai.GetProperty("description").GetString());
    }
}
