using Gureum.ML.Models;
using static Gureum.ML.Tests.Models.Onnx;

namespace Gureum.ML.Tests.Models;

/// <summary>Our own ONNX reader: signatures, external data references wherever a tensor can be, malformed files.</summary>
public class OnnxStaticCheckTests
{
    private static readonly ModelFileLimits Limits = new();

    private static ModelFileException Refused(string path)
    {
        var e = Assert.Throws<ModelFileException>(() => ModelFiles.StaticCheck(path, ModelFormat.Onnx, Limits));
        Assert.Equal(ModelFileException.Invalid, e.Code);
        Assert.Equal("file", e.Field);
        return e;
    }

    [Theory]
    [InlineData("linear.onnx", "x", "float32", new long[] { -1, 4 }, "y", new long[] { -1, 2 })]
    [InlineData("mlp.onnx", "features", "float32", new long[] { -1, 32 }, "probabilities", new long[] { -1, 10 })]
    // The export names the embedding's second dimension; ONNX Runtime's shape inference makes it 128 (see the load check tests).
    [InlineData("text_encoder.onnx", "input_ids", "int64", new long[] { -1, 64 }, "embedding", new long[] { -1, -1 })]
    [InlineData("mobilenet_v3_small.onnx", "image", "float32", new long[] { -1, 3, 224, 224 }, "logits", new long[] { -1, 1000 })]
    public void ModelFiles_SharedOnnx_StaticSignatureMatchesReference(string file, string input, string type, long[] inShape, string output, long[] outShape)
    {
        var signature = ModelFiles.StaticCheck(ModelTestFiles.Shared(file), ModelFormat.Onnx, Limits)!;
        Assert.Equal(ModelFormat.Onnx, signature.Format);
        var i = Assert.Single(signature.Inputs);
        Assert.Equal((input, type), (i.Name, i.Type));
        Assert.Equal(inShape, i.Shape);
        var o = Assert.Single(signature.Outputs);
        Assert.Equal((output, "float32"), (o.Name, o.Type));
        Assert.Equal(outShape, o.Shape);
        Assert.Equal("ai.onnx:17", signature.Metadata["onnx.opset_import"]);
        Assert.Equal("pytorch", signature.Metadata["onnx.producer_name"]);
    }

    [Fact]
    public void ModelFiles_InitializerListedAsGraphInput_IsNotAModelInput()
    {
        using var files = new ModelTestFiles();
        var model = Model(Graph("g", [Node("Add", ["x", "w"], ["y"])],
            [Value("x", Float, "n", 4), Value("w", Float, 1, 4)], [Value("y", Float, "n", 4)], [Floats("w", [1, 4], 1, 2, 3, 4)]),
            metadata: ("author", "tests"));
        var signature = ModelFiles.StaticCheck(files.Write("m.onnx", model), ModelFormat.Onnx, Limits)!;
        Assert.Equal(["x"], signature.Inputs.Select(f => f.Name));
        Assert.Equal("tests", signature.Metadata["author"]);
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("sub/../../x")]
    [InlineData("../outside.bin")]
    [InlineData("/etc/passwd")]
    [InlineData("..\\..\\x")]
    [InlineData("C:\\x")]
    [InlineData("C:x")]
    [InlineData("%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("%2e%2e%2fetc%2fpasswd")]
    [InlineData("w.bin\0.txt")]
    [InlineData("./w.bin")]
    [InlineData("a//w.bin")]
    [InlineData("*/_ORT_MEM_ADDR_/*")]
    [InlineData("")]
    public void ModelFiles_OnnxExternalDataOutsideFolder_IsRejected(string location)
    {
        using var files = new ModelTestFiles();
        // A real file at the target, so only the location rule can refuse it.
        File.WriteAllBytes(Path.Combine(files.Dir.Parent!.FullName, "outside.bin"), new byte[16]);
        try
        {
            var e = Refused(files.Write("model/m.onnx", AddModel(External("w", [1, 4], location))));
            Assert.Contains("tensor 'w'", e.Message);
            Assert.DoesNotContain(files.Dir.FullName, e.Message);
        }
        finally
        {
            File.Delete(Path.Combine(files.Dir.Parent!.FullName, "outside.bin"));
        }
    }

    [Fact]
    public void ModelFiles_OnnxExternalDataInFolder_IsAccepted()
    {
        using var files = new ModelTestFiles();
        files.Write("data/w.bin", new byte[16]);
        var path = files.Write("m.onnx", AddModel(External("w", [1, 4], "data/w.bin", length: 16)));
        Assert.Equal(["x"], ModelFiles.StaticCheck(path, ModelFormat.Onnx, Limits)!.Inputs.Select(i => i.Name));
    }

    [Fact]
    public void ModelFiles_OnnxExternalDataMissing_IsInvalid()
    {
        using var files = new ModelTestFiles();
        Assert.Contains("does not exist", Refused(files.Write("m.onnx", AddModel(External("w", [1, 4], "w.bin")))).Message);
    }

    [Fact]
    public void ModelFiles_OnnxExternalDataPastEndOfFile_IsInvalid()
    {
        using var files = new ModelTestFiles();
        files.Write("w.bin", new byte[8]);
        Assert.Contains("past the end", Refused(files.Write("m.onnx", AddModel(External("w", [1, 4], "w.bin", length: 16)))).Message);
    }

    [Fact]
    public void ModelFiles_OnnxExternalDataSymlinkedFile_IsRejected()
    {
        using var files = new ModelTestFiles();
        File.CreateSymbolicLink(Path.Combine(files.Dir.FullName, "w.bin"), "/etc/passwd");
        Assert.Contains("symbolic link", Refused(files.Write("m.onnx", AddModel(External("w", [1, 4], "w.bin")))).Message);
    }

    [Fact]
    public void ModelFiles_OnnxExternalDataSymlinkedDirectory_IsRejected()
    {
        using var files = new ModelTestFiles();
        Directory.CreateSymbolicLink(Path.Combine(files.Dir.FullName, "etc"), "/etc");
        Assert.Contains("symbolic link", Refused(files.Write("m.onnx", AddModel(External("w", [1, 4], "etc/passwd")))).Message);
    }

    [Fact]
    public void ModelFiles_OnnxExternalDataHardLink_IsRejected()
    {
        using var files = new ModelTestFiles();
        var elsewhere = files.Write("secret/token", new byte[16]);
        Directory.CreateDirectory(Path.Combine(files.Dir.FullName, "model"));
        Assert.Equal(0, Link(elsewhere, Path.Combine(files.Dir.FullName, "model", "w.bin")));
        Assert.Contains("hard links", Refused(files.Write("model/m.onnx", AddModel(External("w", [1, 4], "w.bin")))).Message);
    }

    [Fact]
    public void ModelFiles_OnnxExternalDataFifo_IsRejected()
    {
        using var files = new ModelTestFiles();
        Assert.Equal(0, MkFifo(Path.Combine(files.Dir.FullName, "w.bin"), Convert.ToUInt32("600", 8)));
        Assert.Contains("not a regular file", Refused(files.Write("m.onnx", AddModel(External("w", [1, 4], "w.bin")))).Message);
    }

    /// <summary>The same bad reference, hidden in every place a tensor can be: each must be found.</summary>
    public static TheoryData<string> HiddenPlaces => ["subgraph", "nested subgraph", "node attribute", "sparse initializer", "function", "training graph"];

    [Theory]
    [MemberData(nameof(HiddenPlaces))]
    public void ModelFiles_OnnxExternalDataInNestedTensor_IsRejected(string place)
    {
        using var files = new ModelTestFiles();
        var evil = External("evil", [1], "../../etc/passwd");
        var branch = Graph("branch", [Node("Identity", ["evil"], ["out"])], [], [Value("out", Float, 1)], [evil]);
        var main = place switch
        {
            "subgraph" => IfGraph(branch),
            "nested subgraph" => IfGraph(Graph("outer", [Node("If", ["c"], ["out"], GraphAttribute("then_branch", branch), GraphAttribute("else_branch", branch))],
                [], [Value("out", Float, 1)])),
            "node attribute" => Graph("g", [Node("Constant", [], ["y"], TensorAttribute("value", evil))], [], [Value("y", Float, 1)]),
            "sparse initializer" => Graph("g", [Node("Identity", ["x"], ["y"])], [Value("x", Float, 1)], [Value("y", Float, 1)]).Message(15,
                new Proto().Message(1, evil).Message(2, Int64s("idx", 0)).Varint(3, 1)),
            _ => Graph("g", [Node("Identity", ["x"], ["y"])], [Value("x", Float, 1)], [Value("y", Float, 1)]),
        };
        var model = Model(main);
        if (place == "function") model.Message(25, new Proto().String(1, "f").String(10, "custom").Message(7, Node("Constant", [], ["y"], TensorAttribute("value", evil))));
        if (place == "training graph") model.Message(20, new Proto().Message(1, branch));
        var e = Refused(files.Write("m.onnx", model));
        Assert.Contains("tensor 'evil'", e.Message);
    }

    private static Proto IfGraph(Proto branch) => Graph("g",
        [Node("If", ["c"], ["y"], GraphAttribute("then_branch", branch), GraphAttribute("else_branch", branch))],
        [new Proto().String(1, "c").Message(2, new Proto().Message(1, new Proto().Varint(1, 9).Message(2, new Proto())))],
        [Value("y", Float, 1)]);

    [Fact]
    public void ModelFiles_TruncatedOnnx_IsInvalid()
    {
        using var files = new ModelTestFiles();
        var bytes = File.ReadAllBytes(ModelTestFiles.Shared("linear.onnx"));
        // Every proper prefix: each must be refused as invalid, never read past, never another exception.
        for (var length = 1; length < bytes.Length; length++)
        {
            var path = files.Write("cut.onnx", bytes[..length]);
            var e = Assert.Throws<ModelFileException>(() => ModelFiles.StaticCheck(path, ModelFormat.Onnx, Limits));
            Assert.True(e.Code == ModelFileException.Invalid, $"prefix of {length} bytes: {e.Code}");
        }
        Assert.NotNull(ModelFiles.StaticCheck(files.Write("whole.onnx", bytes), ModelFormat.Onnx, Limits));
    }

    [Fact]
    public void ModelFiles_OnnxLengthPastEnd_IsInvalid()
    {
        using var files = new ModelTestFiles();
        // ir_version, then a graph field claiming 1000 bytes with 3 present.
        var e = Refused(files.Write("m.onnx", [0x08, 0x08, 0x3A, 0xE8, 0x07, 0x0A, 0x01, 0x00]));
        Assert.Contains("runs past the end", e.Message);
    }

    [Fact]
    public void ModelFiles_OnnxAbsurdNesting_IsInvalid()
    {
        using var files = new ModelTestFiles();
        var graph = Graph("leaf", [], [], [Value("y", Float, 1)]);
        for (var i = 0; i < 60; i++)
        {
            graph = Graph($"g{i}", [Node("If", ["c"], ["y"], GraphAttribute("then_branch", graph))], [], [Value("y", Float, 1)]);
        }
        Assert.Contains("nesting is deeper", Refused(files.Write("m.onnx", Model(graph))).Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x08, 0x08, 0x0B, 0x00 }, "wire type 3")]
    [InlineData(new byte[] { 0x08, 0x08, 0x38, 0x01 }, "field 'graph' has wire type 0")]
    [InlineData(new byte[] { 0x08, 0x08, 0x12, 0x02, 0xC3, 0x28 }, "not valid UTF-8")]
    [InlineData(new byte[] { 0x08, 0x08, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "longer than 10 bytes")]
    [InlineData(new byte[] { 0x08, 0x08 }, "no graph")]
    [InlineData(new byte[] { 0x08, 0x08, 0x3A, 0x00 }, "opset_import is missing")]
    [InlineData(new byte[] { 0x3A, 0x00 }, "ir_version is missing")]
    public void ModelFiles_MalformedOnnx_IsInvalidNamingTheProblem(byte[] bytes, string expected)
    {
        using var files = new ModelTestFiles();
        Assert.Contains(expected, Refused(files.Write("m.onnx", bytes)).Message);
    }

    [Fact]
    public void ModelFiles_OnnxTwoGraphs_IsInvalid()
    {
        using var files = new ModelTestFiles();
        var model = AddModel(Floats("w", [1, 4], 1, 2, 3, 4)).Message(7, Graph("second", [], [Value("z", Float, 1)], [Value("z", Float, 1)]));
        Assert.Contains("more than one graph", Refused(files.Write("m.onnx", model)).Message);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link")]
    private static extern int Link(string existing, string created);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo")]
    private static extern int MkFifo(string path, uint mode);
}
