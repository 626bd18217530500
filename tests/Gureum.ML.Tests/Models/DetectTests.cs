using Gureum.ML.Models;

namespace Gureum.ML.Tests.Models;

/// <summary>Only ONNX and ML.NET zips get in; formats that run code on load are refused by bytes and by name.</summary>
public class DetectTests
{
    private static ModelFileException Unsupported(byte[] bytes, string? fileName)
    {
        using var files = new ModelTestFiles();
        var e = Assert.Throws<ModelFileException>(() => ModelFiles.Detect(files.Write("upload", bytes), fileName));
        Assert.Equal(ModelFileException.Unsupported, e.Code);
        Assert.Equal("file", e.Field);
        return e;
    }

    [Theory]
    [InlineData("linear.onnx")]
    [InlineData("mlp.onnx")]
    [InlineData("text_encoder.onnx")]
    [InlineData("mobilenet_v3_small.onnx")]
    public void ModelFiles_SharedOnnx_IsDetectedAsOnnx(string file)
    {
        Assert.Equal(ModelFormat.Onnx, ModelFiles.Detect(ModelTestFiles.Shared(file), file));
        // The name is only a hint: the bytes decide.
        Assert.Equal(ModelFormat.Onnx, ModelFiles.Detect(ModelTestFiles.Shared(file), "model.zip"));
    }

    [Fact]
    public async Task ModelFiles_MlNetZips_AreDetectedAsMlNet()
    {
        using var files = new ModelTestFiles();
        Assert.Equal(ModelFormat.MlNet, ModelFiles.Detect(files.Write("a.zip", MlNetModels.Plain), "model.zip"));
        Assert.Equal(ModelFormat.MlNet, ModelFiles.Detect(files.Write("b.zip", await MlNetModels.AutoMl), null));
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0x02, 0x7D, 0x71, 0x00, 0x2E }, null)]
    [InlineData(new byte[] { 0x80, 0x04, 0x95, 0x05, 0x00, 0x00 }, "model.onnx")]
    [InlineData(new byte[] { 0x80, 0x05, 0x95, 0x05, 0x00, 0x00 }, "model.bin")]
    public void ModelFiles_PickleAndTorch_AreUnsupported(byte[] bytes, string? name)
    {
        Assert.Contains("unsupported model format", Unsupported(bytes, name).Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("linear.pt", null)]
    [InlineData("linear.pt", "linear.zip")]
    [InlineData("mlp.pt", "mlp.pt")]
    public void ModelFiles_TorchArchive_IsUnsupported(string file, string? name)
    {
        Assert.Contains("PyTorch", Unsupported(File.ReadAllBytes(ModelTestFiles.Shared(file)), name).Message);
    }

    [Fact]
    public void ModelFiles_TorchArchiveWithTopLevelPickle_IsUnsupported()
    {
        Assert.Contains("PyTorch", Unsupported(MlNetModels.Zip([("data.pkl", new byte[] { 0x80, 0x02, 0x2E }), ("version", "3"u8.ToArray())]), null).Message);
    }

    [Theory]
    [InlineData("model.pt")]
    [InlineData("model.pth")]
    [InlineData("model.pkl")]
    [InlineData("model.joblib")]
    [InlineData("model.h5")]
    [InlineData("model.keras")]
    [InlineData("model.safetensors")]
    [InlineData("MODEL.PT")]
    public void ModelFiles_CodeExecutingExtensions_AreUnsupportedWhateverTheBytes(string name)
    {
        // Real ONNX bytes: the name alone refuses them.
        Assert.Contains("Unsupported", Unsupported(File.ReadAllBytes(ModelTestFiles.Shared("linear.onnx")), name).Message);
    }

    [Fact]
    public void ModelFiles_Hdf5_IsUnsupported()
    {
        Assert.Contains("HDF5", Unsupported([0x89, .. "HDF\r\n\x1a\n"u8, 0, 0, 0, 0], "weights.bin.onnx").Message);
    }

    [Fact]
    public void ModelFiles_Safetensors_IsUnsupported()
    {
        var header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8.ToArray();
        Assert.Contains("safetensors", Unsupported([.. BitConverter.GetBytes((ulong)header.Length), .. header, 0, 0, 0, 0], null).Message);
    }

    [Fact]
    public void ModelFiles_KerasArchive_IsUnsupported()
    {
        var keras = MlNetModels.Zip([("config.json", "{}"u8.ToArray()), ("model.weights.h5", new byte[8])]);
        Assert.Contains("Keras", Unsupported(keras, "model.zip").Message);
    }

    [Theory]
    [InlineData(new byte[0], null)]
    [InlineData(new byte[] { 0x78, 0x9C, 0x01, 0x02 }, "model.joblib.gz")]
    [InlineData(new byte[] { (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o' }, "model.onnx")]
    public void ModelFiles_UnknownBytes_AreUnsupported(byte[] bytes, string? name)
    {
        Unsupported(bytes, name);
    }

    [Fact]
    public void ModelFiles_ZipThatIsNotAModel_IsUnsupported()
    {
        Assert.Contains("not an ML.NET model", Unsupported(MlNetModels.Zip([("readme.txt", "hi"u8.ToArray())]), "model.zip").Message);
    }
}
