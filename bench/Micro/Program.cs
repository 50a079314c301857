using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Micro -- --filter '*'   (BenchmarkDotNet's own arguments)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
