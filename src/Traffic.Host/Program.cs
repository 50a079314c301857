using Traffic.Host;

return await TrafficProgram.RunAsync(args, Console.Error);
