using Gureum.ML.Models;

namespace Gureum.ML.Tests.Models;

/// <summary>What a user declares for a model version against what the file has.</summary>
public class SignatureMismatchTests
{
    private static ModelFileSignature Onnx(ModelField[] inputs, params ModelField[] outputs) =>
        new(ModelFormat.Onnx, inputs, outputs, new Dictionary<string, string>());

    private static readonly ModelFileSignature Linear = Onnx([new("x", "float32", [-1, 4])], new ModelField("y", "float32", [-1, 2]));

    [Fact]
    public void FindMismatch_SameSignature_IsNull()
    {
        Assert.Null(ModelFiles.FindMismatch(Linear, Linear));
        Assert.Null(ModelFiles.FindMismatch(Onnx([new("x", "FLOAT32", [-1, 4])], new ModelField("y", "float32", [-1, 2])), Linear));
    }

    [Fact]
    public void FindMismatch_DifferentDimension_NamesTheField()
    {
        var actual = Onnx([new("x", "float32", [-1, 5])], new ModelField("y", "float32", [-1, 2]));
        Assert.Equal("inputs[0] 'x': declared float32 [-1,4], the model has float32 [-1,5]", ModelFiles.FindMismatch(Linear, actual));
    }

    [Theory]
    [InlineData(new long[] { 8, 4 }, null)]
    [InlineData(new long[] { -1, 4 }, null)]
    [InlineData(new long[] { 8, 5 }, "inputs[0] 'x': declared float32 [8,5], the model has float32 [-1,4]")]
    [InlineData(new long[] { 4 }, "inputs[0] 'x': declared float32 [4], the model has float32 [-1,4]")]
    public void FindMismatch_FixedDimensionAgainstDynamic_IsCompatible(long[] declared, string? expected)
    {
        Assert.Equal(expected, ModelFiles.FindMismatch(Onnx([new("x", "float32", declared)], new ModelField("y", "float32", [-1, 2])), Linear));
    }

    [Fact]
    public void FindMismatch_DynamicDeclaredAgainstFixed_IsAMismatch()
    {
        var fixedBatch = Onnx([new("x", "float32", [1, 4])], new ModelField("y", "float32", [1, 2]));
        Assert.Equal("inputs[0] 'x': declared float32 [-1,4], the model has float32 [1,4]", ModelFiles.FindMismatch(Linear, fixedBatch));
    }

    [Fact]
    public void FindMismatch_OtherDifferences_AreNamed()
    {
        Assert.Equal("inputs[0] 'x': declared int64 [-1,4], the model has float32 [-1,4]",
            ModelFiles.FindMismatch(Onnx([new("x", "int64", [-1, 4])], new ModelField("y", "float32", [-1, 2])), Linear));
        Assert.Equal("outputs[0] 'z': the model has no output of that name (it has 'y')",
            ModelFiles.FindMismatch(Onnx([new("x", "float32", [-1, 4])], new ModelField("z", "float32", [-1, 2])), Linear));
        Assert.Equal("inputs: the model's input 'x' (float32 [-1,4]) is not declared",
            ModelFiles.FindMismatch(Onnx([], new ModelField("y", "float32", [-1, 2])), Linear));
        Assert.Equal("inputs[1] 'x': declared twice",
            ModelFiles.FindMismatch(Onnx([new("x", "float32", [-1, 4]), new("x", "float32", [-1, 4])], new ModelField("y", "float32", [-1, 2])), Linear));
        Assert.Equal("format: declared mlnet, the file is onnx", ModelFiles.FindMismatch(Linear with { Format = ModelFormat.MlNet }, Linear));
    }

    [Fact]
    public void FindMismatch_UndeclaredShape_IsNotChecked()
    {
        var mlNet = new ModelFileSignature(ModelFormat.MlNet, [new("A", "Single", null), new("V", "Vector<Single,3>", [3])], [new("Score", "Single", null)],
            new Dictionary<string, string>());
        var declared = mlNet with { Inputs = [new("A", "Single", null), new("V", "Vector<Single,3>", null)] };
        Assert.Null(ModelFiles.FindMismatch(declared, mlNet));
        Assert.Equal("inputs[0] 'A': declared String, the model has Single",
            ModelFiles.FindMismatch(declared with { Inputs = [new("A", "String", null), declared.Inputs[1]] }, mlNet));
    }
}
