using System.Buffers;
using System.Collections.Concurrent;
using System.Data.Common;
using System.Text;
using System.Threading.Channels;
using Gureum.Server.Features.Serving;
using Gureum.Server.Infrastructure.Db;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Gureum.Server.Features.Monitoring;

/// <summary>
/// Streams the sampled requests of a window from the database, newest first, and counts them: one reader fills batches
/// of raw JSON bytes while the batches before it are parsed in parallel (<see cref="DriftSampleParser"/>, one per
/// worker) and then added to the counts in order, so the result is the same whatever the timing. Memory stays at a
/// few batches whatever the window holds. Reading stops at the first sample once <c>maxRows</c> records are counted.
/// </summary>
internal static class DriftScan
{
    private const int BatchBytes = 2 << 20;
    private const int BatchSamples = 256;

    public static async Task<DriftCounts> CountAsync(GureumDb db, IQueryable<PredictionSample> newestFirst, DriftLayout layout, string model, int version,
        long maxRows, int workers, CancellationToken ct)
    {
        var channel = Channel.CreateBounded<List<DriftSample>>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        var state = new ScanState();
        var consumer = Task.Run(() => ConsumeAsync(channel, layout, maxRows, workers, state, ct), ct);
        try
        {
            await ProduceAsync(db, newestFirst, channel.Writer, model, version, state, ct);
        }
        catch (ChannelClosedException)
        {
            // The consumer failed; its exception is the one to report, below.
        }
        catch
        {
            channel.Writer.TryComplete();
            try
            {
                await consumer;
            }
            catch (Exception)
            {
                // The producer's failure is the cause.
            }
            throw;
        }
        channel.Writer.TryComplete();
        return await consumer;
    }

    private sealed class ScanState
    {
        public volatile bool Full;
    }

    private static async Task ProduceAsync(GureumDb db, IQueryable<PredictionSample> newestFirst, ChannelWriter<List<DriftSample>> writer, string model, int version,
        ScanState state, CancellationToken ct)
    {
        // The command EF would run (its filters and value conversions), read by hand: as UTF-8 bytes where the
        // provider gives them (SQLite stores text as UTF-8), without materializing a string per sample.
        await using var command = newestFirst.Select(s => new { s.Input, s.Output, s.Model, s.Version }).CreateDbCommand();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            var bytes = reader is SqliteDataReader;
            var batch = new List<DriftSample>(BatchSamples);
            long batchBytes = 0;
            while (!state.Full && await reader.ReadAsync(ct))
            {
                var sample = new DriftSample();
                (sample.Input, sample.InputLength, sample.InputRented) = Read(reader, 0, bytes);
                if (reader.GetString(2) == model && reader.GetInt32(3) == version)
                {
                    (sample.Output, sample.OutputLength, sample.OutputRented) = Read(reader, 1, bytes);
                }
                batch.Add(sample);
                batchBytes += sample.InputLength + sample.OutputLength;
                if (batch.Count >= BatchSamples || batchBytes >= BatchBytes)
                {
                    await writer.WriteAsync(batch, ct);
                    batch = new List<DriftSample>(BatchSamples);
                    batchBytes = 0;
                }
            }
            if (batch.Count > 0) await writer.WriteAsync(batch, ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static (byte[] Buffer, int Length, bool Rented) Read(DbDataReader reader, int ordinal, bool bytes)
    {
        if (reader.IsDBNull(ordinal)) return ([], 0, false);
        if (bytes)
        {
            var value = reader.GetFieldValue<byte[]>(ordinal);
            return (value, value.Length, false);
        }
        var text = reader.GetString(ordinal);
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        return (buffer, Encoding.UTF8.GetBytes(text, buffer), true);
    }

    private static async Task<DriftCounts> ConsumeAsync(Channel<List<DriftSample>> channel, DriftLayout layout, long maxRows, int workers, ScanState state,
        CancellationToken ct)
    {
        try
        {
            return await ConsumeAsync(channel.Reader, layout, maxRows, workers, state, ct);
        }
        catch (Exception e)
        {
            // Unblocks the producer, which would otherwise wait for room in the channel forever.
            channel.Writer.TryComplete(e);
            throw;
        }
    }

    private static async Task<DriftCounts> ConsumeAsync(ChannelReader<List<DriftSample>> reader, DriftLayout layout, long maxRows, int workers, ScanState state,
        CancellationToken ct)
    {
        var counts = new DriftCounts(layout);
        var parsers = new ConcurrentBag<DriftSampleParser>();
        var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = ct };
        await foreach (var batch in reader.ReadAllAsync(ct))
        {
            try
            {
                if (state.Full) continue;
                Parallel.For(0, batch.Count, options,
                    () => parsers.TryTake(out var parser) ? parser : new DriftSampleParser(layout),
                    (i, _, parser) =>
                    {
                        parser.Parse(batch[i]);
                        return parser;
                    },
                    parsers.Add);
                foreach (var sample in batch)
                {
                    if (counts.Rows >= maxRows)
                    {
                        state.Full = true;
                        break;
                    }
                    counts.Add(sample);
                }
            }
            finally
            {
                foreach (var sample in batch) sample.Release();
            }
        }
        return counts;
    }
}
