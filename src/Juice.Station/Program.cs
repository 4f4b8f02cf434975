using Juice.Station;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddStation();
await builder.Build().RunAsync();
