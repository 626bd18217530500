using System.Globalization;
using Gureum.Client;
using Gureum.WebConsole.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Gureum.WebConsole.Tests;

public sealed class TrainingChartsTests(ConsoleApp app) : BrowserTest(app)
{
    [Fact]
    public async Task ABinaryResult_DrawsItsRocCurve_AndARegressionResult_ItsResiduals_FromTheReportTheApiReturns()
    {
        using var admin = App.Api();
        await admin.CreateProjectAsync("curves");
        await admin.CreateDatasetAsync("curves", "titanic");
        await admin.UploadDatasetFileAsync("curves", "titanic", Path.Combine(Repository.Datasets, "titanic.csv"));
        await admin.CreateDatasetAsync("curves", "tips");
        await admin.UploadDatasetFileAsync("curves", "tips", Path.Combine(Repository.Datasets, "tips.csv"));
        var binary = await admin.SubmitTrainingAsync("curves", new TrainingSubmission("titanic", "survived", Task: "binary", BudgetSeconds: 2, IgnoreColumns: ["alive"]));
        var regression = await admin.SubmitTrainingAsync("curves", new TrainingSubmission("tips", "tip", Task: "regression", BudgetSeconds: 2));
        await Models.WaitAsync(async () => (await admin.GetTrainingJobAsync("curves", binary.Id)).Status == JobStatus.Succeeded
            && (await admin.GetTrainingJobAsync("curves", regression.Id)).Status == JobStatus.Succeeded, 120);

        await SignInAsync(path: $"/projects/curves/training/{binary.Id}");
        await Expect(Page.Locator("[data-chart=roc] svg").First).ToBeVisibleAsync();
        await Expect(Page.Locator("[data-chart=residuals]")).ToHaveCountAsync(0);
        await AssertAccessibleAsync();

        await OpenAsync($"/projects/curves/training/{regression.Id}");
        var report = (await admin.GetTrainingJobAsync("curves", regression.Id)).Report!.Value.GetProperty("residuals");
        var mean = report.GetProperty("mean").GetDouble().ToString("G3", CultureInfo.InvariantCulture);
        await Expect(Page.Locator("[data-chart=residuals]")).ToContainTextAsync($"mean {mean}");
        await Expect(Page.Locator("[data-chart=residuals] svg").First).ToBeVisibleAsync();
        await Expect(Page.Locator("[data-chart=roc]")).ToHaveCountAsync(0);
        await AssertAccessibleAsync();
        await ScreenshotAsync("residuals");
        AssertNoBrowserErrors();
    }
}
