using System.Text.Json;
using Gureum.ML.Training;

namespace Gureum.ML.Tests.Training;

public sealed class AutoMLTests
{
    [Fact]
    public async Task Titanic_binary_search_finds_a_good_model_explains_it_and_predicts_raw_rows()
    {
        // 'alive' restates the target: ignored, as a user would after the profile's leakage warning.
        var options = new TrainingOptions { Target = "survived", IgnoreColumns = ["alive"], BudgetSeconds = 20, Seed = 3 };
        var (outcome, trials) = await TrainingHarness.TrainFileAsync("titanic.csv", options);
        var report = outcome.Report;

        Assert.Equal(TrainingTask.Binary, report.Task);
        Assert.Equal("auc", report.Metric);
        Assert.Equal("5-fold cross-validation", report.Validation);
        Assert.True(report.TestMetrics["auc"] > 0.8, $"test AUC {report.TestMetrics["auc"]}");
        Assert.True(report.DurationSeconds < options.BudgetSeconds + 30, $"took {report.DurationSeconds:F1}s for a {options.BudgetSeconds}s budget");
        // Every trainer for the task ran with its defaults first, and the leaderboard holds every trial.
        Assert.Equal(["lightGbm", "fastTree", "fastForest", "sdca", "lbfgs"], trials.Where(t => t.Stage == "default").Select(t => t.Trainer));
        Assert.Equal(report.Trials, trials.Count);
        Assert.All(trials.Where(t => t.Status == "succeeded"), t => Assert.InRange(t.Metrics["auc"], 0.5, 1));
        Assert.Equal(trials.Where(t => t.Score is not null).Max(t => t.Score), report.Best.Score);
        // The test split: 20% of 891 rows, stratified.
        Assert.Equal(178, report.TestRows);
        Assert.Equal(891 - 178, report.TrainRows);
        Assert.NotNull(report.ConfusionMatrix);
        Assert.Equal(178, report.ConfusionMatrix!.Counts.Sum(r => r.Sum()));
        Assert.True(report.Roc!.Count > 10);
        // Importance is on raw columns; sex (or its restatements who/adult_male) leads.
        Assert.Contains(report.FeatureImportance[0].Column, new[] { "sex", "who", "adult_male", "pclass", "class", "fare" });
        Assert.Contains(report.FeatureImportance, f => f.Column == "age");
        Assert.Contains("alive: ignored by the request", report.DroppedColumns);

        var model = outcome.Model;
        using var saved = new MemoryStream();
        model.Save(saved);
        saved.Position = 0;
        var loaded = TrainedModel.Load(saved);
        var rows = loaded.RowsFromJson(JsonDocument.Parse("""
            [{"pclass": 1, "sex": "female", "age": 29, "fare": 211.3, "embarked": "S", "class": "First", "who": "woman", "adult_male": false, "alone": true, "sibsp": 0, "parch": 0, "embark_town": "Southampton", "deck": "B"},
             {"pclass": 3, "sex": "male", "age": 40, "fare": 7.9, "class": "Third", "who": "man", "adult_male": true, "alone": true}]
            """).RootElement, 100);
        var predictions = loaded.Predict(rows, explain: loaded.SupportsContributions);
        Assert.Equal("1", predictions[0].Label);
        Assert.Equal("0", predictions[1].Label);
        var original = model.Predict(rows);
        Assert.Equal(original.Select(p => p.Probability), predictions.Select(p => p.Probability));
        if (loaded.SupportsContributions)
        {
            Assert.Equal(loaded.Signature.Inputs.Select(i => i.Name).Order(), predictions[0].Contributions!.Keys.Order());
        }
    }

    [Fact]
    public async Task Penguins_multiclass_reaches_high_accuracy_with_class_probabilities()
    {
        var (outcome, _) = await TrainingHarness.TrainFileAsync("penguins.csv", new TrainingOptions { Target = "species", BudgetSeconds = 15 });
        var report = outcome.Report;
        Assert.Equal(TrainingTask.Multiclass, report.Task);
        Assert.True(report.TestMetrics["microAccuracy"] > 0.93, $"accuracy {report.TestMetrics["microAccuracy"]}");
        Assert.Equal(["Adelie", "Chinstrap", "Gentoo"], report.Signature.Classes);
        Assert.Equal(3, report.ConfusionMatrix!.Counts.Count);
        var rows = outcome.Model.RowsFromJson(JsonDocument.Parse("""
            [{"island": "Biscoe", "bill_length_mm": 47.5, "bill_depth_mm": 15.0, "flipper_length_mm": 218, "body_mass_g": 4950, "sex": "MALE"}]
            """).RootElement, 10);
        var prediction = outcome.Model.Predict(rows).Single();
        Assert.Equal("Gentoo", prediction.Label);
        Assert.Equal(1.0, prediction.Probabilities!.Values.Sum(), 3);
    }

    /// <summary>Serving runs one model from many threads and batches requests' rows: every row must get the answer it gets alone.</summary>
    [Fact]
    public async Task Predictions_are_the_same_alone_in_a_batch_and_from_many_threads()
    {
        var (outcome, _) = await TrainingHarness.TrainFileAsync("iris.csv", new TrainingOptions { Target = "species", BudgetSeconds = 4 });
        var model = outcome.Model;
        var csv = File.ReadAllLines(TestData.Dataset("iris.csv"));
        var header = csv[0].Split(',');
        var rows = csv.Skip(1).Select(l => l.Split(',')).Select(v => (IReadOnlyDictionary<string, object?>)header[..^1]
            .Select((h, i) => (h, v: (object?)double.Parse(v[i], System.Globalization.CultureInfo.InvariantCulture))).ToDictionary(x => x.h, x => x.v)).ToList();
        var alone = rows.Select(r => model.Predict([r]).Single()).ToList();
        var batched = model.Predict(rows);
        var threaded = new Prediction[rows.Count];
        Parallel.For(0, rows.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => threaded[i] = model.Predict([rows[i]]).Single());
        // Predict runs the pipelines through row mappers bound once; the answers are those of Transform on the rows.
        var table = new FeatureTable(model.State.Inputs);
        foreach (var row in rows) table.Add(row, targetColumn: null);
        var transformed = model.Answers(new FeatureView(table, model.State, [.. Enumerable.Range(0, rows.Count)], withLabel: false));
        var classes = model.State.Classes!;
        for (var i = 0; i < rows.Count; i++)
        {
            for (var c = 0; c < classes.Count; c++) Assert.Equal(transformed[i * classes.Count + c], batched[i].Probabilities![classes[c]], 5);
        }
        for (var i = 0; i < rows.Count; i++)
        {
            foreach (var answer in new[] { batched[i], threaded[i] })
            {
                Assert.Equal(alone[i].Label, answer.Label);
                foreach (var (label, p) in alone[i].Probabilities!)
                {
                    Assert.True(double.IsFinite(answer.Probabilities![label]), $"row {i}: {label} is {answer.Probabilities[label]}");
                    Assert.Equal(p, answer.Probabilities[label], 5);
                }
            }
        }
    }

    [Fact]
    public async Task Diamonds_regression_with_manual_trainer_reports_residuals()
    {
        var options = new TrainingOptions
        {
            Target = "price", Trainer = "lightGbm", BudgetSeconds = 60,
            Hyperparameters = new Dictionary<string, double> { ["numberOfIterations"] = 200, ["numberOfLeaves"] = 63 },
        };
        var (outcome, trials) = await TrainingHarness.TrainFileAsync("diamonds.csv", options);
        var report = outcome.Report;
        Assert.Equal(TrainingTask.Regression, report.Task);
        Assert.Equal("20% holdout", report.Validation);
        var trial = Assert.Single(trials);
        Assert.Equal("manual", trial.Stage);
        Assert.Equal(200, trial.Hyperparameters["numberOfIterations"]);
        Assert.True(report.TestMetrics["r2"] > 0.97, $"R² {report.TestMetrics["r2"]}");
        Assert.InRange(report.TestMetrics["rmse"], 300, 700);
        Assert.NotNull(report.Residuals);
        Assert.Equal(report.TestRows, report.Residuals!.Histogram.Sum(b => b.Count));
        Assert.Equal("carat", report.FeatureImportance.Take(2).Select(f => f.Column).Intersect(["carat", "y", "x"]).Any() ? "carat" : report.FeatureImportance[0].Column);
        Assert.True(outcome.Model.SupportsContributions);
    }

    [Fact]
    public async Task Same_data_seed_and_patience_give_the_same_trials_and_best_trainer()
    {
        // A patience-bound search does not depend on the machine's speed, so its sequence must repeat exactly.
        var options = new TrainingOptions { Target = "species", BudgetSeconds = 600, Seed = 11, Patience = 3 };
        var (first, firstTrials) = await TrainingHarness.TrainFileAsync("iris.csv", options);
        var (second, secondTrials) = await TrainingHarness.TrainFileAsync("iris.csv", options);
        Assert.Equal(firstTrials.Select(t => (t.Trainer, Json(t.Hyperparameters), t.Score)), secondTrials.Select(t => (t.Trainer, Json(t.Hyperparameters), t.Score)));
        Assert.Equal(first.Report.Best.Trainer, second.Report.Best.Trainer);
        Assert.Equal(first.Report.TestMetrics, second.Report.TestMetrics);
        Assert.StartsWith("no improvement in 3 trials", first.Report.StopReason);
    }

    private static string Json(IReadOnlyDictionary<string, double> hp) => JsonSerializer.Serialize(hp.OrderBy(p => p.Key));

    [Fact]
    public async Task An_Ensemble_Is_Kept_Only_When_It_Validates_Better_And_Survives_Save_And_Load()
    {
        // Patience-bound, so the trials (and the selection) do not depend on the machine's speed.
        var options = new TrainingOptions { Target = "column_9", Task = TrainingTask.Regression, BudgetSeconds = 600, Seed = 1, Patience = 6 };
        var (outcome, trials) = await TrainingHarness.TrainFileAsync("abalone.csv", options);
        var report = outcome.Report;
        Assert.NotNull(report.Ensemble);
        Assert.True(report.Ensemble!.Count > 1);
        Assert.Equal(1.0, report.Ensemble.Sum(m => m.Weight), 6);
        Assert.All(report.Ensemble, m => Assert.Contains(trials, t => t.Number == m.Trial && t.Trainer == m.Trainer));
        Assert.True(report.ValidationScore < report.Best.Score, $"ensemble {report.ValidationScore} vs best trial {report.Best.Score}");
        Assert.StartsWith("ensemble(", outcome.Model.Trainer);

        using var saved = new MemoryStream();
        outcome.Model.Save(saved);
        saved.Position = 0;
        var loaded = TrainedModel.Load(saved);
        var rows = loaded.RowsFromJson(JsonDocument.Parse("""
            [{"column_1": "M", "column_2": 0.455, "column_3": 0.365, "column_4": 0.095, "column_5": 0.514, "column_6": 0.2245, "column_7": 0.101, "column_8": 0.15}]
            """).RootElement, 10);
        var expected = outcome.Model.Predict(rows).Single().Score!.Value;
        Assert.Equal(expected, loaded.Predict(rows).Single().Score!.Value, 4);
        Assert.InRange(expected, 5, 20);
    }
}
