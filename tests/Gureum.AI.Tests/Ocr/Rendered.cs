using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gureum.AI.Native;

namespace Gureum.AI.Tests.Ocr;

/// <summary>
/// Test images made at test time: text rendered by pango-view (Debian pango1.0-tools, fonts-dejavu-core, fonts-nanum)
/// at 300 dpi, then rotated or noised through Leptonica and PGM so the damage is the same on every run.
/// </summary>
internal static class Rendered
{
    internal const int Dpi = 300;

    internal static byte[] Text(string text, string font, int points, int margin = 60, double lineSpacing = 0)
    {
        var path = Path.Combine(Path.GetTempPath(), $"gureum-ocr-test-{Guid.NewGuid():N}.png");
        try
        {
            var start = new ProcessStartInfo("pango-view") { RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--font", $"{font} {points}", "--dpi", $"{Dpi}", "--margin", $"{margin}", "-q", "-o", path, "--text", text })
                start.ArgumentList.Add(a);
            if (lineSpacing > 0)
            {
                start.ArgumentList.Add("--line-spacing");
                start.ArgumentList.Add(lineSpacing.ToString(CultureInfo.InvariantCulture));
            }
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"pango-view failed (install pango1.0-tools): {error}");
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Rotated about the centre onto a canvas large enough to keep the corners; white comes in.</summary>
    internal static byte[] Rotated(byte[] png, double degrees)
    {
        using var pix = Leptonica.Read(png)!;
        using var gray = Leptonica.pixConvertTo8(pix, 0);
        using var rotated = Leptonica.pixRotate(gray, (float)(degrees * Math.PI / 180), 1 /*area map*/, 1 /*white*/, gray.Width, gray.Height);
        return Leptonica.Write(rotated, Leptonica.IffPng);
    }

    /// <summary>Gaussian grey noise of <paramref name="sigma"/> levels plus a fraction of salt-and-pepper pixels, seeded.</summary>
    internal static byte[] Noisy(byte[] png, double sigma, double saltAndPepper, int seed = 7)
    {
        var image = Gray.FromPng(png);
        var random = new Random(seed);
        var pixels = image.Pixels;
        for (var i = 0; i < pixels.Length; i++)
        {
            if (random.NextDouble() < saltAndPepper) { pixels[i] = random.Next(2) == 0 ? (byte)0 : (byte)255; continue; }
            var gauss = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            pixels[i] = (byte)Math.Clamp(pixels[i] + gauss * sigma, 0, 255);
        }
        return image.ToPng();
    }

    internal static byte[] Encode(byte[] png, int leptonicaFormat)
    {
        using var pix = Leptonica.Read(png)!;
        return Leptonica.Write(pix, leptonicaFormat);
    }
}

/// <summary>8-bit grey pixels, moved in and out of Leptonica as binary PGM.</summary>
internal sealed record Gray(int Width, int Height, byte[] Pixels)
{
    internal static Gray FromPng(byte[] png)
    {
        using var pix = Leptonica.Read(png)!;
        using var gray = Leptonica.pixConvertTo8(pix, 0);
        var pgm = Leptonica.Write(gray, Leptonica.IffPnm);
        // "P5", width, height, maxval, each after whitespace or # comments, then one whitespace byte.
        var at = 0;
        var fields = new int[3];
        for (var field = -1; field < 3; field++)
        {
            while (pgm[at] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or (byte)'#')
                if (pgm[at] == '#') at = Array.IndexOf(pgm, (byte)'\n', at) + 1; else at++;
            var start = at;
            while (pgm[at] is not ((byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')) at++;
            if (field >= 0) fields[field] = int.Parse(Encoding.ASCII.GetString(pgm, start, at - start), CultureInfo.InvariantCulture);
        }
        return new Gray(fields[0], fields[1], pgm[(at + 1)..]);
    }

    internal byte[] ToPng()
    {
        var pgm = new MemoryStream();
        pgm.Write(Encoding.ASCII.GetBytes($"P5\n{Width} {Height}\n255\n"));
        pgm.Write(Pixels);
        using var pix = Leptonica.Read(pgm.ToArray())!;
        return Leptonica.Write(pix, Leptonica.IffPng);
    }
}
