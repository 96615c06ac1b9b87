// packsim link IFACE [--bitrate N] [--restart-ms N] [--txqueuelen N]: set up a real CAN interface
// through libsocketcan (needs root/CAP_NET_ADMIN), or show its state and error counters.
#include <cstdio>

#include "commands.hpp"
#include "packsim/hil/link_control.hpp"

namespace packsim::cli {
namespace {

struct LinkArgs {
  std::string interface;
  std::uint32_t bitrate = 0;
  std::uint32_t sample_point = 0;
  std::int64_t restart_ms = -1;
  int txqueuelen = 0;
};

int link(const LinkArgs& a) {
  hil::LinkConfig c;
  c.interface = a.interface;
  if (a.bitrate) c.bitrate = a.bitrate;
  if (a.sample_point) c.sample_point = a.sample_point;
  if (a.restart_ms >= 0) c.restart_ms = static_cast<std::uint32_t>(a.restart_ms);
  if (a.txqueuelen > 0) c.txqueuelen = a.txqueuelen;
  if (c.bitrate || c.restart_ms || c.txqueuelen) {
    const auto r = hil::configure_link(c);
    if (!r.ok) {
      std::fprintf(stderr, "%s\n", r.message.c_str());
      return kExitRuntime;
    }
    std::printf("%s\n", r.message.c_str());
  }
  hil::LinkStatus s;
  const auto r = hil::read_link_status(a.interface, s);
  if (!r.ok) {
    std::fprintf(stderr, "%s\n", r.message.c_str());
    return kExitBadInput;
  }
  std::printf("%s: state %s", a.interface.c_str(), s.state.c_str());
  if (s.bitrate) std::printf(", %u bit/s", s.bitrate);
  if (s.has_counters) std::printf(", tx errors %u, rx errors %u", s.tx_errors, s.rx_errors);
  std::printf("\n");
  return kExitOk;
}

}  // namespace

void add_link_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<LinkArgs>();
  CLI::App* sub = app.add_subcommand(
      "link", "Configure a real CAN interface (bitrate, restart-ms, txqueuelen) or show its state");
  sub->add_option("interface", args->interface, "CAN interface, e.g. can0")->required();
  sub->add_option("--bitrate", args->bitrate,
                  "Bit rate in bit/s (stops and restarts the interface)");
  sub->add_option("--sample-point", args->sample_point, "Sample point in per mille, e.g. 875");
  sub->add_option("--restart-ms", args->restart_ms, "Automatic restart after bus-off, ms (0: off)");
  sub->add_option("--txqueuelen", args->txqueuelen,
                  "Transmit queue length in frames (default 10 drops bursts)");
  sub->callback([args, &ctx]() { ctx.exit_code = link(*args); });
}

}  // namespace packsim::cli
