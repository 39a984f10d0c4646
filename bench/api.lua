-- wrk script for bench/api.sh: sends pre-signed listWorkspaceBackups requests, each once.
-- Each wrk thread reads its own file (REQS_PREFIX.<thread index>); when a thread runs out it
-- stops (wrk counts what was sent), so no request is ever replayed.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  reqs = {}
  local prefix = os.getenv("REQS_PREFIX")
  for line in io.lines(prefix .. "." .. id) do
    local date, nonce, auth, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.*)$")
    reqs[#reqs + 1] = wrk.format("POST", "/api/v1/ml/listWorkspaceBackups", {
      ["Content-Type"] = "application/json",
      ["X-Mlvault-Date"] = date,
      ["X-Mlvault-Nonce"] = nonce,
      ["Authorization"] = auth,
    }, body)
  end
  next_req = 1
end

function request()
  local r = reqs[next_req]
  if r == nil then
    wrk.thread:stop()
    return reqs[#reqs]
  end
  next_req = next_req + 1
  return r
end

function done(summary, latency, requests)
  io.write(string.format("non2xx_or_errors=%d\n", summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
