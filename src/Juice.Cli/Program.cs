using System.CommandLine;
using Juice.Cli.Backend;
using Juice.Cli.Certs;
using Juice.Cli.Ev;
using Juice.Cli.Exi;
using Juice.Cli.Secc;
using Juice.Cli.Slac;

var root = new RootCommand("juice: ISO 15118 / DIN 70121 tools of Juice.Hlc");
root.Subcommands.Add(ExiCommand.Create());
root.Subcommands.Add(EvCommand.Create());
root.Subcommands.Add(SeccCommand.Create());
root.Subcommands.Add(CertsCommand.Create());
root.Subcommands.Add(BackendCommand.Create());
root.Subcommands.Add(SlacCommand.Create());
root.Subcommands.Add(SlacCommand.CreatePlcSim());
root.Subcommands.Add(Juice.Cli.Pcap.PcapCommand.Create());
root.Subcommands.Add(Juice.Cli.Replay.ReplayCommand.Create());
return root.Parse(args).Invoke();
