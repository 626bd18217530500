using Gureum.ML.Training;
using Gureum.Server.Infrastructure.Artifacts;
using Microsoft.Extensions.Caching.Memory;

namespace Gureum.Server.Features.Training;

/// <summary>Trained models loaded once and kept while they are used (by blob digest, so a model is immutable here).</summary>
public sealed class TrainedModelCache(IArtifactStore artifacts, IMemoryCache cache)
{
    private static readonly TimeSpan KeepFor = TimeSpan.FromMinutes(10);

    public async Task<TrainedModel> GetAsync(string sha256, CancellationToken ct)
    {
        var loaded = await cache.GetOrCreateAsync("model:" + sha256, async entry =>
        {
            entry.SlidingExpiration = KeepFor;
            var buffer = new MemoryStream();
            await using (var blob = artifacts.OpenRead(sha256))
            {
                await blob.CopyToAsync(buffer, ct);
            }
            buffer.Position = 0;
            return TrainedModel.Load(buffer);
        });
        return loaded!;
    }
}
