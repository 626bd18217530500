using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Gureum.ML.Models;

/// <summary>
/// Checks one ONNX tensor's <c>external_data</c> before any runtime opens it. ONNX Runtime reads <c>location</c> as a
/// path relative to the model's folder, so a hostile model could otherwise make the server read <c>/etc/passwd</c>,
/// another tenant's files, a device or a FIFO. The location must be a plain relative path (no <c>..</c>, no backslash, no
/// drive, no control character, also after percent-decoding) to an existing regular file inside the model's folder,
/// reached through no symlink, with a single hard link (a second link would be a view of a file elsewhere).
/// </summary>
internal static partial class ExternalDataCheck
{
    [GeneratedRegex("^[A-Za-z]:")]
    private static partial Regex DriveLetter();

    public static void Check(string folder, IReadOnlyList<(string Key, string Value)> entries, string tensor)
    {
        var location = entries.Where(e => e.Key == "location").Select(e => e.Value).ToList();
        if (location.Count != 1) throw Invalid($"{tensor} has external data with {location.Count} locations; exactly one is required");
        var path = Resolve(folder, location[0], tensor);
        var size = RegularFile(folder, path, tensor);
        var offset = Number(entries, "offset", tensor) ?? 0;
        var length = Number(entries, "length", tensor);
        if (offset > size || (length is { } l && l > size - offset))
        {
            throw Invalid($"{tensor} reads external data past the end of its file");
        }
    }

    /// <summary>The full path of a location, refused unless it is a plain relative path that stays in the folder.</summary>
    private static string Resolve(string folder, string location, string tensor)
    {
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(location);
        }
        catch (UriFormatException)
        {
            decoded = location;
        }
        foreach (var form in new[] { location, decoded })
        {
            if (form.Length == 0) throw Invalid($"{tensor} has an empty external data location");
            if (form.Any(char.IsControl)) throw Invalid($"{tensor} has an external data location with control characters");
            if (form.Contains('\\')) throw Invalid($"{tensor} has an external data location with a backslash");
            if (form.StartsWith('/') || DriveLetter().IsMatch(form)) throw Invalid($"{tensor} has an absolute external data location");
            if (form.Split('/').Any(s => s is ".." or "")) throw Invalid($"{tensor} has an external data location with '..' or empty segments");
            // ONNX Runtime reads this magic location as a raw memory address.
            if (form.Contains("_ORT_MEM_ADDR_", StringComparison.Ordinal)) throw Invalid($"{tensor} has an external data location that names process memory");
        }
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)) + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(Path.Combine(root, location));
        if (!full.StartsWith(root, StringComparison.Ordinal)) throw Invalid($"{tensor} has an external data location outside the model's folder");
        return full;
    }

    /// <summary>Walks from the folder to the file: no component may be a symlink; the file must be regular with one link. Returns its size.</summary>
    private static long RegularFile(string folder, string path, string tensor)
    {
        var current = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        foreach (var segment in Path.GetRelativePath(current, path).Split(Path.DirectorySeparatorChar))
        {
            current = Path.Combine(current, segment);
            var info = new FileInfo(current);
            if (!info.Exists && !Directory.Exists(current)) throw Invalid($"{tensor} has external data in a file that does not exist (a model is uploaded as one file)");
            if (info.LinkTarget is not null) throw Invalid($"{tensor} has an external data location through a symbolic link");
        }
        if (!OperatingSystem.IsLinux()) throw Invalid($"{tensor} has external data, which is only accepted on Linux");
        var (mode, links, size) = Stat(path);
        if ((mode & 0xF000) != 0x8000) throw Invalid($"{tensor} has an external data location that is not a regular file");
        if (links > 1) throw Invalid($"{tensor} has an external data file with {links} hard links");
        return size;
    }

    private static long? Number(IEnumerable<(string Key, string Value)> entries, string key, string tensor)
    {
        var value = entries.Where(e => e.Key == key).Select(e => e.Value).LastOrDefault();
        if (value is null) return null;
        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw Invalid($"{tensor} has an external data {key} that is not a non-negative integer");
    }

    private static ModelFileException Invalid(string message) => new(ModelFileException.Invalid, "file", $"The ONNX file is refused: {message}.");

    /// <summary>statx(2) without following links: file type, hard link count, size. struct statx has one layout on every architecture.</summary>
    private static (int Mode, uint Links, long Size) Stat(string path)
    {
        var buffer = new byte[256];
        const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxBasicStats = 0x7FF;
        if (Native.statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, buffer) != 0)
        {
            throw new ModelFileException(ModelFileException.Invalid, "file", "The ONNX file is refused: an external data file cannot be examined.");
        }
        return (BitConverter.ToUInt16(buffer, 28), BitConverter.ToUInt32(buffer, 16), BitConverter.ToInt64(buffer, 40));
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
    }
}
