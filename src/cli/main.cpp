#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"packsim - hardware-in-the-loop battery-pack simulator"};
  app.set_version_flag("--version", std::string("packsim ") + PACKSIM_VERSION);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
