using Blazor.Diagrams.Core.Geometry;
using Blazor.Diagrams.Core.Models;
using Gureum.Client;

namespace Gureum.WebConsole.Components.Shared;

/// <summary>A lineage node on the diagram: what the API said of it and the console page it links to.</summary>
public sealed class LineageNodeModel(LineageNode node, string? href, Point position) : NodeModel(position)
{
    // The widget is drawn at exactly this size, so the links meet its border without a measurement round trip.
    public const int Width = 160;
    public const int Height = 56;

    public LineageNode Node { get; } = node;
    public string? Href { get; } = href;

    public string KindLabel => Node.Kind switch
    {
        "datasetVersion" => "dataset version",
        "trainingJob" => "training job",
        "modelVersion" => "model version",
        var kind => kind,
    };
}
