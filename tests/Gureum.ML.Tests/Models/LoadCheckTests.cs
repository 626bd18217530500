using System.Diagnostics;
using Gureum.ML.Models;
using static Gureum.ML.Tests.Models.Onnx;

namespace Gureum.ML.Tests.Models;

/// <summary>
/// The whole validation, with the real child process: Gureum.Server.dll from this test's output folder, started as the
/// server starts it (<see cref="ModelCheckLauncher.ForAssembly"/>).
/// </summary>
public class LoadCheckTests
{
    private static readonly ModelFileLimits Limits = new();

    private static Task<ModelFileSignature> Validate(string path, ModelFormat format, ModelFileLimits? limits = null, ModelCheckLauncher? launcher = null) =>
        ModelFiles.ValidateAsync(path, format, limits ?? Limits, launcher ?? ModelTestFiles.Launcher, TestContext.Current.CancellationToken);

    private static async Task<ModelFileException> Refused(string path, ModelFormat format, string code, ModelFileLimits? limits = null, ModelCheckLauncher? launcher = null)
    {
        var e = await Assert.ThrowsAsync<ModelFileException>(() => Validate(path, format, limits, launcher));
        Assert.Equal(code, e.Code);
        Assert.DoesNotContain(Path.GetDirectoryName(path)!, e.Message);
        return e;
    }

    [Theory]
    [InlineData("linear.onnx", "x", "float32", new long[] { -1, 4 }, "y", new long[] { -1, 2 })]
    [InlineData("mlp.onnx", "features", "float32", new long[] { -1, 32 }, "probabilities", new long[] { -1, 10 })]
    [InlineData("text_encoder.onnx", "input_ids", "int64", new long[] { -1, 64 }, "embedding", new long[] { -1, 128 })]
    [InlineData("mobilenet_v3_small.onnx", "image", "float32", new long[] { -1, 3, 224, 224 }, "logits", new long[] { -1, 1000 })]
    public async Task ModelFiles_SharedOnnx_SignatureMatchesReference(string file, string input, string type, long[] inShape, string output, long[] outShape)
    {
        var signature = await Validate(ModelTestFiles.Shared(file), ModelFormat.Onnx);
        Assert.Equal([new ModelField(input, type, inShape)], signature.Inputs, SameField);
        Assert.Equal([new ModelField(output, "float32", outShape)], signature.Outputs, SameField);
        Assert.Equal("8", signature.Metadata["onnx.ir_version"]);
        // The reference input has the shape the signature promises (dynamic batch).
        using var reference = System.Text.Json.JsonDocument.Parse(File.ReadAllText(ModelTestFiles.Shared(Path.ChangeExtension(file, ".reference.json"))));
        Assert.Equal(inShape[1..], reference.RootElement.GetProperty("input_shape").EnumerateArray().Skip(1).Select(d => d.GetInt64()));
        Assert.Equal(outShape[1..], reference.RootElement.GetProperty("output_shape").EnumerateArray().Skip(1).Select(d => d.GetInt64()));
    }

    private static readonly IEqualityComparer<ModelField> SameField = EqualityComparer<ModelField>.Create(
        (a, b) => a!.Name == b!.Name && a.Type == b.Type && (a.Shape ?? []).SequenceEqual(b.Shape ?? []) && (a.Shape is null) == (b.Shape is null),
        f => f.Name.GetHashCode(StringComparison.Ordinal));

    [Fact]
    public async Task ModelFiles_MlNetZip_SignatureFromItsSchema()
    {
        using var files = new ModelTestFiles();
        var signature = await Validate(files.Write("m.zip", MlNetModels.Plain), ModelFormat.MlNet);
        Assert.Equal(ModelFormat.MlNet, signature.Format);
        Assert.Equal(
            [new("A", "Single", null), new("V", "Vector<Single,3>", [3]), new("Tag", "String", null), new ModelField("Label", "Single", null)],
            signature.Inputs, SameField);
        Assert.Equal([new("Features", "Vector<Single,4>", [4]), new ModelField("Score", "Single", null)], signature.Outputs, SameField);
        Assert.Equal("mlnet", signature.Metadata["gureum.kind"]);
    }

    [Fact]
    public async Task ModelFiles_AutoMlZip_SignatureFromItsManifest()
    {
        using var files = new ModelTestFiles();
        var signature = await Validate(files.Write("m.zip", await MlNetModels.AutoMl), ModelFormat.MlNet);
        Assert.Equal(["sepal_length", "sepal_width", "petal_length", "petal_width"], signature.Inputs.Select(i => i.Name));
        Assert.All(signature.Inputs, i => Assert.Equal("float", i.Type));
        Assert.Equal([new("label", "string", null), new ModelField("probabilities", "map<string,float>", null)], signature.Outputs, SameField);
        Assert.Equal(("automl", "multiclass", "lightGbm"), (signature.Metadata["gureum.kind"], signature.Metadata["gureum.task"], signature.Metadata["gureum.trainer"]));
    }

    [Fact]
    public async Task ModelFiles_OnnxExternalDataInFolder_LoadsInChild()
    {
        using var files = new ModelTestFiles();
        files.Write("w.bin", [.. new float[] { 1, 2, 3, 4 }.SelectMany(BitConverter.GetBytes)]);
        var signature = await Validate(files.Write("m.onnx", AddModel(External("w", [1, 4], "w.bin"))), ModelFormat.Onnx);
        Assert.Equal([new ModelField("x", "float32", [-1, 4])], signature.Inputs, SameField);
    }

    [Fact]
    public async Task ModelFiles_OnnxExternalDataOutsideFolder_IsRejectedBeforeAnySession()
    {
        using var files = new ModelTestFiles();
        var started = Path.Combine(files.Dir.FullName, "started");
        var spy = new ModelCheckLauncher("/bin/sh", ["-c", $"touch '{started}'", "sh"]);
        var path = files.Write("model/m.onnx", AddModel(External("w", [1, 4], "../../../../../../etc/passwd")));
        await Refused(path, ModelFormat.Onnx, ModelFileException.Invalid, launcher: spy);
        Assert.False(File.Exists(started), "the load check was started for a model the static check must refuse");
    }

    [Fact]
    public async Task ModelFiles_ChildProcess_RunsTheStaticChecksItself()
    {
        // Straight to the child, as if the parent's check had been skipped: it must refuse before creating a session.
        using var files = new ModelTestFiles();
        var path = files.Write("m.onnx", AddModel(External("w", [1, 4], "/etc/passwd")));
        var e = await Assert.ThrowsAsync<ModelFileException>(() => ModelTestFiles.Launcher.RunAsync(ModelFormat.Onnx, path, Limits, TestContext.Current.CancellationToken));
        Assert.Equal(ModelFileException.Invalid, e.Code);
        Assert.Contains("absolute external data location", e.Message);
    }

    [Fact]
    public async Task ModelFiles_OnnxTooLarge_IsRejected()
    {
        var e = await Refused(ModelTestFiles.Shared("linear.onnx"), ModelFormat.Onnx, ModelFileException.TooLarge, Limits with { MaxBytes = 100 });
        Assert.Contains("at most 100", e.Message);
    }

    /// <summary>
    /// A genuinely hostile model: 12 bytes of weights, but ONNX Runtime's constant folding multiplies 2000×2000 matrices 80
    /// times while creating the session (about 20 s of CPU here). The limit must stop it, not the model.
    /// </summary>
    [Fact]
    public async Task ModelFiles_SlowOnnxLoad_IsKilledAtTheTimeLimit()
    {
        using var files = new ModelTestFiles();
        const int n = 2000, chain = 80;
        var nodes = new List<Proto> { Node("ConstantOfShape", ["shape"], ["c0"], TensorAttribute("value", Floats("v", [1], 1f))) };
        for (var i = 0; i < chain; i++) nodes.Add(Node("MatMul", [$"c{i}", $"c{i}"], [$"c{i + 1}"]));
        nodes.Add(Node("Add", ["x", $"c{chain}"], ["y"]));
        var path = files.Write("slow.onnx", Model(Graph("slow", nodes, [Value("x", Float, n, n)], [Value("y", Float, n, n)], [Int64s("shape", n, n)])));
        var clock = Stopwatch.StartNew();
        var e = await Refused(path, ModelFormat.Onnx, ModelFileException.LoadFailed, Limits with { LoadTimeout = TimeSpan.FromSeconds(3) });
        Assert.Contains("longer than the 3 s limit", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task ModelFiles_HangingLoadCheck_ProcessTreeIsKilled()
    {
        using var files = new ModelTestFiles();
        var pidFile = Path.Combine(files.Dir.FullName, "grandchild.pid");
        var hang = new ModelCheckLauncher("/bin/sh", ["-c", $"sleep 300 & echo $! > '{pidFile}'; wait", "sh"]);
        var clock = Stopwatch.StartNew();
        var e = await Refused(ModelTestFiles.Shared("linear.onnx"), ModelFormat.Onnx, ModelFileException.LoadFailed,
            Limits with { LoadTimeout = TimeSpan.FromSeconds(1) }, hang);
        Assert.Contains("longer than the 1 s limit", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        var stat = $"/proc/{File.ReadAllText(pidFile).Trim()}/stat";
        // SIGKILL is delivered asynchronously: wait until the grandchild is gone or a zombie waiting for a reaper.
        string? state = null;
        for (var wait = Stopwatch.StartNew(); wait.Elapsed < TimeSpan.FromSeconds(5); await Task.Delay(50))
        {
            state = File.Exists(stat) ? File.ReadAllText(stat).Split(") ")[1][..1] : null;
            if (state is null or "Z") break;
        }
        Assert.True(state is null or "Z", $"the grandchild 'sleep' survived (state {state})");
    }

    [Theory]
    [InlineData("echo 'not json'", "gave no answer")]
    [InlineData("echo '{\"signature\":null}'", "gave no answer")]
    [InlineData("kill -9 $$", "crashed (exit code 137)")]
    [InlineData("exit 3", "crashed (exit code 3)")]
    public async Task ModelFiles_LoadCheckCrashOrGarbage_IsLoadFailed(string script, string expected)
    {
        var e = await Refused(ModelTestFiles.Shared("linear.onnx"), ModelFormat.Onnx, ModelFileException.LoadFailed,
            launcher: new ModelCheckLauncher("/bin/sh", ["-c", script, "sh"]));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task ModelFiles_LoadCheckEnvironment_HasNoServerSecrets()
    {
        Environment.SetEnvironmentVariable("GUREUM_TEST_SECRET", "hunter2");
        try
        {
            var echo = new ModelCheckLauncher("/bin/sh", ["-c", "echo \"{\\\"error\\\":{\\\"code\\\":\\\"invalid-model\\\",\\\"message\\\":\\\"[$GUREUM_TEST_SECRET][$DOTNET_GCHeapHardLimit]\\\"}}\"", "sh"]);
            var e = await Refused(ModelTestFiles.Shared("linear.onnx"), ModelFormat.Onnx, ModelFileException.Invalid, launcher: echo);
            Assert.Equal("[][0x80000000]", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("GUREUM_TEST_SECRET", null);
        }
    }

    /// <summary>64 MiB of weights do not fit a 128 MiB load check (the runtime itself needs some), and fit the default.</summary>
    [Fact]
    public async Task ModelFiles_OnnxNeedingMoreThanTheMemoryLimit_FailsToLoad()
    {
        using var files = new ModelTestFiles();
        const int n = 16 << 20;
        var path = files.Write("big.onnx", Model(Graph("big", [Node("Add", ["x", "w"], ["y"])],
            [Value("x", Float, "batch", n)], [Value("y", Float, "batch", n)], [Tensor("w", Float, [1, n], new byte[n * 4])])));
        var e = await Refused(path, ModelFormat.Onnx, ModelFileException.LoadFailed, Limits with { LoadMemoryBytes = 128 << 20 });
        Assert.Contains("bad_alloc", e.Message);
        Assert.Equal([-1, n], (await Validate(path, ModelFormat.Onnx)).Inputs.Single().Shape);
    }

    [Fact]
    public async Task ModelFiles_MlNetZipThatDoesNotLoad_IsRefused()
    {
        using var files = new ModelTestFiles();
        var e = await Assert.ThrowsAsync<ModelFileException>(() => Validate(files.Write("m.zip", MlNetModels.Zip(MlNetModels.LooksLikeMlNet)), ModelFormat.MlNet));
        Assert.Contains(e.Code, new[] { ModelFileException.Invalid, ModelFileException.LoadFailed });
    }

    [Fact]
    public async Task ModelFiles_AutoMlZipWithBadManifest_IsInvalid()
    {
        using var files = new ModelTestFiles();
        var zip = MlNetModels.Zip([("manifest.json", "{\"formatVersion\": 99}"u8.ToArray()), ("model-0.zip", MlNetModels.Plain)]);
        var e = await Refused(files.Write("m.zip", zip), ModelFormat.MlNet, ModelFileException.Invalid);
        Assert.Contains("format version 99", e.Message);
    }
}
