-- wrk script for make bench: drives the device flow endpoints of devauth, and the same paths on
-- nginx and node oidc-provider. Arguments after `--` are key=value pairs:
--   mode=poll|begin|approve  which endpoint (RFC 8628 §3.4 token polling, §3.1 begin, approval API)
--   codes=FILE               "DEVICE_CODE USER_CODE" lines; each thread takes every n-th line
--   threads=N                the wrk thread count, to split the codes between threads
--   limit=N                  stop each thread after N responses (0: run for the whole duration)
--   record=PREFIX            begin: append the returned codes to PREFIX.<thread>
--   auth=BASIC               approve: the Authorization header value of the approving backend
--   client=ID                the public client id (default bench-tv)
--   marker=PREFIX            with limit: files PREFIX.<thread> mark the threads that finished
-- Each thread stops after `limit` responses; the requests it still has to send until wrk stops
-- it are GET /healthz and are not counted. With a limit, the rate is measured from the
-- thread's own start and stop times, and the last thread to finish ends the run with SIGINT
-- (wrk then prints its summary), since wrk itself always waits for the whole duration.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec* tp);
int getpid(void);
int kill(int pid, int sig);
]])
local kClockMonotonic = 1
local kSigint = 2

local function now()
  local t = ffi.new("bench_timespec")
  ffi.C.clock_gettime(kClockMonotonic, t)
  return tonumber(t.tv_sec) + tonumber(t.tv_nsec) * 1e-9
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local options = {}
local codes = {}
local position = 0
local sent = 0
local filler

function init(args)
  for _, arg in ipairs(args) do
    local key, value = arg:match("^([%w_]+)=(.*)$")
    if key then
      options[key] = value
    end
  end
  options.mode = options.mode or "poll"
  options.client = options.client or "bench-tv"
  local nthreads = tonumber(options.threads or "1")
  limit = tonumber(options.limit or "0")
  -- wrk calls request() of the first thread once to check the script, and sends nothing.
  send_limit = (id == 0) and limit + 1 or limit
  if options.codes then
    local line_number = 0
    for line in io.lines(options.codes) do
      if line_number % nthreads == id then
        local device, user = line:match("^(%S+)%s+(%S+)")
        table.insert(codes, { device = device, user = user })
      end
      line_number = line_number + 1
    end
  end
  if options.mode ~= "begin" and #codes == 0 then
    error("mode " .. options.mode .. " needs codes=FILE with codes for thread " .. id)
  end
  if options.record then
    record_file = io.open(options.record .. "." .. id, "w")
    record_file:setvbuf("line")
  end
  pending, slow_down, ok, other, counted = 0, 0, 0, 0, 0
  other_sample = ""
  started_at, stopped_at = 0, 0
  filler = wrk.format("GET", "/healthz")
  nthreads_total = nthreads
end

-- Marks this thread finished; when every thread is, interrupts wrk so that it stops waiting.
local function finish()
  if not options.marker then
    return
  end
  io.open(options.marker .. "." .. id, "w"):close()
  for other_id = 0, nthreads_total - 1 do
    local marker = io.open(options.marker .. "." .. other_id, "r")
    if not marker then
      return
    end
    marker:close()
  end
  ffi.C.kill(ffi.C.getpid(), kSigint)
end

local form_headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local function nextCode()
  position = position % #codes + 1
  return codes[position]
end

function request()
  if started_at == 0 then
    started_at = now()
  end
  if limit > 0 and sent >= send_limit then
    return filler
  end
  sent = sent + 1
  if options.mode == "poll" then
    local code = nextCode()
    return wrk.format("POST", "/oauth/device/token", form_headers,
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=" ..
      code.device .. "&client_id=" .. options.client)
  elseif options.mode == "begin" then
    return wrk.format("POST", "/oauth/device/begin", form_headers, "client_id=" .. options.client)
  elseif options.mode == "approve" then
    -- Every user code is approved once; a thread counts as many responses as it has codes. The
    -- code of the check call of the first thread comes last.
    local code = codes[(sent - 1) % #codes + 1]
    local headers = { ["Content-Type"] = "application/x-www-form-urlencoded",
                      ["Authorization"] = options.auth }
    return wrk.format("POST", "/oauth/device/approve", headers,
      "user_code=" .. code.user .. "&subject=customer-" .. id .. "-" .. sent)
  end
  error("unknown mode " .. options.mode)
end

function response(status, headers, body)
  if stopped_at > 0 then
    return
  end
  -- The filler requests: devauth and nginx return "ok" for /healthz, oidc-provider 404.
  if status == 404 or body == "ok" or body == "ok\n" then
    return
  end
  counted = counted + 1
  if options.mode == "poll" and body:find('"authorization_pending"', 1, true) then
    pending = pending + 1
  elseif options.mode == "poll" and body:find('"slow_down"', 1, true) then
    slow_down = slow_down + 1
  elseif options.mode ~= "poll" and status == 200 then
    ok = ok + 1
    if record_file then
      local device = body:match('"device_code"%s*:%s*"([^"]+)"')
      local user = body:match('"user_code"%s*:%s*"([^"]+)"')
      if device and user then
        record_file:write(device, " ", user:gsub("-", ""), "\n")
      end
    end
  else
    other = other + 1
    if other_sample == "" then
      other_sample = status .. " " .. body:sub(1, 120):gsub("%s", "_")
    end
  end
  if limit > 0 and counted >= limit then
    stopped_at = now()
    if record_file then
      record_file:close()
    end
    wrk.thread:stop()
    finish()
  end
end

function done(summary, latency, requests)
  local totals = { pending = 0, slow_down = 0, ok = 0, other = 0, counted = 0 }
  local active = 0
  local all_stopped = true
  local sample = ""
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + (thread:get(key) or 0)
    end
    local stopped = thread:get("stopped_at") or 0
    local started = thread:get("started_at") or 0
    if stopped == 0 then
      all_stopped = false
    elseif stopped - started > active then
      active = stopped - started
    end
    local thread_sample = thread:get("other_sample") or ""
    if sample == "" then
      sample = thread_sample
    end
  end
  local seconds = summary.duration / 1e6
  local rate = totals.counted / seconds
  if all_stopped and active > 0 then
    -- Limited run: every thread stopped after its share; measure up to the last stop.
    seconds = active
    rate = totals.counted / active
  end
  local errors = summary.errors
  io.write(string.format(
    "BENCH counted=%d seconds=%.3f rate=%.1f p50_us=%d p99_us=%d pending=%d slow_down=%d ok=%d " ..
    "other=%d socket_errors=%d limited=%s other_sample=%s\n",
    totals.counted, seconds, rate, latency:percentile(50), latency:percentile(99), totals.pending,
    totals.slow_down, totals.ok, totals.other,
    errors.connect + errors.read + errors.write + errors.timeout,
    (all_stopped and active > 0) and "yes" or "no",
    sample == "" and "-" or sample))
end
