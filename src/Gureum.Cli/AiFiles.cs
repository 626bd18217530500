using System.Buffers.Binary;
using System.Text;
using Gureum.Client;

namespace Gureum.Cli;

/// <summary>The local files of the <c>ai</c> commands: inputs checked before anything is sent, and speech saved whole or not at all.</summary>
internal static class AiFiles
{
    /// <summary>The content type <paramref name="path"/> is sent with; a missing file or an extension the service does not read is a usage error.</summary>
    public static string ContentType(string path, Func<string, string> contentTypeFor)
    {
        RequireFile(path);
        try
        {
            return contentTypeFor(path);
        }
        catch (NotSupportedException e)
        {
            throw new UsageException(e.Message);
        }
    }

    public static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);

    /// <summary>The lines of a UTF-8 text file (a final newline adds no empty line).</summary>
    public static Task<string[]> ReadLinesAsync(string path, CancellationToken ct)
    {
        RequireFile(path);
        return File.ReadAllLinesAsync(path, Encoding.UTF8, ct);
    }

    public static Task<string> ReadTextAsync(string path, CancellationToken ct)
    {
        RequireFile(path);
        return File.ReadAllTextAsync(path, Encoding.UTF8, ct);
    }

    /// <summary>
    /// Writes speech to a temporary file beside the target and renames it once complete, so an interrupted or refused call
    /// leaves no partial file under the target's name.
    /// </summary>
    /// <returns>The file written, its size, and the audio's description.</returns>
    public static async Task<(string Path, long Bytes, SpokenAudio Audio)> SaveSpeechAsync(
        string output, bool force, string format, Func<Stream, Task<SpokenAudio>> speak)
    {
        var path = FileDownload.Target(output, "speech." + format, force);
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.part");
        try
        {
            SpokenAudio audio;
            long length;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                audio = await speak(file);
                length = file.Length;
                if (format == "wav")
                {
                    await FixWavSizesAsync(file);
                }
            }
            File.Move(temp, path, overwrite: force);
            return (path, length, audio);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// A streamed WAV's header says its sizes are unknown (0xFFFFFFFF); many readers refuse that, so once the file is
    /// complete the RIFF and data sizes are set to what was written. Only the canonical 44-byte header the server writes is touched.
    /// </summary>
    internal static async Task FixWavSizesAsync(FileStream file)
    {
        if (file.Length is < 44 or > uint.MaxValue)
        {
            return;
        }
        var header = new byte[44];
        file.Position = 0;
        await file.ReadExactlyAsync(header);
        if (Encoding.ASCII.GetString(header, 0, 4) != "RIFF" || Encoding.ASCII.GetString(header, 8, 4) != "WAVE" || Encoding.ASCII.GetString(header, 36, 4) != "data")
        {
            return;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), (uint)(file.Length - 8));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), (uint)(file.Length - 44));
        file.Position = 0;
        await file.WriteAsync(header);
    }

    private static void RequireFile(string path)
    {
        if (Directory.Exists(path))
        {
            throw new UsageException($"'{path}' is a directory; give the path of a file.");
        }
        if (!File.Exists(path))
        {
            throw new UsageException(Path.IsPathFullyQualified(path)
                ? $"The file '{path}' does not exist."
                : $"The file '{path}' does not exist (looked for {Path.GetFullPath(path)}).");
        }
    }
}
