-- wrk script for bench/concurrent-queries.py: POST /search with short queries, 48 different ones in
-- turn. CLIP_BENCH_QUERIES=templated (the default): 7 to 11 tokens from 4 templates ("a photo of a
-- dog"), whose batches share long prefixes; =varied: 48 queries written as people type them (3 to
-- 11 tokens), most starting differently, so that a batch shares little beyond <|startoftext|>.
-- done() prints one JSON line (wrk counts answers of 400 and above as errors.status).
local subjects = {"dog", "cat", "red car", "mountain lake", "old bridge", "city at night", "bowl of fruit",
                  "child on a bike", "snowy forest", "sailing boat", "birthday cake", "desert road"}
local styles = {"a photo of a", "a blurry picture of a", "a close up of the", "a drawing of a"}
local varied = {
  "sunset over the ocean", "dog running on the beach", "birthday cake with candles", "snow covered mountains",
  "kids playing football", "old wooden boat", "city skyline at night", "cat asleep on a sofa",
  "red tulips in spring", "grandma in the kitchen", "wedding first dance", "empty train station",
  "hiking trail through pine forest", "fireworks over the river", "bowl of ramen", "my blue bicycle",
  "rainy street with umbrellas", "lighthouse on rocky coast", "coffee and croissant", "horse in a field",
  "christmas tree with lights", "surfer riding a wave", "graduation caps in the air", "autumn leaves on grass",
  "baby laughing", "desert road trip", "market stall with fruit", "northern lights",
  "selfie at the eiffel tower", "puppy with a ball", "foggy morning lake", "street musician playing guitar",
  "tent under the stars", "family picnic in the park", "black and white portrait", "waterfall in the jungle",
  "pizza fresh from the oven", "skiing down a slope", "butterfly on a flower", "crowded concert",
  "ferris wheel at dusk", "garden with roses", "two friends laughing at dinner", "airplane window view",
  "camping by the fire", "sheep on a green hill", "neon signs in tokyo", "toddler on a swing",
}
local queries = {}
if os.getenv("CLIP_BENCH_QUERIES") == "varied" then
  queries = varied
else
  for n = 0, 47 do
    queries[n + 1] = styles[n % #styles + 1] .. " " .. subjects[math.floor(n / #styles) % #subjects + 1]
  end
end
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
  return wrk.format("POST", "/search", {["Content-Type"] = "application/json"}, '{"k":10,"text":"' .. queries[n % #queries + 1] .. '"}')
end

function done(summary, latency, requests)
  io.write(string.format('{"requests":%d,"errors":%d,"non_2xx":%d,"seconds":%.3f,"p50_ms":%.1f,"p99_ms":%.1f,"mean_ms":%.1f}\n',
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000))
end
