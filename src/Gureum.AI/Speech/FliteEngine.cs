using System.Runtime.InteropServices;
using System.Text;
using Gureum.AI.Native;

namespace Gureum.AI.Speech;

/// <summary>
/// Flite voices whose libraries are installed, registered once per process. A voice's features are shared state
/// (the speaking rate is set on them before each call), so calls are serialised.
/// </summary>
internal static unsafe class FliteEngine
{
    private const string Prefix = "flite:";

    private sealed record Loaded(Voice Voice, IntPtr Handle, int SampleRate);

    // cmu_us_time_awb is left out: it can only say the time of day.
    private static readonly (string Name, string Gender, string Description)[] Known =
    [
        ("slt", "female", "US English, female (SLT)"),
        ("rms", "male", "US English, male (RMS)"),
        ("awb", "male", "Scottish English, male (AWB)"),
        ("kal16", "male", "US English, male (KAL, diphone 16 kHz)"),
        ("kal", "male", "US English, male (KAL, diphone 8 kHz)"),
    ];

    private static readonly Lock Gate = new();

    // Flite keeps the feature-name pointer it is given (it expects a C literal): this one is never freed.
    private static readonly IntPtr DurationStretch = Marshal.StringToCoTaskMemUTF8("duration_stretch");
    private static readonly Lazy<Dictionary<string, Loaded>> State = new(Load);

    public static IEnumerable<Voice> Voices => State.Value.Values.Select(l => l.Voice);

    public static int SampleRate(string id) => State.Value[id].SampleRate;

    /// <summary>Flite's own pace is roughly 175 words per minute; other rates stretch the durations.</summary>
    public static short[] Speak(string text, string id, int rate)
    {
        var voice = State.Value[id];
        var utf8 = Encoding.UTF8.GetBytes(text + '\0');
        lock (Gate)
        {
            var features = ((FliteNative.VoiceHead*)voice.Handle)->Features;
            FliteNative.FeatSetFloat(features, DurationStretch, 175f / rate);
            FliteNative.Wave* wave;
            fixed (byte* p = utf8) wave = FliteNative.TextToWave(p, voice.Handle);
            if (wave == null) return [];
            try
            {
                return new ReadOnlySpan<short>(wave->Samples, wave->NumSamples * wave->NumChannels).ToArray();
            }
            finally
            {
                FliteNative.DeleteWave(wave);
            }
        }
    }

    private static Dictionary<string, Loaded> Load()
    {
        var voices = new Dictionary<string, Loaded>();
        if (!NativeLibrary.TryLoad(FliteNative.Lib, out _)) return voices;
        FliteNative.Init();
        foreach (var (name, gender, description) in Known)
        {
            if (!NativeLibrary.TryLoad($"libflite_cmu_us_{name}.so.1", out var lib)
                || !NativeLibrary.TryGetExport(lib, $"register_cmu_us_{name}", out var register))
                continue;
            var handle = ((delegate* unmanaged<IntPtr, IntPtr>)register)(IntPtr.Zero);
            var rate = handle == IntPtr.Zero ? 0 : ProbeRate(handle);
            if (rate <= 0) continue;
            var id = Prefix + name;
            voices[id] = new Loaded(new Voice(id, description, "en-us", "flite", gender), handle, rate);
        }
        return voices;
    }

    /// <summary>A voice's rate is fixed by its data; one tiny synthesis tells it before any audio is asked for.</summary>
    private static int ProbeRate(IntPtr voice)
    {
        fixed (byte* p = "a\0"u8)
        {
            var wave = FliteNative.TextToWave(p, voice);
            if (wave == null) return 0;
            var rate = wave->SampleRate;
            FliteNative.DeleteWave(wave);
            return rate;
        }
    }
}
