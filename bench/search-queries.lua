-- wrk script for bench/concurrent-queries.py: POST /search with short queries (7 to 11 tokens with
-- <|startoftext|> and <|endoftext|>), 48 different ones in turn. done() prints one JSON line (wrk counts
-- answers of 400 and above as errors.status).
local subjects = {"dog", "cat", "red car", "mountain lake", "old bridge", "city at night", "bowl of fruit",
                  "child on a bike", "snowy forest", "sailing boat", "birthday cake", "desert road"}
local styles = {"a photo of a", "a blurry picture of a", "a close up of the", "a drawing of a"}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  n = id * 1000003
end

function request()
  n = n + 1
  local text = styles[n % #styles + 1] .. " " .. subjects[math.floor(n / #styles) % #subjects + 1]
  return wrk.format("POST", "/search", {["Content-Type"] = "application/json"}, '{"k":10,"text":"' .. text .. '"}')
end

function done(summary, latency, requests)
  io.write(string.format('{"requests":%d,"errors":%d,"non_2xx":%d,"seconds":%.3f,"p50_ms":%.1f,"p99_ms":%.1f,"mean_ms":%.1f}\n',
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000))
end
