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
    private static partial IntPtr CmdLnParse(IntPtr config, IntPtr definitions, int argc, IntPtr* argv, int strict);

    [LibraryImport(Base, EntryPoint = "cmd_ln_free_r")]
    private static partial int CmdLnFree(IntPtr config);

    [LibraryImport(Base, EntryPoint = "logmath_exp")]
    public static partial double LogMathExp(IntPtr logmath, int logValue);

    [LibraryImport(Lib, EntryPoint = "ps_args")]
    private static partial IntPtr Args();

    [LibraryImport(Lib, EntryPoint = "ps_init")]
    private static partial IntPtr Init(IntPtr config);

    [LibraryImport(Lib, EntryPoint = "ps_free")]
    private static partial int Free(IntPtr decoder);

    [LibraryImport(Lib, EntryPoint = "ps_get_logmath")]
    public static partial IntPtr GetLogMath(Decoder decoder);

    /// <summary>Resets the frame counter that word times are relative to.</summary>
    [LibraryImport(Lib, EntryPoint = "ps_start_stream")]
    public static partial int StartStream(Decoder decoder);

    [LibraryImport(Lib, EntryPoint = "ps_start_utt")]
    public static partial int StartUtt(Decoder decoder);

    [LibraryImport(Lib, EntryPoint = "ps_process_raw")]
    public static partial int ProcessRaw(Decoder decoder, short* data, nuint samples, int noSearch, int fullUtterance);

    [LibraryImport(Lib, EntryPoint = "ps_end_utt")]
    public static partial int EndUtt(Decoder decoder);

    [LibraryImport(Lib, EntryPoint = "ps_seg_iter")]
    public static partial IntPtr SegIter(Decoder decoder);

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

    /// <summary>
    /// A decoder with its configuration and the argv strings that configuration was parsed from (kept, as the parsed
    /// configuration may point into them), freed together when disposed or finalised. Calls taking it hold a reference,
    /// so a Dispose on another thread cannot free it under a running call.
    /// </summary>
    public sealed class Decoder : SafeHandle
    {
        private readonly IntPtr[] _argv;
        private IntPtr _config;

        private Decoder(IntPtr[] argv) : base(IntPtr.Zero, ownsHandle: true) => _argv = argv;

        public override bool IsInvalid => handle == IntPtr.Zero;

        /// <summary>Null when the configuration or the model cannot be loaded.</summary>
        public static Decoder? Create(string[] args)
        {
            var decoder = new Decoder([.. args.Prepend("gureum").Select(Marshal.StringToCoTaskMemUTF8)]);
            try
            {
                fixed (IntPtr* argv = decoder._argv)
                    decoder._config = CmdLnParse(IntPtr.Zero, Args(), decoder._argv.Length, argv, 1);
                if (decoder._config != IntPtr.Zero) decoder.SetHandle(Init(decoder._config));
            }
            finally
            {
                // An invalid handle is never released by the SafeHandle itself.
                if (decoder.IsInvalid) decoder.ReleaseHandle();
            }
            return decoder.IsInvalid ? null : decoder;
        }

        protected override bool ReleaseHandle()
        {
            if (handle != IntPtr.Zero) Free(handle);
            if (_config != IntPtr.Zero) CmdLnFree(_config);
            foreach (var p in _argv) Marshal.FreeCoTaskMem(p);
            return true;
        }
    }
}
