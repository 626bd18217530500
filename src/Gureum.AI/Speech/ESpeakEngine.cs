using System.Runtime.InteropServices;
using System.Text;
using Gureum.AI.Native;

namespace Gureum.AI.Speech;

/// <summary>
/// eSpeak NG, once per process: the library keeps one global voice, parameter set and callback, so every call holds
/// <see cref="Gate"/>. The callback is a static unmanaged function pointer, so there is no delegate the GC could collect.
/// </summary>
internal static unsafe class ESpeakEngine
{
    public const string Packages = "libespeak-ng1 espeak-ng-data";

    private static readonly Lock Gate = new();
    private static readonly Lazy<(int SampleRate, IReadOnlyList<Voice> Voices, Dictionary<string, string> Files)> State =
        new(Start);

    // Read and written only under Gate, by the synthesising thread and the callback it runs synchronously.
    private static readonly List<short> Collected = [];
    private static CancellationToken s_cancel;
    private static string? s_currentVoice;

    public static int SampleRate => State.Value.SampleRate;

    /// <summary>One voice per language eSpeak lists; the id is that language code (en-us, ko...).</summary>
    public static IReadOnlyList<Voice> Voices => State.Value.Voices;

    /// <summary>Synthesises one sentence; stops early (and returns what it has) when <paramref name="ct"/> fires.</summary>
    public static short[] Speak(string text, string voice, int rate, int pitch, CancellationToken ct)
    {
        var utf8 = Encoding.UTF8.GetBytes(text + '\0');
        lock (Gate)
        {
            if (s_currentVoice != voice)
            {
                // By its file (gmw/en-US): some languages, en-gb among them, are not a voice name eSpeak resolves.
                if (ESpeakNative.SetVoiceByName(State.Value.Files[voice]) != 0)
                    throw AiInputException.Unusable("voice", $"eSpeak NG could not load the voice '{voice}'.");
                s_currentVoice = voice;
            }
            ESpeakNative.SetParameter(ESpeakNative.ParameterRate, rate, 0);
            ESpeakNative.SetParameter(ESpeakNative.ParameterPitch, pitch, 0);
            s_cancel = ct;
            try
            {
                fixed (byte* p = utf8)
                    ESpeakNative.Synth(p, (nuint)utf8.Length, 0, ESpeakNative.PositionCharacter, 0, ESpeakNative.CharsUtf8,
                        IntPtr.Zero, IntPtr.Zero);
                return [.. Collected];
            }
            finally
            {
                Collected.Clear();
                s_cancel = default;
            }
        }
    }

    [UnmanagedCallersOnly]
    private static int OnAudio(short* samples, int count, IntPtr events)
    {
        if (samples != null && count > 0) Collected.AddRange(new ReadOnlySpan<short>(samples, count));
        return s_cancel.IsCancellationRequested ? 1 : 0;   // 1 asks eSpeak to stop
    }

    private static (int, IReadOnlyList<Voice>, Dictionary<string, string>) Start()
    {
        try
        {
            ESpeakNative.InitializePath(null);
            var status = ESpeakNative.Initialize(out var context);
            if (status != 0)
            {
                ESpeakNative.ClearErrorContext(ref context);
                throw new EngineUnavailableException("tts", Packages,
                    $"eSpeak NG could not start (status 0x{status:X}); is {Packages} installed?");
            }
            ESpeakNative.InitializeOutput(ESpeakNative.OutputSynchronous, 0, IntPtr.Zero);
            ESpeakNative.SetSynthCallback(&OnAudio);
            var (voices, files) = ListVoices();
            return (ESpeakNative.GetSampleRate(), voices, files);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new EngineUnavailableException("tts", Packages, $"eSpeak NG is not installed; install {Packages}.", e);
        }
    }

    private static (List<Voice>, Dictionary<string, string>) ListVoices()
    {
        var voices = new List<Voice>();
        var files = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        lock (Gate)
        {
            for (var v = ESpeakNative.ListVoices(IntPtr.Zero); *v != null; v++)
            {
                var info = **v;
                var identifier = Utf8(info.Identifier);
                // MBROLA voices need the separate mbrola program and voice packages.
                if (identifier.StartsWith("mb/", StringComparison.Ordinal) || info.Languages == null) continue;
                var language = Utf8(info.Languages + 1);   // first (priority, name) pair
                if (language.Length == 0 || !files.TryAdd(language, identifier)) continue;
                var gender = info.Gender switch { 1 => "male", 2 => "female", _ => null };
                voices.Add(new Voice(language, Utf8(info.Name).Replace('_', ' '), language, "espeak-ng", gender));
            }
        }
        voices.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return (voices, files);
    }

    private static string Utf8(byte* s) => Marshal.PtrToStringUTF8((IntPtr)s) ?? "";
}
