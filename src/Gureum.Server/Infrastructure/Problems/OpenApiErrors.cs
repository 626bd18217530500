namespace Gureum.Server.Infrastructure.Problems;

public static class OpenApiErrors
{
    /// <summary>Declares the problem+json answers every authenticated route can give, plus any route-specific ones.</summary>
    public static TBuilder WithStandardErrors<TBuilder>(this TBuilder builder, params int[] extra) where TBuilder : IEndpointConventionBuilder
    {
        builder.ProducesValidationProblem();
        foreach (var status in new[] { 401, 403, 404 }.Concat(extra))
        {
            builder.ProducesProblem(status);
        }
        return builder;
    }
}
