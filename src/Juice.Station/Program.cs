using Juice.Station;

await StationApp.Build(args).RunAsync();
