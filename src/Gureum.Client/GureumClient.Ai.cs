using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Gureum.Client;

/// <summary>The ready-made AI APIs under <c>/v1/projects/{project}/ai</c> (keys need the <c>ai</c> scope).</summary>
public sealed partial class GureumClient
{
    private static readonly Dictionary<string, string> ImageTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".png"] = "image/png", [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg", [".tif"] = "image/tiff", [".tiff"] = "image/tiff", [".bmp"] = "image/bmp",
    };

    /// <summary>The content type an image or PDF for <see cref="OcrAsync"/> is sent with, from the file's extension.</summary>
    /// <exception cref="NotSupportedException">Another extension; the message names those read.</exception>
    public static string ContentTypeForOcr(string path) =>
        Path.GetExtension(path).Equals(".pdf", StringComparison.OrdinalIgnoreCase) ? "application/pdf"
        : ImageTypes.GetValueOrDefault(Path.GetExtension(path)) ?? throw Unsupported(path, "OCR", ".png, .jpg/.jpeg, .tif/.tiff, .bmp or .pdf");

    /// <summary>The content type an image for <see cref="DetectFacesAsync"/> is sent with, from the file's extension.</summary>
    /// <exception cref="NotSupportedException">Another extension (a PDF included); the message names those read.</exception>
    public static string ContentTypeForFaces(string path) =>
        ImageTypes.GetValueOrDefault(Path.GetExtension(path)) ?? throw Unsupported(path, "face detection", ".png, .jpg/.jpeg, .tif/.tiff or .bmp");

    /// <summary>The content type audio for <see cref="TranscribeAsync"/> is sent with, from the file's extension.</summary>
    /// <exception cref="NotSupportedException">Anything but .wav.</exception>
    public static string ContentTypeForSpeech(string path) =>
        Path.GetExtension(path).Equals(".wav", StringComparison.OrdinalIgnoreCase) ? "audio/wav" : throw Unsupported(path, "speech recognition", ".wav (PCM, any rate and channels)");

    private static NotSupportedException Unsupported(string path, string service, string accepted) => new(
        $"'{Path.GetFileName(path)}' is not a file {service} reads: give a {accepted} file" +
        (Path.GetExtension(path).Length == 0 ? "." : $" (the type comes from the extension, and '{Path.GetExtension(path)}' is none of these)."));

    /// <summary>The server's limits on AI calls, to check a file before sending it.</summary>
    public Task<AiLimits> AiLimitsAsync(string project, CancellationToken ct = default) =>
        SendAsync<AiLimits>(HttpMethod.Get, AiPath(project, "limits"), null, ct);

    /// <summary>OCR languages installed on the server, e.g. eng, kor.</summary>
    public async Task<IReadOnlyList<string>> OcrLanguagesAsync(string project, CancellationToken ct = default) =>
        (await SendAsync<LanguageList>(HttpMethod.Get, AiPath(project, "ocr/languages"), null, ct)).Languages;

    /// <summary>Speech recognition languages installed on the server, e.g. en-US.</summary>
    public async Task<IReadOnlyList<string>> SttLanguagesAsync(string project, CancellationToken ct = default) =>
        (await SendAsync<LanguageList>(HttpMethod.Get, AiPath(project, "stt/languages"), null, ct)).Languages;

    /// <summary>Installed translation pairs, e.g. eng → spa.</summary>
    public async Task<IReadOnlyList<TranslationPair>> TranslationPairsAsync(string project, CancellationToken ct = default) =>
        (await SendAsync<TranslationPairList>(HttpMethod.Get, AiPath(project, "translate/languages"), null, ct)).Pairs;

    public Task<IReadOnlyList<AiEngine>> EnginesAsync(string project, CancellationToken ct = default) =>
        SendAsync<IReadOnlyList<AiEngine>>(HttpMethod.Get, AiPath(project, "engines"), null, ct);

    /// <summary>
    /// Reads the text of an image or PDF, sent from <paramref name="content"/> as it is read (and disposed). One page answers
    /// at once; more pages (or <paramref name="asynchronous"/>) answer with an operation whose result is an <see cref="OcrResult"/>:
    /// see <see cref="WaitForOperationAsync"/>.
    /// </summary>
    /// <param name="contentType">image/png, image/jpeg, image/tiff, image/bmp or application/pdf (<see cref="ContentTypeForOcr"/>).</param>
    /// <param name="languages">Installed languages joined by '+', e.g. <c>eng+kor</c>; the server's default (eng) when null.</param>
    public Task<AiAnswer<OcrResult>> OcrAsync(
        string project, Stream content, string contentType, string? languages = null, bool asynchronous = false, CancellationToken ct = default) =>
        AnswerAsync<OcrResult>(AiPath(project, "ocr") + Query(("languages", languages), ("async", asynchronous ? "true" : null)), content, contentType, ct);

    /// <summary>
    /// Transcribes a WAV sent from <paramref name="content"/> (disposed at the end). Long audio (or <paramref name="asynchronous"/>)
    /// answers with an operation whose result is a <see cref="Transcript"/>: see <see cref="WaitForOperationAsync"/>.
    /// </summary>
    /// <param name="language">An installed recognition language, e.g. en-US; the server's first when null.</param>
    public Task<AiAnswer<Transcript>> TranscribeAsync(
        string project, Stream content, string contentType = "audio/wav", string? language = null, bool asynchronous = false, CancellationToken ct = default) =>
        AnswerAsync<Transcript>(AiPath(project, "stt") + Query(("language", language), ("async", asynchronous ? "true" : null)), content, contentType, ct);

    /// <summary>Finds faces in an image sent from <paramref name="content"/> (disposed at the end).</summary>
    /// <param name="minFaceSize">Faces smaller than this many pixels are ignored; the server's default (24) when null.</param>
    public async Task<FacesResult> DetectFacesAsync(
        string project, Stream content, string contentType, int? minFaceSize = null, CancellationToken ct = default)
    {
        using var response = await UploadAsync(
            AiPath(project, "faces") + Query(("minFaceSize", minFaceSize?.ToString(CultureInfo.InvariantCulture))), content, contentType, ct);
        return await ReadAsync<FacesResult>(response, ct);
    }

    /// <summary>
    /// Speaks the text, copying the audio into <paramref name="destination"/> as it arrives: a long text streams while it is
    /// synthesised, and then a WAV header cannot know the length (its sizes read 0xFFFFFFFF).
    /// </summary>
    public async Task<SpokenAudio> SpeakAsync(string project, TtsRequest request, Stream destination, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(destination);
        using var message = NewRequest(HttpMethod.Post, AiPath(project, "tts"), request);
        // The time limit covers the answer's start only: a long text takes as long as it takes to speak.
        using var response = await SendTimedAsync(message, HttpCompletionOption.ResponseHeadersRead, RequestTimeout, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw await GureumApiException.FromResponseAsync(response, ct);
        }
        await using (var body = await response.Content.ReadAsStreamAsync(ct))
        {
            await body.CopyToAsync(destination, ct);
        }
        var rate = response.Headers.TryGetValues("X-Gureum-Sample-Rate", out var values)
            && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        return new SpokenAudio(response.Content.Headers.ContentType?.MediaType ?? "application/octet-stream", rate);
    }

    public Task<VoiceList> VoicesAsync(string project, CancellationToken ct = default) =>
        SendAsync<VoiceList>(HttpMethod.Get, AiPath(project, "tts/voices"), null, ct);

    /// <summary>Translates each text from <paramref name="source"/> into every target (installed pairs only, e.g. eng → spa).</summary>
    public Task<TranslateResult> TranslateAsync(
        string project, IReadOnlyList<string> texts, string source, IReadOnlyList<string> targets, CancellationToken ct = default) =>
        SendAsync<TranslateResult>(HttpMethod.Post, AiPath(project, "translate"), new { texts, source, targets }, ct);

    public Task<AiOperation> GetOperationAsync(string project, string id, CancellationToken ct = default) =>
        SendAsync<AiOperation>(HttpMethod.Get, OperationPath(project, id), null, ct);

    /// <summary>Cancels the operation if it still runs, and deletes its input and result now.</summary>
    public Task DeleteOperationAsync(string project, string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, OperationPath(project, id), null, ct);

    /// <summary>Polls the operation until it succeeded or failed, and returns it then.</summary>
    /// <param name="progress">Told the operation each time it is read.</param>
    /// <param name="interval">Time between reads; half a second when null.</param>
    public async Task<AiOperation> WaitForOperationAsync(
        string project, string id, IProgress<AiOperation>? progress = null, TimeSpan? interval = null, CancellationToken ct = default)
    {
        while (true)
        {
            var operation = await GetOperationAsync(project, id, ct);
            progress?.Report(operation);
            if (operation.IsTerminal)
            {
                return operation;
            }
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(500), ct);
        }
    }

    /// <summary>Posts a file whose answer is the result (200) or an operation to wait for (202).</summary>
    private async Task<AiAnswer<T>> AnswerAsync<T>(string path, Stream content, string contentType, CancellationToken ct) where T : class
    {
        using var response = await UploadAsync(path, content, contentType, ct);
        return response.StatusCode == HttpStatusCode.Accepted
            ? new AiAnswer<T>(null, await ReadAsync<AiOperation>(response, ct))
            : new AiAnswer<T>(await ReadAsync<T>(response, ct), null);
    }

    /// <summary>Posts a file as the raw body, read from <paramref name="content"/> as it is sent; throws for a non-2xx answer.</summary>
    private async Task<HttpResponseMessage> UploadAsync(string path, Stream content, string contentType, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        using var request = NewRequest(HttpMethod.Post, path, null);
        request.Content = new ProgressStreamContent(content, null);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        // No time limit: a large upload, or a page that takes a while to read, is not a hung server.
        var response = await SendTimedAsync(request, HttpCompletionOption.ResponseContentRead, Timeout.InfiniteTimeSpan, ct);
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw await GureumApiException.FromResponseAsync(response, ct);
            }
        }
        return response;
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct) =>
        await response.Content.ReadFromJsonAsync<T>(JsonOptions, ct)
        ?? throw new JsonException($"The server answered {response.RequestMessage?.RequestUri} with an empty body.");

    private static string AiPath(string project, string rest) => ProjectPath(project, "ai/" + rest);

    private static string OperationPath(string project, string id) => AiPath(project, "operations/" + Uri.EscapeDataString(id));
}
