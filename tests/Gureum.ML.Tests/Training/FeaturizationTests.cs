using System.Text;
using System.Text.Json;
using Gureum.ML.Training;

namespace Gureum.ML.Tests.Training;

public sealed class FeaturizationTests
{
    [Fact]
    public async Task FreeText_Dates_And_HashedCategoricals_AreFeaturized_AndPredictionTakesRawValues()
    {
        var words = new[] { "great", "awful", "fine", "broken", "lovely", "terrible" };
        var csv = new StringBuilder("review,when,shop,label\n");
        for (var i = 0; i < 300; i++)
        {
            var good = i % 2 == 0;
            var word = words[(i % 3) * 2 + (good ? 0 : 1)];
            csv.Append($"\"the product was {word} and arrived on day {i} with note {i * 7919 % 1000}\",2024-{1 + i % 12:00}-{1 + i % 28:00}T{i % 24:00}:15:00Z,shop{i % 90},{(good ? "yes" : "no")}\n");
        }
        var options = new TrainingOptions { Target = "label", Trainer = "lightGbm", BudgetSeconds = 60, Seed = 1 };
        var (plan, data) = await TrainingHarness.LoadAsync(Encoding.UTF8.GetBytes(csv.ToString()), options);
        Assert.Equal(["text", "datetime", "hashed"], plan.Inputs.Select(i => i.Encoding));
        var outcome = await AutoML.RunAsync(plan, options, data, [], 0, new TrainingCallbacks(), TestContext.Current.CancellationToken);
        Assert.True(outcome.Report.TestMetrics["auc"] > 0.95, outcome.Report.TestMetrics["auc"].ToString());
        Assert.Equal("review", outcome.Report.FeatureImportance[0].Column);
        var rows = outcome.Model.RowsFromJson(JsonDocument.Parse("""
            [{"review": "the product was lovely and arrived", "when": "2024-03-01T10:00:00Z", "shop": "shop7"},
             {"review": "the product was broken", "when": null, "shop": "never-seen"}]
            """).RootElement, 10);
        var predictions = outcome.Model.Predict(rows, explain: true);
        // yes/no was inferred as a boolean column, so the classes are its typed values.
        Assert.Equal(["true", "false"], predictions.Select(p => p.Label));
        Assert.True(predictions[0].Contributions!["review"] > 0);
    }

    [Fact]
    public async Task A_TextOnly_Dataset_Trains_On_Ngrams()
    {
        var csv = new StringBuilder("review,label\n");
        for (var i = 0; i < 200; i++)
        {
            csv.Append($"this is review number {i} and it was {(i % 2 == 0 ? "good" : "bad")},{(i % 2 == 0 ? "pos" : "neg")}\n");
        }
        var options = new TrainingOptions { Target = "label", BudgetSeconds = 10, Seed = 1, Patience = 2 };
        var (plan, data) = await TrainingHarness.LoadAsync(Encoding.UTF8.GetBytes(csv.ToString()), options);
        Assert.Equal("text", Assert.Single(plan.Inputs).Encoding);
        var outcome = await AutoML.RunAsync(plan, options, data, [], 0, new TrainingCallbacks(), TestContext.Current.CancellationToken);
        Assert.True(outcome.Report.TestMetrics["auc"] > 0.95, outcome.Report.TestMetrics["auc"].ToString());
    }
}
