using Gureum.ML.Data;
using Gureum.ML.Training;

namespace Gureum.ML.Tests.Training;

/// <summary>Reads a file as the server does (analyse, then typed rows) and trains on it.</summary>
internal static class TrainingHarness
{
    public static async Task<(TrainingPlan Plan, TrainingData Data)> LoadAsync(byte[] bytes, TrainingOptions options, ReadOptions? read = null)
    {
        var ct = TestContext.Current.CancellationToken;
        DatasetAnalysis analysis;
        using (var s = new MemoryStream(bytes, writable: false))
        {
            analysis = await DatasetReader.AnalyzeAsync(s, read ?? new ReadOptions(), ct);
        }
        var plan = TrainingPlan.Create(analysis.Schema, analysis.Profile, options);
        var stream = new MemoryStream(bytes, writable: false);
        var data = await TrainingData.LoadAsync(plan, DatasetReader.ReadRowsAsync(stream, analysis.Format, analysis.Schema, ct), null, ct);
        return (plan, data);
    }

    public static Task<(TrainingPlan Plan, TrainingData Data)> LoadFileAsync(string name, TrainingOptions options) =>
        LoadAsync(File.ReadAllBytes(TestData.Dataset(name)), options);

    public static async Task<(TrainingOutcome Outcome, List<TrialResult> Trials)> TrainFileAsync(string name, TrainingOptions options)
    {
        var (plan, data) = await LoadFileAsync(name, options);
        var trials = new List<TrialResult>();
        var outcome = await AutoML.RunAsync(plan, options, data, [], 0,
            new TrainingCallbacks { OnTrial = t => { trials.Add(t); return Task.CompletedTask; } }, TestContext.Current.CancellationToken);
        return (outcome, trials);
    }
}
