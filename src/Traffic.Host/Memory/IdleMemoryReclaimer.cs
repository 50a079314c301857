using System.Runtime;

namespace Traffic.Host.Memory;

/// <summary>
/// Gives memory back once a burst is over. The GC only runs when the process allocates, so the
/// garbage a connection storm leaves in gen 2 (and Kestrel's evicted pool blocks) stays committed
/// while the service is quiet. Every 10 s: if the process allocated little since the last look
/// (quiet: under 1.6 MB/s) and the GC's committed memory grew by 32 MB or more since the last
/// reclaim, run one aggressive full collection, which also decommits the freed memory. Under load
/// it never runs. Not sooner: looking every 2 s gave back ~1 KB per idle connection earlier, but its
/// blocking collection then fell among a lightly loaded service's deliveries (p99 at 1 000 clients x
/// 10 msg/s 28-58 ms instead of 22-24; bench/results/20261130-hot-path/).
/// </summary>
public sealed class IdleMemoryReclaimer(ILogger<IdleMemoryReclaimer> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(10);
    private const long QuietAllocationBytes = 16L << 20;   // allocated per 10 s below this: quiet
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
