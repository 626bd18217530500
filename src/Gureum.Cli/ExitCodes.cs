namespace Gureum.Cli;

/// <summary>
/// Exit codes of <c>gureum</c>, for scripts. They are also listed in <c>gureum --help</c> (see <see cref="HelpText"/>).
/// <list type="table">
/// <item><term>0</term><description>ok</description></item>
/// <item><term>1</term><description>unexpected error (including a 5xx answer other than 502–504)</description></item>
/// <item><term>2</term><description>usage error (unknown command, missing argument, malformed option value)</description></item>
/// <item><term>3</term><description>authentication or authorization failed (401, 403)</description></item>
/// <item><term>4</term><description>not found (404)</description></item>
/// <item><term>5</term><description>conflict (409)</description></item>
/// <item><term>6</term><description>invalid input (400, 413, 415, 422)</description></item>
/// <item><term>7</term><description>server unreachable (connection failed, timed out, 502, 503, 504)</description></item>
/// <item><term>8</term><description>the watched job ended failed or cancelled, a deployed endpoint (or its change) failed to load, or an AI operation failed</description></item>
/// <item><term>9</term><description>over a quota or a rate limit, or the server is too busy (429); the message says when to try again</description></item>
/// <item><term>130</term><description>interrupted (Ctrl+C)</description></item>
/// </list>
/// </summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Unexpected = 1;
    public const int Usage = 2;
    public const int Auth = 3;
    public const int NotFound = 4;
    public const int Conflict = 5;
    public const int InvalidInput = 6;
    public const int Unreachable = 7;
    public const int JobNotSucceeded = 8;
    public const int TooManyRequests = 9;
    public const int Interrupted = 130;

    public const string HelpText = """
        Exit codes:
          0  ok                          5  conflict (409)
          1  unexpected error            6  invalid input (400, 413, 415, 422)
          2  usage error                 7  server unreachable (or 502/503/504)
          3  not authorized (401, 403)   8  watched job ended failed or cancelled,
          4  not found (404)                a deployed endpoint failed to load,
                                         or an AI operation (ai ocr, ai stt) failed
                                         9  over a quota or rate limit, or busy (429)
        """;

    public static int FromHttpStatus(int status) => status switch
    {
        401 or 403 => Auth,
        404 => NotFound,
        409 => Conflict,
        429 => TooManyRequests,
        400 or 413 or 415 or 422 => InvalidInput,
        502 or 503 or 504 => Unreachable,
        _ => Unexpected,
    };
}
