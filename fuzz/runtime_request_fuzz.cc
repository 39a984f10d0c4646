// Fuzzes what mlvault-workspace checks in a request before any handler runs, and the path
// splitter every file route uses: the Host check, the client-address allow-list, the listen
// address and the relative path of a file request. Input: fields separated by '\n':
//   host header \n listen address \n allow-list \n client address \n relative path
// (The JSON body reader of server.cc is nlohmann::json::parse plus the field helpers; it is not
// a separate decoder and is not fuzzed here.)
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_fields.h"
#include "runtime/net.h"
#include "runtime/volume.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault::runtime;
  auto f = mlvault::fuzz::Fields(data, size, 5);
  auto listen = ParseListenAddress(f[1]);
  (void)HostIsForWorkspace(f[0], "ws-1.example.test", listen ? listen->host : "127.0.0.1");
  if (auto allow = CidrSet::Parse(f[2])) (void)allow->Contains(f[3]);
  IpBytes ip{};
  (void)ParseIp(f[3], &ip);
  (void)IsDnsLabel(f[0]);
  if (auto parts = SplitRelativePath(f[4])) {
    auto again = SplitRelativePath(JoinPath(*parts));
    if (!again || *again != *parts) __builtin_trap();
  }
  return 0;
}
