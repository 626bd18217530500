namespace Gureum.AI.Translation;

/// <summary>
/// A pipeline stage died, or the pipeline gave no answer within the timeout. The pipeline that threw is unusable
/// (<see cref="ApertiumPipeline.IsBroken"/>): dispose it and start a new one. The message names the stage and may
/// quote its stderr, so log it rather than showing it to the caller.
/// </summary>
public sealed class TranslationEngineException(string message, bool timedOut = false, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The pipeline stalled past the timeout (rather than a stage exiting).</summary>
    public bool TimedOut { get; } = timedOut;
}
