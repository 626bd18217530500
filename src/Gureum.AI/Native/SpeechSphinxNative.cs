using System.Runtime.InteropServices;

namespace Gureum.AI.Native;

/// <summary>
/// PocketSphinx 5prealpha as Debian 12 ships it (libpocketsphinx3, the pre-5.0 API) and the sphinxbase functions it needs.
/// </summary>
internal static unsafe partial class SphinxNative
{
    private const string Lib = "libpocketsphinx.so.3";
    private const string Base = "libsphinxbase.so.3";

    [LibraryImport(Base, EntryPoint = "err_set_logfp")]
    public static partial IntPtr ErrSetLogFile(IntPtr file);

    /// <summary>Not the variadic cmd_ln_init: argv[0] is skipped as the program name.</summary>
    [LibraryImport(Base, EntryPoint = "cmd_ln_parse_r")]
    public static partial IntPtr CmdLnParse(IntPtr config, IntPtr definitions, int argc, IntPtr* argv, int strict);

    [LibraryImport(Base, EntryPoint = "cmd_ln_free_r")]
    public static partial int CmdLnFree(IntPtr config);

    [LibraryImport(Base, EntryPoint = "logmath_exp")]
    public static partial double LogMathExp(IntPtr logmath, int logValue);

    [LibraryImport(Lib, EntryPoint = "ps_args")]
    public static partial IntPtr Args();

    [LibraryImport(Lib, EntryPoint = "ps_init")]
    public static partial IntPtr Init(IntPtr config);

    [LibraryImport(Lib, EntryPoint = "ps_free")]
    public static partial int Free(IntPtr decoder);

    [LibraryImport(Lib, EntryPoint = "ps_get_logmath")]
    public static partial IntPtr GetLogMath(IntPtr decoder);

    /// <summary>Resets the frame counter that word times are relative to.</summary>
    [LibraryImport(Lib, EntryPoint = "ps_start_stream")]
    public static partial int StartStream(IntPtr decoder);

    [LibraryImport(Lib, EntryPoint = "ps_start_utt")]
    public static partial int StartUtt(IntPtr decoder);

    [LibraryImport(Lib, EntryPoint = "ps_process_raw")]
    public static partial int ProcessRaw(IntPtr decoder, short* data, nuint samples, int noSearch, int fullUtterance);

    [LibraryImport(Lib, EntryPoint = "ps_end_utt")]
    public static partial int EndUtt(IntPtr decoder);

    /// <summary>The decoder owns the string.</summary>
    [LibraryImport(Lib, EntryPoint = "ps_get_hyp")]
    public static partial IntPtr GetHyp(IntPtr decoder, out int score);

    [LibraryImport(Lib, EntryPoint = "ps_seg_iter")]
    public static partial IntPtr SegIter(IntPtr decoder);

    /// <summary>Frees the iterator and returns null at the end.</summary>
    [LibraryImport(Lib, EntryPoint = "ps_seg_next")]
    public static partial IntPtr SegNext(IntPtr segment);

    [LibraryImport(Lib, EntryPoint = "ps_seg_word")]
    public static partial IntPtr SegWord(IntPtr segment);

    [LibraryImport(Lib, EntryPoint = "ps_seg_frames")]
    public static partial void SegFrames(IntPtr segment, out int startFrame, out int endFrame);

    /// <summary>Log posterior probability of the word (logmath base), from the lattice.</summary>
    [LibraryImport(Lib, EntryPoint = "ps_seg_prob")]
    public static partial int SegProb(IntPtr segment, out int acoustic, out int language, out int backoff);

    [LibraryImport(Lib, EntryPoint = "ps_seg_free")]
    public static partial void SegFree(IntPtr segment);
}
