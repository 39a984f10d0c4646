// mlvault: one binary, every verb. The command line is cli::Application; the work is behind
// api::Client.
#include <iostream>

#include "cli/app.h"

int main(int argc, char** argv) {
  mlvault::cli::Application app(std::cout, std::cerr);
  return app.Run(argc, argv);
}
