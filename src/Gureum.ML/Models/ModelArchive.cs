using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.RegularExpressions;

namespace Gureum.ML.Models;

/// <summary>
/// Static checks of an ML.NET model zip, done before anything loads or extracts it: entry names (no traversal,
/// absolute paths, drives, backslashes, control characters, duplicates even by case), no symlink entries, the entry
/// count, each entry's and the archive's compression ratio, and the total uncompressed size; then every entry is
/// streamed (nowhere) to check it inflates to no more than it declared. Nested zips are refused except where Gureum's
/// AutoML format puts them (<c>model-{i}.zip</c> beside <c>manifest.json</c>), which are checked with the same rules,
/// one level deep.
/// </summary>
internal static partial class ModelArchive
{
    public const string ManifestEntry = "manifest.json";
    /// <summary>Entries smaller than this are not held to the ratio: tiny files compress absurdly well and cannot be bombs.</summary>
    private const long RatioFloor = 64 << 10;

    [GeneratedRegex(@"^model-[0-9]{1,4}\.zip$")]
    private static partial Regex MemberEntry();

    [GeneratedRegex("^[A-Za-z]:")]
    private static partial Regex DriveLetter();

    /// <summary>What an archive's entries add up to, over the archive and its nested members.</summary>
    private sealed class Budget
    {
        public int Entries;
        public long Uncompressed;
    }

    /// <summary>Checks an ML.NET zip; returns true when it is a Gureum AutoML model (manifest + member zips).</summary>
    public static bool Check(string path, ModelFileLimits limits)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Check(file, limits, new Budget(), nested: false);
    }

    /// <summary>The entry names, for format detection; the central directory is bounded first as in <see cref="Check"/>.</summary>
    public static IReadOnlyList<string> EntryNames(string path, ModelFileLimits limits)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var zip = Open(file, limits, "");
        return [.. zip.Entries.Select(e => e.FullName)];
    }

    private static bool Check(Stream stream, ModelFileLimits limits, Budget budget, bool nested)
    {
        var where = nested ? "a member zip: " : "";
        using var zip = Open(stream, limits, where);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        long compressed = 0;
        foreach (var entry in zip.Entries)
        {
            CheckName(entry.FullName, where);
            if (!names.Add(entry.FullName)) throw Invalid($"{where}the entry '{entry.FullName}' appears twice (names are compared ignoring case)");
            if (((entry.ExternalAttributes >> 16) & 0xF000) == 0xA000) throw Invalid($"{where}the entry '{entry.FullName}' is a symbolic link");
            if (++budget.Entries > limits.MaxZipEntries) throw Invalid($"the archive has more than {limits.MaxZipEntries} entries");
            if (entry.Length > RatioFloor && entry.Length > entry.CompressedLength * limits.MaxCompressionRatio)
            {
                throw Invalid($"{where}the entry '{entry.FullName}' expands more than {limits.MaxCompressionRatio} times (a zip bomb?)");
            }
            budget.Uncompressed += entry.Length;
            compressed += entry.CompressedLength;
            if (budget.Uncompressed > limits.MaxUncompressedBytes)
            {
                throw new ModelFileException(ModelFileException.TooLarge, "file", $"The model zip expands to more than {limits.MaxUncompressedBytes} bytes.");
            }
        }
        var total = zip.Entries.Sum(e => e.Length);
        if (total > RatioFloor && total > compressed * limits.MaxCompressionRatio)
        {
            throw Invalid($"{where}the archive expands more than {limits.MaxCompressionRatio} times (a zip bomb?)");
        }
        var autoMl = !nested && names.Contains(ManifestEntry);
        if (autoMl && zip.Entries.FirstOrDefault(e => e.FullName != ManifestEntry && !MemberEntry().IsMatch(e.FullName)) is { } stray)
        {
            throw Invalid($"the AutoML model zip has an unexpected entry '{stray.FullName}' (only manifest.json and model-N.zip)");
        }
        foreach (var entry in zip.Entries)
        {
            if (autoMl && entry.FullName != ManifestEntry) CheckMember(entry, limits, budget);
            else Stream(entry, where, refuseZip: true);
        }
        return autoMl;
    }

    /// <summary>A member zip of an AutoML model: copied to a private temp file (its size is already within the limits) and checked there.</summary>
    private static void CheckMember(ZipArchiveEntry entry, ModelFileLimits limits, Budget budget)
    {
        var dir = Directory.CreateTempSubdirectory("gureum-model-");
        try
        {
            using var copy = new FileStream(Path.Combine(dir.FullName, "member.zip"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None,
                1 << 16, FileOptions.DeleteOnClose);
            Stream(entry, "", refuseZip: false, copy);
            copy.Position = 0;
            Check(copy, limits, budget, nested: true);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Inflates an entry, refusing it when it produces more bytes than it declared (System.IO.Compression stops a deflated
    /// entry at its declared size, but reads a stored one to its compressed size) or, outside AutoML members, is itself a zip.
    /// </summary>
    private static void Stream(ZipArchiveEntry entry, string where, bool refuseZip, Stream? into = null)
    {
        if (entry.FullName.EndsWith('/') && entry.Length == 0) return;
        if (refuseZip && entry.FullName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            throw Invalid($"{where}the entry '{entry.FullName}' is a nested zip, which an ML.NET model does not contain");
        }
        var buffer = new byte[1 << 16];
        long total = 0;
        try
        {
            using var s = entry.Open();
            int n;
            while ((n = s.Read(buffer)) > 0)
            {
                if (total == 0 && refuseZip && n >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(buffer) == 0x04034b50)
                {
                    throw Invalid($"{where}the entry '{entry.FullName}' is a nested zip, which an ML.NET model does not contain");
                }
                total += n;
                if (total > entry.Length) throw Invalid($"{where}the entry '{entry.FullName}' expands past the size it declares");
                into?.Write(buffer, 0, n);
            }
        }
        catch (InvalidDataException e)
        {
            throw Invalid($"{where}the entry '{entry.FullName}' is corrupt ({e.Message})");
        }
    }

    /// <summary>
    /// Refuses names that could leave an extraction folder or mean different files on different systems. The final
    /// check is the one the rules ask for: canonical(root + name) must stay under canonical(root).
    /// </summary>
    private static void CheckName(string name, string where)
    {
        var shown = new string([.. name.Take(100).Select(c => char.IsControl(c) ? '?' : c)]);
        if (name.Length == 0 || name.Any(char.IsControl)) throw Invalid($"{where}the entry '{shown}' has an empty name or control characters");
        if (name.Contains('\\')) throw Invalid($"{where}the entry '{shown}' has a backslash in its name");
        if (name.StartsWith('/') || DriveLetter().IsMatch(name)) throw Invalid($"{where}the entry '{shown}' has an absolute path");
        if (name.TrimEnd('/').Split('/').Any(s => s is ".." or "." or "")) throw Invalid($"{where}the entry '{shown}' has '..', '.' or empty path segments");
        var root = Path.Combine(Path.GetTempPath(), "gureum-archive-root") + Path.DirectorySeparatorChar;
        if (!Path.GetFullPath(Path.Combine(root, name)).StartsWith(root, StringComparison.Ordinal))
        {
            throw Invalid($"{where}the entry '{shown}' leaves the extraction folder");
        }
    }

    /// <summary>
    /// Opens the archive after counting its central directory ourselves: <see cref="ZipArchive"/> builds an object per
    /// entry before anyone can count them, so millions of tiny entries would cost gigabytes of memory.
    /// </summary>
    private static ZipArchive Open(Stream stream, ModelFileLimits limits, string where)
    {
        try
        {
            CountCentralDirectory(stream, limits.MaxZipEntries, where);
            stream.Position = 0;
            return new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw Invalid($"{where}the zip cannot be read ({e.Message})");
        }
    }

    /// <summary>Finds the end-of-central-directory record (zip64 too) and walks the central directory, stopping past the limit.</summary>
    private static void CountCentralDirectory(Stream stream, int maxEntries, string where)
    {
        const int EndRecord = 22, MaxComment = 0xFFFF;
        var tail = (int)Math.Min(stream.Length, EndRecord + MaxComment);
        var buffer = new byte[tail];
        stream.Position = stream.Length - tail;
        stream.ReadExactly(buffer);
        var at = -1;
        for (var i = tail - EndRecord; i >= 0 && at < 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(i)) == 0x06054b50) at = i;
        }
        if (at < 0) throw new InvalidDataException("no end of central directory");
        long start = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at + 16));
        if (start == 0xFFFFFFFF && at >= 20 && BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at - 20)) == 0x07064b50)
        {
            var zip64End = (long)BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(at - 20 + 8));
            var record = new byte[56];
            if (zip64End < 0 || zip64End > stream.Length - record.Length) throw new InvalidDataException("a bad zip64 end of central directory");
            stream.Position = zip64End;
            stream.ReadExactly(record);
            start = (long)BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(48));
        }
        if (start < 0 || start > stream.Length) throw new InvalidDataException("the central directory lies outside the file");
        stream.Position = start;
        var header = new byte[46];
        for (var count = 0; ; count++)
        {
            if (stream.Length - stream.Position < header.Length) return;
            stream.ReadExactly(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != 0x02014b50) return;
            if (count >= maxEntries) throw Invalid($"{where}the archive has more than {maxEntries} entries");
            var variable = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(28)) + BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(30))
                + BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(32));
            stream.Seek(variable, SeekOrigin.Current);
        }
    }

    private static ModelFileException Invalid(string message) => new(ModelFileException.Invalid, "file", $"The model zip is refused: {message}.");
}
