using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Micro -- --filter '*'   (BenchmarkDotNet's own arguments)
// dotnet run -c Release --project bench/Micro -- send-allocations   (bytes allocated per delivery, no BenchmarkDotNet)
if (args is ["send-allocations"]) Bench.Micro.SendPathAllocations.Run();
else BenchmarkSwitcher.FromAssembly(typeof(Bench.Micro.Payloads).Assembly).Run(args);
