using Traffic.Host;

TrafficApp.Create(args).Run();
