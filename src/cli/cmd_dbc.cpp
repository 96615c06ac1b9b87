// packsim dbc export|check|decode|encode: a profile's DBC for other tools, DBC validation, and
// decoding candump logs / encoding cansend frames with packsim's own codec, so that a bench
// engineer can read a capture or craft a BMS command with the same semantics the simulator uses.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>

#include "commands.hpp"
#include "packsim/can/candump.hpp"
#include "packsim/can/codec.hpp"
#include "packsim/can/dbc.hpp"
#include "packsim/can/e2e.hpp"
#include "packsim/can/profile.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/sim/json.hpp"

namespace packsim::cli {
namespace {

struct DbcArgs {
  std::string profile = "packsim";
  std::string pack;
};

// The DBC's GenMsgCycleTime says what the DBC's author expected; the profile says how often
// packsim actually sends (and the BMS side is expected to send) each message, which is what a
// tool reading the exported file should see.
void apply_profile_periods(const can::Profile& p, can::Database& db) {
  auto set = [&db](const std::string& name, std::int64_t period_ns) {
    if (period_ns < 1'000'000) return;
    for (auto& m : db.messages) {
      if (m.name == name) m.cycle_time_ms = static_cast<int>(period_ns / 1'000'000);
    }
  };
  for (const auto& tx : p.tx) set(tx.name, tx.period_ns);
  for (const auto& rx : p.rx) set(rx.name, rx.period_ns);
}

// Per-module messages appear once per module of the pack, named <name>_M<m>, so that tools which
// know nothing of packsim's id arithmetic decode every module.
can::Database expand(const can::Profile& p) {
  can::Database db = p.dbc;
  apply_profile_periods(p, db);
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
  // Comments, attributes and value descriptions live inside Message, so each copy carries them.
  std::sort(db.messages.begin(), db.messages.end(),
            [](const can::Message& a, const can::Message& b) { return a.dbc_id() < b.dbc_id(); });
  return db;
}

// The database a decode/encode/export works on: a DBC file as written, or a profile's DBC
// (expanded per module when a pack is given). Problems go to stderr.
std::optional<can::Database> load_database(const std::string& dbc_file, const DbcArgs& a,
                                           std::shared_ptr<const can::Profile>* profile = nullptr) {
  if (!dbc_file.empty()) {
    auto r = can::load_dbc_file(dbc_file);
    if (!r.ok()) {
      std::fputs(r.diagnostics.format().c_str(), stderr);
      return std::nullopt;
    }
    return std::move(r.database);
  }
  Diagnostics diags;
  const auto path = config::resolve_profile(a.profile, std::filesystem::current_path());
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "%s\n",
                 config::profile_not_found(a.profile, std::filesystem::current_path()).c_str());
    return std::nullopt;
  }
  std::optional<config::LoadedPack> pack;
  if (!a.pack.empty()) {
    pack = config::load_pack(a.pack, diags);
    if (!pack) {
      std::fputs(diags.format().c_str(), stderr);
      return std::nullopt;
    }
  }
  // Without a pack, a one-channel layout: the DBC as written, no per-module copies.
  const config::ProfileLayout layout =
      pack ? config::profile_layout(pack->spec, pack->afe, 1'000'000, pack->afe_keys)
           : config::ProfileLayout{1, 1, 1, 1, 1, 1'000'000, {}};
  auto p = config::load_profile(path, layout, diags);
  if (!p) {
    std::fputs(diags.format().c_str(), stderr);
    return std::nullopt;
  }
  if (profile) *profile = p;
  if (pack) return expand(*p);
  can::Database db = p->dbc;
  apply_profile_periods(*p, db);
  return db;
}

int export_dbc(const DbcArgs& a) {
  // Re-emitted from the parsed database, so the output is known to parse.
  const auto db = load_database({}, a);
  if (!db) return kExitBadInput;
  std::fputs(can::to_dbc_text(*db).c_str(), stdout);
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

// ---- decode ---------------------------------------------------------------------------------

struct CodecArgs {
  std::string dbc;                       // a DBC file, or empty to use DbcArgs' profile
  std::vector<std::string> inputs;       // decode: candump logs ("-" = stdin)
  bool json = false;                     // decode: JSON lines
  std::string message;                   // encode: message name or id
  std::vector<std::string> assignments;  // encode: SIGNAL=VALUE
  bool raw = false;                      // encode: values are raw integers
  int counter = -1;                      // encode: E2E alive counter (profile messages), 0..15
};

// One codec per message of `db`, in its order (codecs[i] codes db.messages[i]).
struct Codecs {
  const can::Database* db = nullptr;
  std::vector<can::MessageCodec> codecs;

  // False (reported) when a message cannot be coded.
  bool build(const can::Database& database) {
    db = &database;
    for (const auto& m : database.messages) {
      try {
        codecs.emplace_back(m);
      } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "message %s: %s\n", m.name.c_str(), e.what());
        return false;
      }
    }
    return true;
  }
  std::size_t find(const can::CanFrame& f) const {
    for (std::size_t i = 0; i < codecs.size(); ++i) {
      if (codecs[i].matches(f)) return i;
    }
    return codecs.size();
  }
};

const char* value_text(const can::Signal& s, std::int64_t raw) {
  for (const auto& vd : s.value_descriptions) {
    if (vd.value == raw) return vd.text.c_str();
  }
  return nullptr;
}

// Seconds with the fraction as candump writes it (microseconds), exact, as a JSON number (the
// text output is candump's own line, can::format_candump).
std::string json_time(std::int64_t ns) {
  return fmt::format("{}.{:06}", ns / 1'000'000'000, (ns % 1'000'000'000) / 1000);
}

std::string decode_line(const Codecs& c, const can::CandumpRecord& r, bool json) {
  const can::CanFrame& f = r.frame;
  const std::size_t mi = (f.error || f.rtr) ? c.codecs.size() : c.find(f);
  std::string out;
  if (json) {
    out = "{";
    if (r.has_timestamp) out += fmt::format("\"t\":{},", json_time(r.timestamp_ns));
    if (!r.iface.empty()) out += fmt::format("\"iface\":\"{}\",", sim::json_escape(r.iface));
    out += fmt::format("\"id\":{},\"extended\":{},\"len\":{}", f.id, f.extended, f.len);
    if (f.error) out += ",\"error\":true";
    if (f.rtr) out += ",\"rtr\":true";
  } else {
    char line[can::kCandumpLineMax];
    if (r.has_timestamp) {
      const std::size_t n = can::format_candump(line, r.timestamp_ns, r.iface, f);
      out.assign(line, n - 1);  // without its newline
    } else {
      out.assign(line, can::format_frame(line, f));
    }
    out += " ::";
  }
  if (mi == c.codecs.size()) {
    if (json) {
      out += ",\"message\":null}";
    } else {
      out += f.error ? " error frame" : (f.rtr ? " remote request" : " ?");
    }
    return out;
  }
  const can::MessageCodec& codec = c.codecs[mi];
  const can::Message& msg = c.db->messages[mi];
  const bool short_frame = f.len < codec.size();
  if (json) {
    out += fmt::format(",\"message\":\"{}\"", sim::json_escape(msg.name));
    if (short_frame) out += ",\"short\":true";
    out += ",\"signals\":{";
  } else {
    out += fmt::format(" {}(", msg.name);
    if (short_frame) out += fmt::format("short frame: {} of {} bytes; ", f.len, codec.size());
  }
  bool first = true;
  for (std::size_t k = 0; k < codec.signal_count(); ++k) {
    const can::DecodeResult d = codec.decode(k, f);
    if (d.status != can::DecodeStatus::kOk) continue;
    const can::Signal& sig = msg.signals[k];
    const bool integer = sig.value_type == can::ValueType::kInteger;
    const std::int64_t raw_signed = codec.get_raw_signed(k, f.data.data());
    const std::uint64_t raw_unsigned = codec.get_raw(k, f.data.data());
    const char* text = integer ? value_text(sig, raw_signed) : nullptr;
    if (!first) out += json ? "," : ", ";
    first = false;
    if (json) {
      out += fmt::format("\"{}\":{{", sim::json_escape(sig.name));
      if (integer) {
        out += sig.is_signed ? fmt::format("\"raw\":{},", raw_signed)
                             : fmt::format("\"raw\":{},", raw_unsigned);
      }
      out += std::isfinite(d.value) ? fmt::format("\"value\":{}", d.value) : "\"value\":null";
      if (text != nullptr) out += fmt::format(",\"text\":\"{}\"", sim::json_escape(text));
      out += "}";
    } else {
      out += fmt::format("{}={}", sig.name, d.value);
      if (!sig.unit.empty()) out += " " + sig.unit;
      if (text != nullptr) out += fmt::format(" '{}'", text);
    }
  }
  out += json ? "}}" : ")";
  return out;
}

int decode(const CodecArgs& a, const DbcArgs& source) {
  const auto db = load_database(a.dbc, source);
  if (!db) return kExitBadInput;
  Codecs c;
  if (!c.build(*db)) return kExitBadInput;
  std::vector<std::string> inputs = a.inputs;
  if (inputs.empty()) inputs.emplace_back("-");
  int bad = 0;
  std::string out;
  for (const auto& in : inputs) {
    std::ifstream file;
    std::istream* is = &std::cin;
    const std::string name = in == "-" ? "<stdin>" : in;
    if (in != "-") {
      file.open(in);
      if (!file) {
        std::fprintf(stderr, "%s: cannot open: %s\n", in.c_str(), std::strerror(errno));
        ++bad;
        continue;
      }
      is = &file;
    }
    std::string line;
    int line_no = 0;
    can::CandumpRecord r;
    can::CandumpError e;
    while (std::getline(*is, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (!can::parse_candump_line(line, r, e)) {
        std::fprintf(stderr, "%s:%d:%d: %s\n", name.c_str(), line_no, e.column, e.message.c_str());
        ++bad;
        continue;
      }
      out = decode_line(c, r, a.json);
      out += '\n';
      std::fputs(out.c_str(), stdout);
    }
  }
  std::fflush(stdout);
  return bad > 0 ? kExitBadInput : kExitOk;
}

// ---- encode ---------------------------------------------------------------------------------

std::optional<std::int64_t> parse_integer(const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 0);
  if (text.empty() || *end != '\0' || errno == ERANGE) return std::nullopt;
  return v;
}

std::optional<double> parse_number(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

const can::Message* find_message(const can::Database& db, const std::string& key) {
  if (const auto* m = db.find_message(key)) return m;
  const auto id = parse_integer(key);
  if (!id || *id < 0) return nullptr;
  const auto v = static_cast<std::uint32_t>(*id);
  if (const auto* m = db.find_message(v & can::kExtendedIdMask, (v & can::kDbcExtendedFlag) != 0))
    return m;
  return db.find_message(v, v > can::kStandardIdMask);
}

// The profile's E2E settings for the message sent with this id (a per-module copy has its
// module's id): counter/CRC signal indices in the DBC message's order, and the config.
struct E2ESpec {
  std::size_t counter = 0, crc = 0;
  can::E2EConfig config;
};
std::optional<E2ESpec> profile_e2e(const can::Profile& p, const can::Message& msg) {
  for (const auto& f : p.frames) {
    const can::TxMessage& tx = p.tx[f.message];
    if (tx.e2e && f.id == msg.id && tx.codec->extended() == msg.extended)
      return E2ESpec{tx.counter_signal, tx.crc_signal, tx.e2e_config};
  }
  for (const auto& rx : p.rx) {
    for (int k = 0; k < rx.instances && rx.e2e && rx.codec->extended() == msg.extended; ++k) {
      if (rx.id + static_cast<std::uint32_t>(k) * rx.id_step == msg.id)
        return E2ESpec{rx.counter_signal, rx.crc_signal, rx.e2e_config};
    }
  }
  return std::nullopt;
}

int encode(const CodecArgs& a, const DbcArgs& source) {
  std::shared_ptr<const can::Profile> profile;
  const auto db = load_database(a.dbc, source, &profile);
  if (!db) return kExitBadInput;
  const can::Message* msg = find_message(*db, a.message);
  if (msg == nullptr) {
    std::fprintf(stderr, "encode: no message '%s' in the DBC (give its name or id)\n",
                 a.message.c_str());
    return kExitBadInput;
  }
  std::optional<can::MessageCodec> codec;
  try {
    codec.emplace(*msg);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "message %s: %s\n", msg->name.c_str(), e.what());
    return kExitBadInput;
  }
  can::CanFrame f;
  codec->prepare_frame(f);
  std::vector<std::string> errors;
  std::vector<std::size_t> assigned;
  for (const auto& asg : a.assignments) {
    const auto eq = asg.find('=');
    if (eq == std::string::npos) {
      errors.push_back(fmt::format("'{}': expected SIGNAL=VALUE", asg));
      continue;
    }
    const std::string name = asg.substr(0, eq);
    const std::string text = asg.substr(eq + 1);
    const std::size_t k = codec->find(name);
    if (k == can::MessageCodec::npos) {
      errors.push_back(fmt::format("'{}': message {} has no signal '{}'", asg, msg->name, name));
      continue;
    }
    const can::Signal& sig = msg->signals[k];
    if (std::find(assigned.begin(), assigned.end(), k) != assigned.end()) {
      errors.push_back(fmt::format("'{}': signal {} is given twice", asg, name));
      continue;
    }
    assigned.push_back(k);
    const double lo = codec->raw_min(k);
    const double hi = codec->raw_max(k);
    std::optional<std::int64_t> raw;
    for (const auto& vd : sig.value_descriptions) {
      if (vd.text == text) raw = vd.value;
    }
    if (!raw && a.raw) {
      if (sig.value_type != can::ValueType::kInteger) {
        errors.push_back(
            fmt::format("'{}': {} is a float signal; give its value without --raw", asg, name));
        continue;
      }
      raw = parse_integer(text);
      if (!raw) {
        errors.push_back(fmt::format("'{}': expected an integer raw value", asg));
        continue;
      }
    }
    if (raw) {
      const auto r = static_cast<double>(*raw);
      if (r < lo || r > hi) {
        errors.push_back(fmt::format("'{}': raw value {} outside the signal's range [{}, {}]", asg,
                                     *raw, lo, hi));
        continue;
      }
      // Multiplexed signals also select their multiplexor value, as encode() does.
      codec->encode(k, static_cast<double>(*raw) * sig.factor + sig.offset, f);
      codec->set_raw(k, static_cast<std::uint64_t>(*raw), f.data.data());
      continue;
    }
    const auto v = parse_number(text);
    if (!v) {
      std::string names;
      for (const auto& vd : sig.value_descriptions) names += (names.empty() ? "" : ", ") + vd.text;
      errors.push_back(fmt::format("'{}': expected a number{}", asg,
                                   names.empty() ? "" : " or one of: " + names));
      continue;
    }
    // The DBC's [min|max] is binding, as in cantools' strict encoding; [0|0] (min = max) gives
    // no range. VAL_ names and --raw values are not checked against it (cantools neither checks
    // choices).
    const bool ranged = sig.minimum != sig.maximum;
    const bool outside_dbc = ranged && (*v < sig.minimum || *v > sig.maximum);
    const std::string dbc_range =
        fmt::format("the DBC range of signal {}, [{}|{}]{}", name, sig.minimum, sig.maximum,
                    sig.unit.empty() ? "" : " " + sig.unit);
    const can::EncodeStatus st = codec->encode(k, *v, f);
    if (st != can::EncodeStatus::kOk) {
      const double p0 = lo * sig.factor + sig.offset;
      const double p1 = hi * sig.factor + sig.offset;
      errors.push_back(fmt::format("'{}': {} outside what the signal can carry, [{}, {}]{}{}", asg,
                                   *v, std::min(p0, p1), std::max(p0, p1),
                                   sig.unit.empty() ? "" : " " + sig.unit,
                                   outside_dbc ? ", and outside " + dbc_range : ""));
    } else if (outside_dbc) {
      errors.push_back(fmt::format("'{}': {} outside {}", asg, *v, dbc_range));
    }
  }
  for (const std::size_t k : assigned) {
    if (!codec->is_active(k, f.data.data())) {
      errors.push_back(fmt::format("signal {} is not selected by the multiplexor value written",
                                   codec->signal_name(k)));
    }
  }
  if (a.counter >= 0) {
    // Counter and CRC as the profile's E2E protection computes them, so a hand-made frame (cansend)
    // passes the receiver's check.
    const auto spec = profile ? profile_e2e(*profile, *msg) : std::nullopt;
    if (!spec) {
      errors.push_back(profile ? "--counter: the profile does not protect this message with E2E"
                               : "--counter needs --profile (the E2E settings live there)");
    } else {
      can::E2EProtector protector(*codec, spec->counter, spec->crc, spec->config);
      protector.set_next_counter(static_cast<std::uint8_t>(a.counter));
      protector.protect(f.data.data());
    }
  }
  if (!errors.empty()) {
    for (const auto& e : errors)
      std::fprintf(stderr, "encode %s: %s\n", msg->name.c_str(), e.c_str());
    return kExitBadInput;
  }
  char line[can::kCandumpLineMax];
  can::format_frame(line, f);
  std::printf("%s\n", line);
  return kExitOk;
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

  auto codec_args = std::make_shared<CodecArgs>();
  auto source = std::make_shared<DbcArgs>();
  auto add_source = [&](CLI::App* sub) {
    sub->add_option("--dbc", codec_args->dbc, "DBC file")->check(CLI::ExistingFile);
    sub->add_option("--profile", source->profile,
                    "Use this protocol profile's DBC instead of --dbc (default packsim)");
    sub->add_option("--pack", source->pack,
                    "With --profile: one message per module of this pack, as the simulator sends");
  };
  CLI::App* dec = dbc->add_subcommand(
      "decode", "Decode candump logs (candump -l lines or cansend frames) with a DBC");
  add_source(dec);
  dec->add_option("logs", codec_args->inputs, "Log files (default: stdin; - = stdin)");
  dec->add_flag("--json", codec_args->json,
                "One JSON object per frame: raw and physical value of each present signal");
  dec->callback([codec_args, source, &ctx]() { ctx.exit_code = decode(*codec_args, *source); });
  CLI::App* enc = dbc->add_subcommand(
      "encode", "Encode one message into a cansend frame (ID#DATA); unset signals are raw 0");
  add_source(enc);
  enc->add_option("message", codec_args->message, "Message name or id")->required();
  enc->add_option("signals", codec_args->assignments,
                  "SIGNAL=VALUE: physical value, or a value name from VAL_");
  enc->add_flag("--raw", codec_args->raw, "Values are raw integers (0x.. allowed)");
  enc->add_option("--counter", codec_args->counter,
                  "With --profile: write this E2E alive counter and the matching CRC")
      ->check(CLI::Range(0, 15));
  enc->callback([codec_args, source, &ctx]() { ctx.exit_code = encode(*codec_args, *source); });
}

}  // namespace packsim::cli
