using Microsoft.AspNetCore.Components.Forms;

namespace Gureum.WebConsole.Components.Playground;

/// <summary>Files picked in the playground: checked against the API's limit before a byte is sent, and shown back to the user.</summary>
internal static class PlaygroundFiles
{
    /// <summary>
    /// Images shown under their boxes go to the browser as a data URL through the circuit: above this size the call still
    /// runs, but the picture is not sent back (the text and boxes are still listed).
    /// </summary>
    public const long MaxPreviewBytes = 8L * 1024 * 1024;

    /// <summary>Why the file cannot be sent (in the words the API would use), or null when it fits.</summary>
    public static string? TooLarge(IBrowserFile file, long max, string setting) => file.Size > max
        ? $"{file.Name} is {Size(file.Size)}; this server accepts at most {Size(max)} ({setting}). Pick a smaller file."
        : null;

    public static async Task<byte[]> ReadAsync(IBrowserFile file, long max, CancellationToken ct)
    {
        using var buffer = new MemoryStream((int)Math.Min(file.Size, int.MaxValue));
        await using (var stream = file.OpenReadStream(max, ct))
        {
            await stream.CopyToAsync(buffer, ct);
        }
        return buffer.ToArray();
    }

    /// <summary>A data URL the browser can show, or null for a type it cannot (TIFF, PDF) or a file too large to send back.</summary>
    public static string? Preview(string fileName, byte[] bytes)
    {
        var type = Path.GetExtension(fileName).ToLowerInvariant() switch
        {
            ".png" => "image/png",
            ".jpg" or ".jpeg" => "image/jpeg",
            ".bmp" => "image/bmp",
            _ => null,
        };
        return type is null || bytes.Length > MaxPreviewBytes ? null : $"data:{type};base64,{Convert.ToBase64String(bytes)}";
    }

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / 1024.0 / 1024:0.#} MiB",
        _ => $"{bytes / 1024.0 / 1024 / 1024:0.##} GiB",
    };
}
