using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Gureum.AI;
using Gureum.AI.Imaging;
using Gureum.AI.Ocr;
using Gureum.AI.Speech;
using Gureum.AI.Translation;
using Gureum.Server.Features.Jobs;
using Gureum.Server.Features.Projects;
using Gureum.Server.Features.Usage;
using Gureum.Server.Infrastructure.Auth;
using Gureum.Server.Infrastructure.Idempotency;
using Gureum.Server.Infrastructure.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Gureum.Server.Features.Ai;

/// <summary>
/// The ready-made AI APIs under <c>/v1/projects/{project}/ai</c>: OCR, text to speech, speech to text, translation and
/// face detection on engines loaded once and pooled. Keys need the <c>ai</c> scope (or wider). Every call is metered.
/// </summary>
public static class AiEndpoints
{
    public static IServiceCollection AddAi(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new AiOptions();
        configuration.GetSection(AiOptions.Section).Bind(options);
        services.AddSingleton(options);
        services.AddSingleton<AiEngines>().AddHostedService(sp => sp.GetRequiredService<AiEngines>());
        services.AddSingleton<AiOperations>().AddHostedService(sp => sp.GetRequiredService<AiOperations>());
        services.AddSingleton<IJobHandler>(sp => new AiOperationJob(AiOperations.OcrJobKind, RecognizeDocumentAsync(sp), sp.GetRequiredService<AiOperations>()));
        services.AddSingleton<IJobHandler>(sp => new AiOperationJob(AiOperations.SttJobKind, TranscribeAsync(sp), sp.GetRequiredService<AiOperations>()));
        services.AddHealthChecks().AddCheck<AiEnginesHealthCheck>("ai-engines", tags: ["ready"]);
        return services;
    }

    public static IEndpointRouteBuilder MapAi(this IEndpointRouteBuilder app)
    {
        // Upload routes list "*/*" too: routing must not answer 415 before the project check has answered 404, and
        // AiBody gives the 415 that names the accepted types.
        var ai = app.MapProjectGroup("/ai").WithTags("AI").RequireScope(Scopes.Ai);
        ai.MapGet("/limits", Limits)
            .WithSummary("This server's limits on AI calls (largest image or audio file, pages, seconds, characters), to check a file before sending it").WithStandardErrors();
        ai.MapGet("/engines", Engines).WithSummary("The engines of this server: status (ready, starting, unavailable with the packages to install), workers, calls waiting").WithStandardErrors();

        ai.MapPost("/ocr", Ocr).Metered("ocr").WithIdempotency()
            .Accepts<byte[]>("image/png", "image/jpeg", "image/tiff", "image/bmp", "application/pdf", "application/octet-stream", "*/*")
            .Produces<OcrResponse>().Produces<OperationResponse>(202)
            .WithSummary("Read text: the image (PNG, JPEG, TIFF, BMP) or PDF as the body → pages, lines, words with boxes and confidence. "
                + "?languages=eng+kor. One page answers at once; more pages (or ?async=true) answer 202 with Operation-Location to poll")
            .WithStandardErrors(413, 415, 422, 429, 503);
        ai.MapGet("/ocr/languages", OcrLanguagesList).WithSummary("OCR languages installed on this server").WithStandardErrors();

        ai.MapPost("/tts", Tts).Metered("tts").Accepts<TtsRequest>("application/json").Produces(200, contentType: "audio/wav")
            .WithSummary("Speak text: {\"text\", \"voice\", \"rate\", \"pitch\", \"format\": \"wav\"|\"pcm\", \"sampleRate\"} → audio; long text streams as it is synthesised")
            .WithStandardErrors(413, 422, 429, 503);
        ai.MapGet("/tts/voices", TtsVoices).WithSummary("Voices with their language and engine").WithStandardErrors(503);

        ai.MapPost("/stt", Stt).Metered("stt").WithIdempotency().Accepts<byte[]>("audio/wav", "application/octet-stream", "*/*")
            .Produces<SttResponse>().Produces<OperationResponse>(202)
            .WithSummary("Transcribe a WAV (any rate and channels) → text with word times and confidences. "
                + "Audio over Gureum:Ai:MaxSyncAudioSeconds (or ?async=true) answers 202 with Operation-Location to poll")
            .WithStandardErrors(413, 415, 422, 429, 503);
        ai.MapGet("/stt/languages", SttLanguagesList).WithSummary("Speech recognition languages installed on this server").WithStandardErrors();

        ai.MapPost("/translate", Translate).Metered("translate").Accepts<TranslateRequest>("application/json")
            .WithSummary("Translate a batch of texts from a source language to one or more targets").WithStandardErrors(413, 422, 429, 503);
        ai.MapGet("/translate/languages", TranslatePairs).WithSummary("Installed language pairs").WithStandardErrors();

        ai.MapPost("/faces", Faces).Metered("faces")
            .Accepts<byte[]>("image/png", "image/jpeg", "image/tiff", "image/bmp", "application/octet-stream", "*/*")
            .WithSummary("Find faces in an image: boxes with confidence; ?minFaceSize=N pixels ignores smaller faces").WithStandardErrors(413, 415, 429, 503);

        ai.MapGet("/operations/{id}", GetOperation)
            .WithSummary("An asynchronous OCR or STT call: status notStarted, running, succeeded or failed; the result once succeeded").WithStandardErrors();
        ai.MapDelete("/operations/{id}", DeleteOperation).WithSummary("Cancel an operation and delete its input and result now").WithStandardErrors();
        return app;
    }

    private static Ok<EngineInfo[]> Engines(AiEngines engines) => TypedResults.Ok(engines.Statuses().ToArray());

    private static Ok<AiLimits> Limits(AiOptions o) => TypedResults.Ok(new AiLimits(
        o.MaxImageBytes, o.MaxImagePixels, o.MaxImageDimension, o.MaxPages, o.MaxSyncPages, o.MaxTtsCharacters, o.MaxAudioBytes, o.MaxAudioSeconds,
        o.MaxSyncAudioSeconds, o.MaxTranslateTexts, o.MaxTranslateCharacters));

    // --- OCR -------------------------------------------------------------------------------------------------------

    private static async Task<IResult> Ocr(
        HttpContext http, ProjectScope scope, AiEngines engines, AiOperations operations, AiOptions options, Metering metering,
        string? languages, bool? @async, CancellationToken ct)
    {
        var body = await AiBody.ReadAsync(http, AiBody.ImageTypes, options.MaxImageBytes, "Gureum:Ai:MaxImageBytes", ct);
        var info = ImageProbe.Probe(body, options.ImageLimits);
        var langs = OcrLanguagesOf(languages);
        if (info.Pages > options.MaxSyncPages || @async == true)
        {
            // The quota is checked for all pages now; the pages are counted when the operation finishes.
            await metering.CheckQuotaAsync(scope.ProjectId, scope.Caller.KeyId, "ocr", "pages", info.Pages, Metering.RequestIdOf(http, scope.Caller.KeyId), ct);
            var operation = await operations.StartAsync(scope.ProjectId, scope.Caller.KeyId, "ocr", body, new OcrOperationOptions(langs), ct);
            return Accepted(http, scope, operation);
        }
        await using var charge = await metering.ReserveAsync(scope.ProjectId, scope.Caller.KeyId, "ocr", "pages", 1, Metering.RequestIdOf(http, scope.Caller.KeyId), ct);
        var page = await engines.Ocr.RunAsync((engine, token) =>
            engine.Recognize(OcrDocument.Pages(body, info, options.ImageLimits, token).First(), langs, 1, token), ct);
        await charge.CompleteAsync();
        return TypedResults.Ok(new OcrResponse(langs, page.Text, [page], new Units("pages", 1)));
    }

    private sealed record OcrOperationOptions(string Languages);

    /// <summary>The async OCR job: every page through the pool in turn, progress per page, usage once per operation.</summary>
    private static Func<AiOperation, byte[], JobContext, CancellationToken, Task<object>> RecognizeDocumentAsync(IServiceProvider sp) =>
        async (operation, input, context, ct) =>
        {
            var engines = sp.GetRequiredService<AiEngines>();
            var options = sp.GetRequiredService<AiOptions>();
            var langs = System.Text.Json.JsonSerializer.Deserialize<OcrOperationOptions>(operation.Options, Infrastructure.JsonDefaults.Web)!.Languages;
            var info = ImageProbe.Probe(input, options.ImageLimits);
            var pages = new List<OcrPage>();
            foreach (var image in OcrDocument.Pages(input, info, options.ImageLimits, ct))
            {
                var number = pages.Count + 1;
                pages.Add(await engines.Ocr.RunAsync((engine, token) => engine.Recognize(image, langs, number, token), ct));
                await context.ReportProgressAsync(100.0 * pages.Count / info.Pages, $"page {pages.Count} of {info.Pages}");
            }
            await sp.GetRequiredService<Metering>().RecordAsync(operation.ProjectId, operation.KeyId, "ocr", "pages", pages.Count, operation.Id);
            return new OcrResponse(langs, string.Join("\f", pages.Select(p => p.Text)), pages, new Units("pages", pages.Count));
        };

    private static string OcrLanguagesOf(string? languages)
    {
        // '+' in a query string arrives as a space; ',' is accepted too. The engine checks what is installed.
        var requested = (languages ?? "eng").Split(['+', ',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (requested.Length is 0 or > 8) throw new AiInputException("languages", "Name 1 to 8 languages joined by '+', e.g. 'eng+kor'.");
        return TesseractEngine.NormalizeLanguages(string.Join('+', requested));
    }

    private static Ok<OcrLanguages> OcrLanguagesList() => TypedResults.Ok(new OcrLanguages(TesseractEngine.InstalledLanguages()));

    // --- TTS -------------------------------------------------------------------------------------------------------

    /// <summary>Up to this many characters the audio is made whole and sent with its length; longer text streams.</summary>
    private const int StreamAbove = 2_000;

    private static async Task Tts(HttpContext http, ProjectScope scope, TtsRequest request, AiEngines engines, AiOptions options, Metering metering, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.Text)) throw new AiInputException("text", "'text' is required: the text to speak.");
        var characters = CountCharacters(request.Text);
        if (characters > options.MaxTtsCharacters)
        {
            throw AiInputException.TooLarge("text", $"'text' has {characters} characters; at most {options.MaxTtsCharacters} are spoken per call (Gureum:Ai:MaxTtsCharacters). Split it.");
        }
        var format = (request.Format ?? "wav").ToLowerInvariant();
        if (format is not ("wav" or "pcm")) throw new AiInputException("format", "'format' must be 'wav' or 'pcm' (raw 16-bit little-endian mono).");
        if (request.SampleRate is { } rate && rate is < 8000 or > 48000) throw new AiInputException("sampleRate", "'sampleRate' must be from 8000 to 48000.");
        var tts = new TtsOptions(request.Voice ?? "en-us", request.Rate ?? 175, request.Pitch ?? 50, request.SampleRate);
        await using var charge = await metering.ReserveAsync(scope.ProjectId, scope.Caller.KeyId, "tts", "characters", characters, http.TraceIdentifier, ct);

        if (characters <= StreamAbove)
        {
            // Audio goes into one pooled buffer after room for the WAV header: a sentence is ~180 KB, and fresh
            // arrays that size land on the large-object heap and cost a full GC every few requests.
            using var audio = new PooledAudio();
            var outputRate = await engines.Tts.RunAsync((engine, token) =>
            {
                engine.Synthesize(request.Text, tts, audio.Append, token);
                return engine.OutputRate(tts);
            }, ct);
            await charge.CompleteAsync();
            SetAudioHeaders(http, format, outputRate, characters);
            var body = format == "wav" ? audio.WithWavHeader(outputRate) : audio.Samples;
            http.Response.ContentLength = body.Length;
            await http.Response.Body.WriteAsync(body, ct);
            return;
        }

        // Long text: the engine hands over audio sentence by sentence and the response sends it on, so the first
        // words play while the rest is synthesised; the bounded channel holds the engine back when the client is slow.
        var chunks = Channel.CreateBounded<byte[]>(16);
        var synthesis = engines.Tts.RunAsync((engine, token) =>
        {
            try
            {
                var outputRate = engine.OutputRate(tts);
                chunks.Writer.WriteAsync(BitConverter.GetBytes(outputRate), token).AsTask().GetAwaiter().GetResult();
                engine.Synthesize(request.Text, tts, chunk =>
                    chunks.Writer.WriteAsync(System.Runtime.InteropServices.MemoryMarshal.AsBytes(chunk).ToArray(), token).AsTask().GetAwaiter().GetResult(), token);
                return true;
            }
            finally
            {
                chunks.Writer.TryComplete();
            }
        }, ct);
        // The first message is the output rate, or nothing if synthesis failed before starting (the error is thrown below).
        if (!await chunks.Reader.WaitToReadAsync(ct) || !chunks.Reader.TryRead(out var first))
        {
            await synthesis;
            return;
        }
        var streamRate = BitConverter.ToInt32(first);
        SetAudioHeaders(http, format, streamRate, characters);
        if (format == "wav") await http.Response.Body.WriteAsync(Wav.Header(streamRate, 1, uint.MaxValue), ct);
        await foreach (var chunk in chunks.Reader.ReadAllAsync(ct))
        {
            await http.Response.Body.WriteAsync(chunk, ct);
        }
        await synthesis;
        await charge.CompleteAsync();
    }

    private static void SetAudioHeaders(HttpContext http, string format, int rate, int characters)
    {
        http.Response.ContentType = format == "wav" ? "audio/wav" : $"audio/L16; rate={rate}; channels=1";
        http.Response.Headers["X-Gureum-Sample-Rate"] = rate.ToString(CultureInfo.InvariantCulture);
        http.Response.Headers["X-Gureum-Units"] = $"characters={characters}";
    }

    private static async Task<Ok<Voices>> TtsVoices(AiEngines engines, CancellationToken ct) =>
        TypedResults.Ok(new Voices(await engines.Tts.RunAsync((engine, _) => engine.Voices, ct)));

    // --- STT -------------------------------------------------------------------------------------------------------

    private static async Task<IResult> Stt(
        HttpContext http, ProjectScope scope, AiEngines engines, AiOperations operations, AiOptions options, Metering metering,
        string? language, bool? @async, CancellationToken ct)
    {
        var lang = SttLanguageOf(language);
        var body = await AiBody.ReadAsync(http, AiBody.AudioTypes, options.MaxAudioBytes, "Gureum:Ai:MaxAudioBytes", ct);
        var clip = Wav.Read(body, options.AudioLimits);
        var seconds = Math.Round(clip.Seconds, 3);
        if (clip.Seconds > options.MaxSyncAudioSeconds || @async == true)
        {
            // The quota is checked for the whole clip now; the seconds are counted when the operation finishes.
            await metering.CheckQuotaAsync(scope.ProjectId, scope.Caller.KeyId, "stt", "audio-seconds", seconds, Metering.RequestIdOf(http, scope.Caller.KeyId), ct);
            var operation = await operations.StartAsync(scope.ProjectId, scope.Caller.KeyId, "stt", body, new SttOperationOptions(lang), ct);
            return Accepted(http, scope, operation);
        }
        await using var charge = await metering.ReserveAsync(scope.ProjectId, scope.Caller.KeyId, "stt", "audio-seconds", seconds, Metering.RequestIdOf(http, scope.Caller.KeyId), ct);
        var result = await TranscribeClipAsync(engines, clip, lang, ct);
        await charge.CompleteAsync(result.Units.Quantity);
        return TypedResults.Ok(result);
    }

    /// <summary>Mono 16 kHz through a pooled recogniser; metered in audio seconds of the upload.</summary>
    private static async Task<SttResponse> TranscribeClipAsync(AiEngines engines, AudioClip clip, string language, CancellationToken ct)
    {
        var transcript = await engines.Stt.RunAsync((engine, token) => engine.Recognize(Wav.ToMono(clip, SpeechRecognizer.SampleRate), token), ct);
        return new SttResponse(language, transcript.Text, transcript.Seconds, transcript.Words, new Units("audio-seconds", Math.Round(clip.Seconds, 3)));
    }

    private sealed record SttOperationOptions(string Language);

    private static Func<AiOperation, byte[], JobContext, CancellationToken, Task<object>> TranscribeAsync(IServiceProvider sp) =>
        async (operation, input, context, ct) =>
        {
            var options = sp.GetRequiredService<AiOptions>();
            var lang = System.Text.Json.JsonSerializer.Deserialize<SttOperationOptions>(operation.Options, Infrastructure.JsonDefaults.Web)!.Language;
            var clip = Wav.Read(input, options.AudioLimits);
            await context.ReportProgressAsync(1, $"transcribing {clip.Seconds:0.#} s of audio");
            var result = await TranscribeClipAsync(sp.GetRequiredService<AiEngines>(), clip, lang, ct);
            await sp.GetRequiredService<Metering>().RecordAsync(operation.ProjectId, operation.KeyId, "stt", result.Units.Meter, result.Units.Quantity, operation.Id);
            return result;
        };

    private static string SttLanguageOf(string? language)
    {
        var languages = SpeechRecognizer.Languages;
        var requested = language ?? languages.FirstOrDefault() ?? "en-US";
        var match = languages.FirstOrDefault(l => string.Equals(l, requested, StringComparison.OrdinalIgnoreCase));
        return match ?? throw AiInputException.Unusable("language",
            $"Speech recognition language '{Truncate(requested)}' is not installed. Installed: {string.Join(", ", languages)}.");
    }

    private static Ok<SttLanguages> SttLanguagesList() => TypedResults.Ok(new SttLanguages(SpeechRecognizer.Languages));

    // --- Translation -----------------------------------------------------------------------------------------------

    private static async Task<Ok<TranslateResponse>> Translate(
        HttpContext http, ProjectScope scope, TranslateRequest request, AiEngines engines, AiOptions options, Metering metering, CancellationToken ct)
    {
        if (request.Texts is not { Length: > 0 } texts) throw new AiInputException("texts", "'texts' is required: an array of 1 or more strings.");
        if (texts.Length > options.MaxTranslateTexts)
        {
            throw AiInputException.TooLarge("texts", $"'texts' has {texts.Length} items; at most {options.MaxTranslateTexts} per call (Gureum:Ai:MaxTranslateTexts).");
        }
        for (var i = 0; i < texts.Length; i++)
        {
            if (texts[i] is null) throw new AiInputException($"texts[{i}]", $"'texts[{i}]' is null; send a string.");
        }
        var characters = texts.Sum(CountCharacters);
        if (characters > options.MaxTranslateCharacters)
        {
            throw AiInputException.TooLarge("texts", $"The texts have {characters} characters; at most {options.MaxTranslateCharacters} per call (Gureum:Ai:MaxTranslateCharacters).");
        }
        if (string.IsNullOrWhiteSpace(request.Source)) throw new AiInputException("source", "'source' is required, e.g. 'eng' (GET .../ai/translate/languages lists pairs).");
        var targets = (request.Targets ?? (request.Target is null ? [] : [request.Target])).Distinct().ToArray();
        if (targets.Length == 0) throw new AiInputException("target", "'target' (or 'targets') is required, e.g. 'spa'.");
        if (request.Target is not null && request.Targets is not null) throw new AiInputException("targets", "Send 'target' or 'targets', not both.");

        var units = (double)characters * targets.Length;
        await using var charge = await metering.ReserveAsync(scope.ProjectId, scope.Caller.KeyId, "translate", "characters", units, http.TraceIdentifier, ct);
        var pools = targets.Select(t => (Target: t, Pool: engines.Translator(request.Source, t))).ToList();
        var results = texts.Select(t => new TranslatedText(t, new List<Translation>())).ToList();
        foreach (var (target, pool) in pools)
        {
            var translated = await TranslateBatchAsync(pool, texts, options, ct);
            for (var i = 0; i < texts.Length; i++) ((List<Translation>)results[i].Translations).Add(new Translation(target, translated[i]));
        }
        await charge.CompleteAsync();
        return TypedResults.Ok(new TranslateResponse(request.Source, results, new Units("characters", units)));
    }

    private static async Task<string[]> TranslateBatchAsync(EnginePool<ApertiumPipeline> pool, string[] texts, AiOptions options, CancellationToken ct)
    {
        try
        {
            return await pool.RunAsync((pipeline, token) =>
            {
                var output = new string[texts.Length];
                for (var i = 0; i < texts.Length; i++)
                {
                    token.ThrowIfCancellationRequested();
                    output[i] = texts[i].Length == 0 ? "" : pipeline.Translate(texts[i], options.TranslateTimeout);
                }
                return output;
            }, ct);
        }
        catch (TranslationEngineException e) when (e.TimedOut)
        {
            // The pool has already replaced the stalled pipeline; the stage's own words stay in the log, not here.
            throw new GureumException(ProblemCode.ModelTimeout,
                $"A translation took longer than Gureum:Ai:TranslateTimeout ({options.TranslateTimeout.TotalSeconds:0} s). Send shorter texts, or fewer per call.");
        }
    }

    private static Ok<TranslationPairs> TranslatePairs(AiEngines engines) =>
        TypedResults.Ok(new TranslationPairs(engines.Pairs.Select(p => new TranslationPair(p.Source, p.Target)).ToList()));

    // --- Faces -----------------------------------------------------------------------------------------------------

    private static async Task<Ok<FacesResponse>> Faces(
        HttpContext http, ProjectScope scope, AiEngines engines, AiOptions options, Metering metering, int? minFaceSize, CancellationToken ct)
    {
        if (minFaceSize is < 1 or > 10_000) throw new AiInputException("minFaceSize", "'minFaceSize' must be from 1 to 10000 pixels.");
        var body = await AiBody.ReadAsync(http, AiBody.FaceImageTypes, options.MaxImageBytes, "Gureum:Ai:MaxImageBytes", ct);
        var info = ImageProbe.Probe(body, options.ImageLimits);
        if (info.Format == ImageFormat.Pdf) throw AiInputException.Unsupported("file", "Face detection takes one image (PNG, JPEG, TIFF, BMP), not a PDF.");
        await using var charge = await metering.ReserveAsync(scope.ProjectId, scope.Caller.KeyId, "faces", "images", 1, http.TraceIdentifier, ct);
        var faces = await engines.Faces.RunAsync((detector, _) => detector.Detect(body, minFaceSize ?? 24), ct);
        await charge.CompleteAsync();
        return TypedResults.Ok(new FacesResponse(info.Width, info.Height, faces, new Units("images", 1)));
    }

    // --- Operations ------------------------------------------------------------------------------------------------

    private static IResult Accepted(HttpContext http, ProjectScope scope, OperationResponse operation)
    {
        var location = $"/v1/projects/{scope.ProjectId}/ai/operations/{operation.Id}";
        http.Response.Headers["Operation-Location"] = location;
        http.Response.Headers.RetryAfter = "1";
        return TypedResults.Accepted(location, operation);
    }

    private static async Task<Ok<OperationResponse>> GetOperation(HttpContext http, ProjectScope scope, string id, AiOperations operations, CancellationToken ct)
    {
        var operation = await operations.FindAsync(scope.ProjectId, id, ct) ?? throw OperationNotFound(id);
        if (operation.Status is "notStarted" or "running") http.Response.Headers.RetryAfter = "1";
        return TypedResults.Ok(operation);
    }

    private static async Task<NoContent> DeleteOperation(ProjectScope scope, string id, AiOperations operations, CancellationToken ct) =>
        await operations.DeleteAsync(scope.ProjectId, id, ct) ? TypedResults.NoContent() : throw OperationNotFound(id);

    private static GureumException OperationNotFound(string id) => new(ProblemCode.NotFound,
        $"Operation '{Truncate(id)}' was not found in this project, or its result expired (Gureum:Ai:OperationTtl).");

    private static int CountCharacters(string text) => text.EnumerateRunes().Count();

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
