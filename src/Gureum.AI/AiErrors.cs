namespace Gureum.AI;

/// <summary>
/// The caller's input cannot be processed: names the field (or limit) and says what to send instead.
/// <paramref name="Status"/> is the HTTP status the server answers with: 400 bad value, 413 over a size limit,
/// 415 unsupported format, 422 well-formed but unusable (e.g. an unknown language).
/// </summary>
public sealed class AiInputException(string field, string message, int status = 400) : Exception(message)
{
    public string Field { get; } = field;
    public int Status { get; } = status;

    public static AiInputException TooLarge(string field, string message) => new(field, message, 413);
    public static AiInputException Unsupported(string field, string message) => new(field, message, 415);
    public static AiInputException Unusable(string field, string message) => new(field, message, 422);
}

/// <summary>
/// An engine's library or model is not installed. The server answers its API with 503 naming <see cref="Packages"/>;
/// the other APIs go on.
/// </summary>
public sealed class EngineUnavailableException(string engine, string packages, string message, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>ocr, tts, stt, translate or faces.</summary>
    public string Engine { get; } = engine;
    /// <summary>The Debian packages that provide it, space separated.</summary>
    public string Packages { get; } = packages;
}
