using System.Diagnostics;

namespace Gureum.AI.Tests.Translation;

/// <summary>The reference: what `apertium -u PAIR` prints for a text on its stdin.</summary>
internal static class ApertiumCli
{
    public static string Translate(string pair, string text)
    {
        var info = new ProcessStartInfo("apertium") { RedirectStandardInput = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(pair);
        using var process = Process.Start(info)!;
        process.StandardInput.Write(text + "\n");
        process.StandardInput.Close();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Trim();
    }
}
