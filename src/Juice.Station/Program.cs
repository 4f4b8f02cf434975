using Juice.Station;
using Juice.Station.Api;

// "Restart" in the web interface stops the host; it is built again from the configuration and the database
do
{
    await using var app = StationApp.Build(args);
    await app.RunAsync();
}
while (StationRestart.Consume());
