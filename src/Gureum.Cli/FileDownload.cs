using System.Security.Cryptography;
using Spectre.Console;

namespace Gureum.Cli;

/// <summary>
/// Saves a download to a file. The bytes stream to a temporary file beside the target (never into memory whole) and are
/// renamed to the target only once complete and, when the server recorded a SHA-256, verified; so an interrupted or
/// corrupted download never leaves a partial file under the target's name.
/// </summary>
internal static class FileDownload
{
    /// <param name="output">--output as given: a file, an existing directory (the default name goes inside it), or null (the default name here).</param>
    /// <param name="defaultName">The file name to use when --output names none.</param>
    /// <param name="expectedSha256">The SHA-256 the server recorded for the file, if it did.</param>
    /// <param name="copy">Writes the download into the stream it is given.</param>
    public static async Task<int> RunAsync(
        Session s, string? output, string defaultName, bool force, string? expectedSha256, Func<Stream, CancellationToken, Task> copy, CancellationToken ct)
    {
        var path = Target(output, defaultName, force);
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.part");
        try
        {
            string sha256;
            long length;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                using var hash = SHA256.Create();
                await using (var hashing = new CryptoStream(file, hash, CryptoStreamMode.Write, leaveOpen: true))
                {
                    await copy(hashing, ct);
                }
                length = file.Length;
                sha256 = Convert.ToHexStringLower(hash.Hash!);
            }
            if (expectedSha256 is not null && !sha256.Equals(expectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new IOException($"The downloaded file's SHA-256 is {sha256}, not {expectedSha256} as the server recorded; it was not saved. Try again.");
            }
            File.Move(temp, path, overwrite: force);
            if (s.Json)
            {
                s.WriteJson(new { path, sizeBytes = length, sha256 });
            }
            else
            {
                s.Out.MarkupLine($"[green]Saved[/] {Markup.Escape(path)} ({Views.Bytes(length)}{(expectedSha256 is null ? "" : ", SHA-256 verified")})");
            }
            return ExitCodes.Ok;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>The file --output names (the default name inside a directory); refused when it exists without --force or its directory is missing.</summary>
    public static string Target(string? output, string defaultName, bool force)
    {
        var path = Path.GetFullPath(output ?? defaultName);
        if (Directory.Exists(path))
        {
            path = Path.Combine(path, defaultName);
        }
        else if (output is not null && (output.EndsWith('/') || output.EndsWith(Path.DirectorySeparatorChar)))
        {
            throw new UsageException($"The directory '{output}' does not exist.");
        }
        if (Directory.Exists(path))
        {
            throw new UsageException($"'{path}' is a directory; name a file with --output.");
        }
        if (File.Exists(path) && !force)
        {
            throw new UsageException($"'{path}' already exists; pass --force to overwrite it, or choose another file with --output.");
        }
        if (!Directory.Exists(Path.GetDirectoryName(path)))
        {
            throw new UsageException($"The directory '{Path.GetDirectoryName(path)}' does not exist.");
        }
        return path;
    }
}
