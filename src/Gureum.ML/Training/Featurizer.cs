using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Gureum.ML.Training;

/// <summary>
/// The ML.NET half of featurization: categoricals one-hot (or hashed above <see cref="TrainingPlan.OneHotLimit"/>
/// values), text as word and character n-grams, everything concatenated into one <c>Features</c> vector, scaled for
/// the linear trainers. Numbers and dates were prepared by <see cref="FeatureView"/>.
/// </summary>
internal static class Featurizer
{
    public const string Features = "Features";

    /// <summary>The featurized columns in concatenation order, each with the raw input it comes from.</summary>
    public static IReadOnlyList<(string Column, int Input)> Parts(FeatureState state)
    {
        var parts = new List<(string, int)>();
        foreach (var n in state.Numerics)
        {
            parts.Add((n.Name, n.Input));
            if (n.Indicator) parts.Add((n.Name + ".missing", n.Input));
        }
        for (var i = 0; i < state.Inputs.Count; i++)
        {
            if (FeatureTable.IsString(state.Inputs[i])) parts.Add((FeatureView.StringColumn(i) + ".f", i));
        }
        return parts;
    }

    public static IEstimator<ITransformer> Build(MLContext ml, FeatureState state, bool normalize)
    {
        IEstimator<ITransformer> chain = new EstimatorChain<ITransformer>();
        for (var i = 0; i < state.Inputs.Count; i++)
        {
            var input = FeatureView.StringColumn(i);
            var output = input + ".f";
            chain = state.Inputs[i].Encoding switch
            {
                "one-hot" => chain.Append(ml.Transforms.Categorical.OneHotEncoding(output, input)),
                "hashed" => chain.Append(ml.Transforms.Categorical.OneHotHashEncoding(output, input, numberOfBits: 12)),
                "text" => chain.Append(ml.Transforms.Text.FeaturizeText(output, input)),
                _ => chain,
            };
        }
        chain = chain.Append(ml.Transforms.Concatenate(Features, [.. Parts(state).Select(p => p.Column)]));
        if (normalize)
        {
            chain = chain.Append(ml.Transforms.NormalizeMinMax(Features));
        }
        return chain;
    }

    /// <summary>For each slot of the <c>Features</c> vector, the raw input it was made from.</summary>
    public static int[] SlotInputs(FeatureState state, DataViewSchema featurized)
    {
        var slots = new List<int>();
        foreach (var (column, input) in Parts(state))
        {
            var size = featurized[column].Type is VectorDataViewType v ? v.Size : 1;
            slots.AddRange(Enumerable.Repeat(input, size));
        }
        return [.. slots];
    }
}
