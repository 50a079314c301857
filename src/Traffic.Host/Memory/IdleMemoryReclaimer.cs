using System.Runtime;

namespace Traffic.Host.Memory;

/// <summary>
/// Gives memory back once a burst is over. The GC only runs when the process allocates, so the
/// garbage a connection storm leaves in gen 2 (and Kestrel's evicted pool blocks) stays committed
/// while the service is quiet. Every 2 s: if the process allocated little since the last look
/// (quiet: under 0.8 MB/s) and the GC's committed memory grew by 32 MB or more since the last
/// reclaim, run one aggressive full collection, which also decommits the freed memory. Under load
/// it never runs. Every 2 s rather than 10 s so that what `ps` shows a few seconds after a burst of
/// connections is what they keep (measured: 10 000 idle connections, bench/results/ of issue 12).
/// </summary>
public sealed class IdleMemoryReclaimer(ILogger<IdleMemoryReclaimer> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(2);
    private const long QuietAllocationBytes = 1600L << 10;  // allocated per 2 s below this: quiet
    private const long GrowthBytes = 32L << 20;            // committed growth that is worth a full GC

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var baseline = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var allocated = GC.GetTotalAllocatedBytes();
        using var timer = new PeriodicTimer(Every);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var nowAllocated = GC.GetTotalAllocatedBytes();
            var quiet = nowAllocated - allocated < QuietAllocationBytes;
            allocated = nowAllocated;
            var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
            if (!quiet || committed - baseline < GrowthBytes) continue;
            var started = Environment.TickCount64;
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            baseline = GC.GetGCMemoryInfo().TotalCommittedBytes;
            logger.LogInformation("Quiet after growth: full GC gave back memory in {Ms} ms; GC committed {Before} -> {After} MB",
                Environment.TickCount64 - started, committed >> 20, baseline >> 20);
        }
    }
}
