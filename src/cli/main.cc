// mlvault: one binary, every verb. The command line is cli::Application; the work is behind
// api::Client.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "cli/app.h"

namespace {

// The columns of stdout if it is a terminal ($COLUMNS when the size cannot be asked), else 0.
size_t StdoutColumns() {
  if (::isatty(STDOUT_FILENO) != 1) return 0;
  struct winsize ws = {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  const char* c = std::getenv("COLUMNS");
  long n = c ? std::strtol(c, nullptr, 10) : 0;
  return n > 0 ? static_cast<size_t>(n) : 80;
}

}  // namespace

int main(int argc, char** argv) {
  mlvault::cli::Application app(std::cout, std::cerr);
  app.SetTerminal(StdoutColumns(), ::isatty(STDERR_FILENO) == 1);
  return app.Run(argc, argv);
}
